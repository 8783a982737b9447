//! `hookstorm receiver`: run the reference receiver (correct, with injected
//! faults, or as a 204 sink for benchmarks) until SIGINT or SIGTERM, which
//! are how a server is asked to stop: it shuts down and exits 0.

use anyhow::Context;
use generators::Secret;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::duration::parse_duration;
use crate::ledger::OrderingPolicy;
use crate::receiver::{self, default_slow_delay, Fault, ReceiverConfig};
use crate::secret::DEFAULT_SECRET_ENV;
use crate::shutdown::Shutdown;
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm receiver`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(help = crate::provider::flag_help("Built-in provider whose deliveries to receive"), long, value_parser = parse_provider, required_unless_present = "provider_file", conflicts_with = "provider_file")]
    pub provider: Option<String>,
    /// A provider that is not built in, declared in a YAML or TOML file.
    #[arg(long, value_name = "FILE")]
    pub provider_file: Option<std::path::PathBuf>,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Environment variable holding the signing secret (bearer token for auth0).
    #[arg(long, default_value = DEFAULT_SECRET_ENV)]
    pub secret_env: String,
    /// Inject a fault (repeatable): skip-signature, accept-stale, reject-unknown-fields,
    /// reject-optional-absent, double-process, out-of-order, slow, bad-blocking-response,
    /// crash-on-unicode, 5xx-on-bad-json, lose-under-load, hang, reorder-after-ack.
    #[arg(long = "fault", value_name = "NAME", value_parser = parse_fault)]
    pub faults: Vec<Fault>,
    /// What to do with events of one subject that arrive out of order.
    #[arg(long, value_enum, default_value_t = OrderingPolicy::LastWriteWins)]
    pub ordering: OrderingPolicy,
    /// Answer 204 to everything without any check (a benchmark sink).
    #[arg(long)]
    pub sink: bool,
    /// With --sink: poll instead of sleeping when idle, so senders never pay
    /// for waking it (uses its whole core; for a sink pinned to its own).
    #[arg(long, requires = "sink")]
    pub busy_poll: bool,
    /// How late the `slow` fault answers, e.g. 1500ms or 3s [default: the provider's deadline + 500ms].
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub slow_delay: Option<Duration>,
    /// How long `--ordering strict` holds a subject's events after its last arrival.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "200ms")]
    pub settle: Duration,
    /// Bodies larger than this many bytes are answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = generators::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
}

/// Runs the receiver until SIGINT or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<Verdict> {
    let secret = match crate::secret::from_env(&args.secret_env) {
        Ok(secret) => secret,
        // The sink checks no signature, so it needs no secret.
        Err(_) if args.sink => Secret::new(String::new()),
        Err(e) => return Err(e),
    };
    let provider =
        crate::provider::resolve(args.provider.as_deref(), args.provider_file.as_deref())?;
    let mut config = ReceiverConfig::for_provider(provider, secret);
    config.slow_delay = args
        .slow_delay
        .unwrap_or_else(|| default_slow_delay(config.provider.profile()));
    config.faults = args.faults;
    config.ordering = args.ordering;
    config.sink = args.sink;
    config.busy_poll = args.busy_poll;
    config.addr = SocketAddr::new(args.bind, args.port);
    config.settle = args.settle;
    config.max_body_bytes = args.max_body_bytes;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let shutdown = {
        let _entered = runtime.enter();
        Shutdown::on_signals()?
    };
    runtime.block_on(async move {
        let mode = if config.sink {
            "sink".to_string()
        } else if config.faults.is_empty() {
            format!("correct, ordering {}", config.ordering.name())
        } else {
            let names: Vec<&str> = config.faults.iter().map(|f| f.name()).collect();
            format!(
                "faults: {}, ordering {}",
                names.join(", "),
                config.ordering.name()
            )
        };
        let provider = config.provider.name().to_string();
        let running = receiver::start(config)
            .await
            .map_err(|e| usage(format!("{e:#}")))?;
        // A closed stdout (a script that read the URL and went away) must
        // not stop the receiver: the banner is best effort.
        let banner = format!(
            "hookstorm receiver: {provider} ({mode})\nlistening on {}\nledger at {}\npress Ctrl-C to stop\n",
            running.url(),
            running.ledger_url()
        );
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
        drop(out);
        // Asked to stop is this command's normal end, not an interruption.
        shutdown.requested().await;
        running.shutdown().await;
        Ok(Verdict::Pass)
    })
}

fn parse_provider(name: &str) -> Result<String, String> {
    match crate::provider::names().contains(&name) {
        true => Ok(name.to_string()),
        false => Err(crate::provider::unknown(name)),
    }
}

fn parse_fault(name: &str) -> Result<Fault, String> {
    Fault::parse(name).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_and_provider_names_get_suggestions() {
        assert!(parse_fault("dobule-process")
            .unwrap_err()
            .contains("double-process"));
        assert!(parse_provider("fusionuath")
            .unwrap_err()
            .contains("fusionauth"));
    }
}
