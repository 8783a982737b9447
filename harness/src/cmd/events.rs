//! `hookstorm events`: list the catalog, print a type's JSON Schema,
//! generate events (valid or adversarial, optionally signed) as JSONL,
//! print a built-in sender's provider file, and print the public key a
//! receiver of an asymmetric scheme verifies with.

use std::io::{self, BufWriter, Write};

use std::path::PathBuf;

use generators::{EventType, Generator, Signer};

use crate::clock::{now_unix_ms, random_seed};
use crate::cmd::flags::ProviderArgs;
use crate::secret::DEFAULT_SECRET_ENV;

use crate::verdict::{usage, Verdict};

/// `hookstorm events` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// List every event type: provider, type, blocking flag, description.
    List(ListArgs),
    /// Print the JSON Schema (draft 2020-12) of one event type.
    Schema(SchemaArgs),
    /// Generate events as JSONL on stdout (same --seed and --now: byte-identical output).
    Gen(GenArgs),
    /// Print a built-in sender's provider file, to copy and edit
    /// (`hookstorm events provider stripe > my-stripe.yaml`).
    Provider(ProviderFileArgs),
    /// Print the public key a receiver verifies with, for the private key
    /// in the secret (Ed25519/ECDSA schemes: Discord's hex, Standard
    /// Webhooks' `whpk_`).
    Key(KeyArgs),
}

/// Arguments of `events key`.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// The provider (`--provider` or `--provider-file`).
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Environment variable holding the private key hookstorm signs with.
    #[arg(long, default_value = DEFAULT_SECRET_ENV, value_name = "VAR")]
    pub secret_env: String,
}

/// Arguments of `events provider`.
#[derive(Debug, clap::Args)]
pub struct ProviderFileArgs {
    /// The built-in sender, e.g. stripe.
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Output format of `events list`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON array for programs.
    Json,
}

