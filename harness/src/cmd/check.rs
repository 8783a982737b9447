//! `hookstorm check`: the conformance suite against a receiver.
//!
//! Builds a `check::Context` from the flags (provider profile, secret from
//! the environment, target, ledger), makes sure the target answers at all,
//! runs the selected checks, prints the table and every failure with its
//! `curl` reproduction, and writes the report directory.

use std::path::PathBuf;
use std::time::Duration;

use generators::{Catalog, ProviderId, Secret, Signer};
use reports::{CheckOutcome, Report, RunInfo};

use crate::check::{self, Context, LedgerSource};
use crate::client::{Client, ClientOptions, Target};
use crate::cmd::load::TlsArgs;
use crate::duration::parse_duration;
use crate::ledger::OrderingPolicy;
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm check`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Print every check with its id, what it enforces and the provider rule, then exit.
    #[arg(long)]
    pub list: bool,
    /// Provider whose events, signatures and delivery semantics to use.
    #[arg(long, short = 'p', required_unless_present_any = ["list", "provider_file"], conflicts_with = "provider_file")]
    pub provider: Option<String>,
    /// A provider that is not built in, declared in a YAML or TOML file.
    #[arg(long, value_name = "FILE")]
    pub provider_file: Option<PathBuf>,
    /// The receiver's URL, e.g. http://127.0.0.1:8080/hooks.
    #[arg(long, short = 't', required_unless_present = "list")]
    pub target: Option<String>,
    /// Environment variable holding the shared secret (bearer token for auth0).
    #[arg(long, default_value = "HOOK_SECRET", value_name = "VAR")]
    pub secret_env: String,
    /// Run only these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub checks: Vec<String>,
    /// Skip these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub exclude: Vec<String>,
    /// Only these event types (repeatable; default: every type of the provider).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// URL answering GET with the receiver's processing ledger (JSON array of {"id","seq"}).
    #[arg(long, value_name = "URL", conflicts_with = "ledger_cmd")]
    pub ledger_url: Option<String>,
    /// Shell command printing the receiver's processing ledger on stdout.
    #[arg(long, value_name = "CMD")]
    pub ledger_cmd: Option<String>,
    /// The ordering policy the receiver promises.
    #[arg(long, value_enum, default_value = "last-write-wins")]
    pub ordering: OrderingPolicy,
    /// Override the provider's response deadline (e.g. 2s, 500ms).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub deadline: Option<Duration>,
    /// Concurrent deliveries in the deadline and duplicate probes.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Events in the no_loss burst.
    #[arg(long, default_value_t = 200)]
    pub burst: usize,
    /// Wait this long for the receiver to settle before reading the ledger.
    #[arg(long, value_parser = parse_duration, default_value = "400ms", value_name = "DURATION")]
    pub settle: Duration,
    /// Seed of the event generator (printed; reuse it to reproduce a run).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write report.json, junit.xml, summary.md and index.html here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How to trust an https target (and an https ledger URL).
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Print only the final table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl Args {
    /// Arguments for checking `target` as `provider`, every other setting at
    /// its command-line default (for the demo, scenarios and tests).
    pub fn new(provider: &str, target: &str) -> Args {
        Args {
            list: false,
            provider: Some(provider.to_string()),
            provider_file: None,
            target: Some(target.to_string()),
            secret_env: "HOOK_SECRET".into(),
            checks: Vec::new(),
            exclude: Vec::new(),
            types: Vec::new(),
            ledger_url: None,
            ledger_cmd: None,
            ordering: OrderingPolicy::LastWriteWins,
            deadline: None,
            concurrency: 8,
            burst: 200,
            settle: Duration::from_millis(400),
            seed: None,
            out: None,
            tls: TlsArgs::default(),
            quiet: true,
        }
    }
}

/// Runs `hookstorm check`.
pub fn run(args: Args) -> anyhow::Result<Verdict> {
    if args.list {
        print!("{}", catalog_table());
        return Ok(Verdict::Pass);
    }
    let secret = secret_from_env(&args.secret_env)?;
    let runtime = runtime()?;
    let report = runtime.block_on(execute(&args, secret))?;
    print!("{}", render_outcome(&report, args.quiet));
    if let Some(dir) = &args.out {
        let written = reports::render::write_dir(&report, dir)
            .map_err(|e| usage(format!("cannot write the report to {}: {e}", dir.display())))?;
        if !args.quiet {
            println!("report: {} ({} files)", dir.display(), written.len());
        }
    }
    Ok(Verdict::from_ok(report.passed()))
}

/// The multi-threaded runtime commands run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the async runtime: {e}")))
}

/// Reads the shared secret from `var`; a missing variable is a usage error.
pub fn secret_from_env(var: &str) -> anyhow::Result<Secret> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => Err(usage(format!(
            "environment variable {var} is not set: export the secret your receiver verifies with \
             (e.g. `export {var}=...`), or name another variable with --secret-env"
        ))),
    }
}

/// Runs the suite described by `args` and returns the report (no printing).
pub async fn execute(args: &Args, secret: Secret) -> anyhow::Result<Report> {
    execute_with(
        args,
        || resolve_provider(args.provider.as_deref(), args.provider_file.as_deref()),
        secret,
    )
    .await
}

/// [`execute`] for a provider resolved by `resolve` (a scenario resolves
/// its provider once, not per check step); `args`' provider flags are
/// not read.
pub async fn execute_with(
    args: &Args,
    resolve: impl FnOnce() -> anyhow::Result<ResolvedProvider>,
    secret: Secret,
) -> anyhow::Result<Report> {
    let target_url = args.target.as_deref().unwrap_or_default();
    let target = Target::parse(target_url)?;
    let selected = check::select(&args.checks, &args.exclude)?;
    let resolved = resolve()?;
    let (name, builtin, profile, catalog) = (
        resolved.name.clone(),
        resolved.builtin,
        resolved.profile.clone(),
        resolved.catalog,
    );
    let mut types: Vec<_> = catalog
        .of_provider_name(&resolved.catalog_name)
        .into_iter()
        .cloned()
        .collect();
    if !args.types.is_empty() {
        let mut chosen = Vec::new();
        for type_name in &args.types {
            let ty = catalog
                .get(&resolved.catalog_name, type_name)
                .map_err(|e| usage(e.to_string()))?;
            chosen.push(ty.clone());
        }
        types = chosen;
    }
    let signer = Signer::new(&profile.scheme, &secret).map_err(|e| usage(format!("{e}")))?;
    let client = Client::new(ClientOptions {
        ca_cert: args.tls.ca_cert.clone(),
        insecure: args.tls.insecure,
        ..ClientOptions::default()
    })?;
    ensure_reachable(&client, &target).await?;
    let seed = args.seed.unwrap_or_else(random_seed);
    if !args.quiet {
        eprintln!(
            "hookstorm check: provider {name}, target {target}, {} event types, {} checks, seed {seed}",
            types.len(),
            selected.len()
        );
    }
    let mut ctx = Context::new(
        &name,
        builtin,
        profile,
        types,
        catalog,
        secret,
        signer,
        target.clone(),
        client,
        seed,
    );
    ctx.ledger = match (&args.ledger_url, &args.ledger_cmd) {
        (Some(url), _) => Some(LedgerSource::Url(url.clone())),
        (None, Some(cmd)) => Some(LedgerSource::Cmd(cmd.clone())),
        (None, None) => None,
    };
    ctx.ordering = args.ordering;
    ctx.deadline = args.deadline;
    ctx.concurrency = args.concurrency.max(1);
    ctx.burst = args.burst;
    ctx.settle = args.settle;
    let results = check::run(&ctx, &selected).await;
    let mut report = Report::new(RunInfo {
        command: "check".into(),
        provider: name.clone(),
        target: target.url(),
        seed,
        shard: None,
        scenario: None,
    });
    report.checks = results;
    Ok(report)
}

/// A provider resolved from `--provider` or `--provider-file`.
#[derive(Clone)]
pub struct ResolvedProvider {
    /// The name shown in output and reports.
    pub name: String,
    /// The built-in provider, if it is one.
    pub builtin: Option<ProviderId>,
    /// How it delivers.
    pub profile: generators::Profile,
    /// Where its event types are.
    pub catalog: &'static Catalog,
    /// The provider name its types are filed under in `catalog`.
    pub catalog_name: String,
}

impl ResolvedProvider {
    /// The record the commands use for `provider`.
    pub fn from_provider(provider: &generators::Provider) -> ResolvedProvider {
        // A command runs for one provider for its whole life: leaking a
        // handle of its shared catalog (not the catalog) gives it the
        // built-in catalog's lifetime.
        let catalog: &'static std::sync::Arc<Catalog> =
            Box::leak(Box::new(provider.shared_catalog().clone()));
        ResolvedProvider {
            name: provider.name().to_string(),
            builtin: provider.builtin_id(),
            profile: provider.profile().clone(),
            catalog,
            catalog_name: provider.catalog_name().to_string(),
        }
    }
}

/// `--provider NAME` or `--provider-file FILE`, exactly one: the flags of
/// every command that works for one provider (`check` and `receiver`
/// declare theirs apart, for `--list` and a typed provider).
#[derive(Debug, Clone, clap::Args)]
pub struct ProviderArgs {
    /// Provider whose events, signatures and rules to use (authgear,
    /// fusionauth, infrahub, auth0, standard-webhooks).
    #[arg(
        long = "provider",
        short = 'p',
        value_name = "PROVIDER",
        required_unless_present = "provider_file",
        conflicts_with = "provider_file"
    )]
    pub name: Option<String>,
    /// A provider that is not built in, declared in a YAML or TOML file.
    #[arg(long = "provider-file", id = "provider_file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl ProviderArgs {
    /// The built-in provider `name`.
    pub fn builtin(name: &str) -> ProviderArgs {
        ProviderArgs {
            name: Some(name.to_string()),
            file: None,
        }
    }

    /// Resolves the provider the flags name (see [`resolve_provider`]).
    pub fn resolve(&self) -> anyhow::Result<ResolvedProvider> {
        resolve_provider(self.name.as_deref(), self.file.as_deref())
    }
}

/// Resolves `--provider NAME` or `--provider-file FILE` (exactly one).
pub fn resolve_provider(
    name: Option<&str>,
    file: Option<&std::path::Path>,
) -> anyhow::Result<ResolvedProvider> {
    match (name, file) {
        (_, Some(path)) => {
            let provider = crate::provider_file::read(path).map_err(|d| usage(d.to_string()))?;
            Ok(ResolvedProvider::from_provider(&provider))
        }
        (Some(name), None) => {
            let id = ProviderId::parse(name).map_err(|e| usage(e.to_string()))?;
            Ok(ResolvedProvider {
                name: id.name().to_string(),
                builtin: Some(id),
                profile: id.profile(),
                catalog: Catalog::builtin(),
                catalog_name: id.catalog_provider().name().to_string(),
            })
        }
        (None, None) => Err(usage(
            "choose a provider: --provider NAME or --provider-file FILE",
        )),
    }
}

/// Fails fast, with exit code 2, when nothing listens at the target.
async fn ensure_reachable(client: &Client, target: &Target) -> anyhow::Result<()> {
    match client.connect(target).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind == reports::ErrorKind::Connect || e.kind == reports::ErrorKind::Tls => {
            Err(usage(format!(
                "target {target} is unreachable ({e}); is the receiver running?"
            )))
        }
        Err(_) => Ok(()),
    }
}

/// A seed from the clock, for runs without `--seed`.
pub fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (std::process::id() as u64).rotate_left(32)
}

/// The `--list` table: id, what it enforces, the provider rule.
pub fn catalog_table() -> String {
    let width = check::CATALOG.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in check::CATALOG {
        out.push_str(&format!(
            "{:width$}  {}\n{:width$}  rule: {}\n",
            c.id, c.description, "", c.rule
        ));
    }
    out
}

/// The terminal rendering of a check report: failures first, each with its
/// reproduction, then the aligned table and the verdict line.
pub fn render_outcome(report: &Report, quiet: bool) -> String {
    let mut out = String::new();
    if !quiet {
        for result in report
            .checks
            .iter()
            .filter(|r| r.outcome == CheckOutcome::Fail)
        {
            for failure in &result.failures {
                out.push_str(&format!(
                    "\nFAIL {} [{}] variant `{}`\n  {}\n",
                    result.id, result.event_type, failure.variant, failure.message
                ));
                match (failure.response_status, &failure.error) {
                    (Some(status), _) => out.push_str(&format!(
                        "  response: {status} {}\n",
                        failure.response_excerpt.replace('\n', " ")
                    )),
                    (None, Some(err)) => out.push_str(&format!("  response: none ({err})\n")),
                    (None, None) => {}
                }
                out.push_str(&format!("  reproduce: {}\n", failure.curl));
            }
        }
        out.push('\n');
    }
    out.push_str(&reports::render::terminal::checks_table(report));
    let (pass, fail, skip) = report.check_counts();
    out.push_str(&format!(
        "\n{} — {pass} passed, {fail} failed, {skip} skipped (seed {})\n",
        if fail == 0 { "PASSED" } else { "FAILED" },
        report.run.seed
    ));
    out
}
