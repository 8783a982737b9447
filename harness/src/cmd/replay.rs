//! `hookstorm replay REPORT_DIR FINDING`: flags → [`ReplayPlan`] →
//! `replay::run` → the answer. The provider and target come from the
//! report unless flags override them; the secret from the environment, as
//! `check` reads it. Exit 0 when the request got an answer (whatever it
//! was), 1 when it got none (refused, reset, timeout), 2 for usage
//! mistakes.

use std::path::PathBuf;
use std::time::Duration;

use crate::cmd::flags::{runtime, TlsArgs};
use crate::duration::parse_duration;
use crate::replay::{self, ReplayPlan, MAX_DEFAULT_TIMEOUT};
use crate::secret::{DEFAULT_SECRET_ENV, REDACTED};
use crate::target::{Target, TargetParser};
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The report directory a `check --out DIR` (or `run`, `demo`) wrote.
    #[arg(value_name = "REPORT_DIR")]
    pub dir: PathBuf,
    /// The finding to re-send, as the report names it (`F3`).
    #[arg(value_name = "FINDING")]
    pub finding: String,
    /// Send it here instead of the report's target (required when the
    /// report's target was redacted).
    #[arg(long, short = 't', value_parser = TargetParser)]
    pub target: Option<Target>,
    #[arg(help = crate::provider::flag_help("Sign as this built-in provider instead of the report's"), long, short = 'p', conflicts_with = "provider_file")]
    pub provider: Option<String>,
    /// The provider file the check ran with (reports of provider-file runs name a provider that is not built in).
    #[arg(long, value_name = "FILE")]
    pub provider_file: Option<PathBuf>,
    /// Environment variable holding the shared secret (bearer token for auth0).
    #[arg(long, default_value = DEFAULT_SECRET_ENV, value_name = "VAR")]
    pub secret_env: String,
    /// How long to wait for the answer [default: the provider's deadline, at most 10s].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// How to trust an https target.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// The plan the flags describe: the report and its finding first (nothing
/// else matters without them), then the secret, the provider and the
/// target, each mistake a usage error.
pub fn plan(args: &Args) -> anyhow::Result<ReplayPlan> {
    let recorded = replay::read(&args.dir, &args.finding)?;
    let secret = crate::secret::from_env(&args.secret_env)?;
    let provider = if args.provider.is_some() || args.provider_file.is_some() {
        crate::provider::resolve(args.provider.as_deref(), args.provider_file.as_deref())?
    } else {
        let name = &recorded.run.provider;
        match &recorded.run.provider_file {
            // The file may have changed since, or live elsewhere: the
            // user names the one to sign with.
            Some(file) => {
                return Err(usage(format!(
                    "the report's provider `{name}` was declared in the provider file {file}: \
                     pass --provider-file FILE, the file the check ran with"
                )))
            }
            None => crate::provider::lookup(name).ok_or_else(|| {
                usage(format!(
                    "the report's provider `{name}` is not built in: pass --provider-file FILE, \
                     the file the check ran with (or --provider NAME)"
                ))
            })?,
        }
    };
    let target = match &args.target {
        Some(target) => target.clone(),
        None => {
            let recorded_url = if recorded.finding.request.url.is_empty() {
                &recorded.run.target
            } else {
                &recorded.finding.request.url
            };
            if recorded_url.contains(REDACTED) {
                return Err(usage(format!(
                    "the report's target `{recorded_url}` was redacted: give the receiver's URL \
                     with --target URL"
                )));
            }
            Target::parse(recorded_url)?
        }
    };
    args.tls.check()?;
    let timeout = args.timeout.unwrap_or_else(|| {
        Duration::from_millis(provider.profile().deadline_ms).min(MAX_DEFAULT_TIMEOUT)
    });
    if timeout.is_zero() {
        return Err(usage("--timeout must be above 0"));
    }
    Ok(ReplayPlan {
        recorded,
        provider,
        target,
        secret,
        client: args.tls.client_options(),
        timeout,
    })
}

/// Runs `hookstorm replay`.
pub fn run(args: Args) -> anyhow::Result<Verdict> {
    let plan = plan(&args)?;
    let replayed = runtime()?.block_on(replay::run(&plan))?;
    print!("{}", replay::render(&plan, &replayed));
    Ok(Verdict::from_ok(replayed.answer.is_ok()))
}