/// Arguments of `events list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(help = crate::provider::flag_help("Only this built-in provider's types"), long, short = 'p', conflicts_with = "provider_file")]
    pub provider: Option<String>,
    /// List the types of a provider declared in a YAML or TOML file.
    #[arg(long, value_name = "FILE")]
    pub provider_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Arguments of `events schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// The provider (`--provider` or `--provider-file`).
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// The event type, e.g. user.created.
    #[arg(value_name = "TYPE")]
    pub event_type: String,
}

/// Arguments of `events gen`.
#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// The provider (`--provider` or `--provider-file`).
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Event types to generate (repeatable), taken round-robin.
    #[arg(
        long = "type",
        value_name = "TYPE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub types: Vec<String>,
    /// Every type of the provider, round-robin.
    #[arg(long)]
    pub all: bool,
    /// How many events in total.
    #[arg(long, short = 'n', default_value_t = 1)]
    pub count: usize,
    /// Seed of the generator (printed on stderr when not given).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The clock the events are generated near, as UNIX milliseconds
    /// (default: now; printed on stderr so a run can be reproduced).
    #[arg(long, value_name = "UNIX_MS")]
    pub now: Option<i64>,
    /// An adversarial variant (body variants, or signature cases with --signed).
    #[arg(long, value_name = "LABEL")]
    pub variant: Option<String>,
    /// Write `{"headers":{...},"body":"..."}` records signed the provider's way.
    #[arg(long)]
    pub signed: bool,
    /// Environment variable holding the secret used by --signed.
    #[arg(long, default_value = DEFAULT_SECRET_ENV, value_name = "VAR")]
    pub secret_env: String,
}

/// Runs an `events` subcommand.
pub fn run(cmd: EventsCommand) -> anyhow::Result<Verdict> {
    match cmd {
        EventsCommand::List(args) => list(args),
        EventsCommand::Schema(args) => schema(args),
        EventsCommand::Gen(args) => gen(args),
        EventsCommand::Provider(args) => provider_file(args),
        EventsCommand::Key(args) => key(args),
    }
}

fn key(args: KeyArgs) -> anyhow::Result<Verdict> {
    let p = args.provider.resolve()?;
    let secret = crate::secret::from_env(&args.secret_env)?;
    match generators::public_key(&p.profile().scheme, &secret) {
        Ok(Some(public)) => {
            write_stdout(format!("{public}\n").as_bytes())?;
            Ok(Verdict::Pass)
        }
        Ok(None) => Err(usage(format!(
            "{} signs with a shared secret ({}): the receiver verifies with that same secret, \
             there is no public key",
            p.name(),
            p.profile().scheme.noun()
        ))),
        Err(e) => Err(usage(format!("${}: {e}", args.secret_env))),
    }
}

fn provider_file(args: ProviderFileArgs) -> anyhow::Result<Verdict> {
    let provider = crate::provider::named(&args.name)?;
    let Some(text) = crate::provider::sender_file(provider.name()) else {
        let files: Vec<&str> = crate::provider::SENDER_FILES
            .iter()
            .map(|(n, _)| *n)
            .collect();
        return Err(usage(format!(
            "`{}` is built into the code, not shipped as a provider file; \
             `hookstorm events schema --provider {} TYPE` prints its schemas \
             (providers shipped as files: {})",
            provider.name(),
            provider.name(),
            files.join(", ")
        )));
    };
    write_stdout(text.as_bytes())?;
    Ok(Verdict::Pass)
}

fn list(args: ListArgs) -> anyhow::Result<Verdict> {
    if args.provider.is_none() && args.provider_file.is_none() {
        let providers = crate::provider::all();
        let types: Vec<&EventType> = providers.iter().flat_map(|p| p.types()).collect();
        return list_types(&types, args.format);
    }
    let p = crate::provider::resolve(args.provider.as_deref(), args.provider_file.as_deref())?;
    list_types(&p.types(), args.format)
}

/// Prints `types` as a table or a JSON array.
fn list_types(types: &[&EventType], format: Format) -> anyhow::Result<Verdict> {
    let out = match format {
        Format::Json => {
            let rows: Vec<_> = types
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "provider": t.provider,
                        "type": t.name,
                        "blocking": t.blocking,
                        "description": t.description,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&rows)? + "\n"
        }
        Format::Table => {
            let pw = types
                .iter()
                .map(|t| t.provider.len())
                .max()
                .unwrap_or(8)
                .max(8);
            let tw = types.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
            let mut s = format!(
                "{:pw$}  {:tw$}  {:8}  {}\n",
                "PROVIDER", "TYPE", "BLOCKING", "DESCRIPTION"
            );
            for t in types {
                s.push_str(&format!(
                    "{:pw$}  {:tw$}  {:8}  {}\n",
                    t.provider,
                    t.name,
                    if t.blocking { "yes" } else { "no" },
                    t.description
                ));
            }
            s.push_str(&format!("{} event types\n", types.len()));
            s
        }
    };
    write_stdout(out.as_bytes())?;
    Ok(Verdict::Pass)
}

fn schema(args: SchemaArgs) -> anyhow::Result<Verdict> {
    let p = args.provider.resolve()?;
    let ty = p
        .event_type(&args.event_type)
        .map_err(|e| usage(e.to_string()))?;
    let text = serde_json::to_string_pretty(&ty.schema)? + "\n";
    write_stdout(text.as_bytes())?;
    Ok(Verdict::Pass)
}

/// What `--variant` names: a body variant or a signature case.
enum Chosen {
    Valid,
    Body(&'static generators::Variant),
    Signature(generators::SignatureCase),
}

fn gen(args: GenArgs) -> anyhow::Result<Verdict> {
    let p = args.provider.resolve()?;
    let types: Vec<&EventType> = if args.all {
        p.types()
    } else {
        args.types
            .iter()
            .map(|name| p.event_type(name))
            .collect::<Result<_, _>>()
            .map_err(|e| usage(e.to_string()))?
    };
    let profile = p.profile().clone();
    let chosen = match &args.variant {
        None => Chosen::Valid,
        Some(label) => {
            let cases = generators::signature_cases(&profile.scheme);
            if let Ok(v) = generators::find_variant(label) {
                Chosen::Body(v)
            } else if let Some(case) = cases.iter().find(|c| c.label == label) {
                if !args.signed {
                    return Err(usage(format!(
                        "`{label}` is a signature case: add --signed (and --secret-env) to generate it"
                    )));
                }
                Chosen::Signature(case.clone())
            } else {
                let names: Vec<&str> = generators::variants()
                    .iter()
                    .map(|v| v.label)
                    .chain(cases.iter().map(|c| c.label))
                    .collect();
                let hint = generators::did_you_mean(label, names.iter().copied())
                    .map(|s| format!(", did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(usage(format!(
                    "unknown variant `{label}`{hint} (variants: {})",
                    names.join(", ")
                )));
            }
        }
    };
    let signer = if args.signed {
        let secret = crate::secret::from_env(&args.secret_env)?;
        let signer = Signer::new(&profile.scheme, &secret).map_err(|e| usage(e.to_string()))?;
        if profile
            .scheme
            .declared()
            .is_some_and(|s| s.default_version().algorithm == generators::Algorithm::Token)
        {
            // A token is sent as it is: every record carries the secret.
            eprintln!(
                "warning: {} signs with a bearer token, so every record's Authorization header holds \
                 the secret from ${}: keep this output out of version control and logs",
                p.name(),
                args.secret_env
            );
        }
        Some((secret, signer))
    } else {
        None
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    let now_ms = args.now.unwrap_or_else(now_unix_ms);
    eprintln!("hookstorm events gen: seed {seed}, now {now_ms} (pass --seed {seed} --now {now_ms} to reproduce)");
    let mut generator = Generator::new(seed, now_ms);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for i in 0..args.count {
        let ty = types[i % types.len()];
        let (body, content_type) = match &chosen {
            Chosen::Body(v) => {
                let m = generator.mutate(ty, v);
                (m.body, m.content_type)
            }
            _ => (
                serde_json::to_vec(&generator.valid(ty))?,
                "application/json".to_string(),
            ),
        };
        let line = match &signer {
            None => body,
            Some((secret, signer)) => {
                // A record is a request as the provider sends it: a batching
                // provider's carries its event as a batch of one.
                let body = match &profile.batch {
                    Some(batch) => batch.wrap_one(&body),
                    None => body,
                };
                // Message ids and signature timestamps come from the seeded
                // stream and the given clock, so the output stays reproducible.
                let msg_id = generators::message_id(generators::seeded_bits(seed, i as u64));
                let ts = now_ms / 1000;
                let mut delivery = match &chosen {
                    Chosen::Signature(case) => {
                        generators::apply_case(case, signer, secret, &body, &msg_id, ts)
                    }
                    _ => generators::envelope(&profile, signer, body, &msg_id, ts),
                };
                generators::name_type(&profile, &ty.name, &mut delivery.headers);
                for (k, v) in delivery.headers.iter_mut() {
                    if k.eq_ignore_ascii_case("content-type") {
                        *v = content_type.clone();
                    }
                }
                serde_json::to_vec(&delivery)?
            }
        };
        if let Err(e) = out.write_all(&line).and_then(|_| out.write_all(b"\n")) {
            return finish_write(e);
        }
    }
    if let Err(e) = out.flush() {
        return finish_write(e);
    }
    Ok(Verdict::Pass)
}

/// Writes to stdout; a closed pipe (`| head`) ends quietly.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) => finish_write(e).map(|_| ()),
    }
}

fn finish_write(e: io::Error) -> anyhow::Result<Verdict> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(Verdict::Pass)
    } else {
        Err(anyhow::Error::new(e).context("cannot write to stdout"))
    }
}
