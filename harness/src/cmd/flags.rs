//! Flag groups several commands share, and what every command does with
//! them the same way: the provider (`--provider`/`--provider-file`), how
//! to trust a target (`--ca-cert`/`--insecure`), the traffic flags of
//! `load` and `capacity` (turned into a `TrafficSpec`, their connections
//! and the command skeleton both share), the secret from the environment,
//! the async runtime a signal can interrupt, and the report directory.
//!
//! This is the one `cmd` module the others import; none imports another.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use generators::template::MemberOrder;
use generators::Provider;
use reports::Report;

use crate::client::ClientOptions;
use crate::clock::random_seed;
use crate::duration::parse_duration;
use crate::load;
use crate::pool::{self, DEFAULT_POOL_SIZE};
use crate::reachable::ensure_reachable;
use crate::secret::{self, DEFAULT_SECRET_ENV};
use crate::shutdown::Shutdown;
use crate::target::{Target, TargetParser};
use crate::traffic::{self, PoolSource, SigningKey, Traffic, TrafficSpec};
use crate::verdict::{usage, Verdict};

/// `--provider NAME` or `--provider-file FILE`, exactly one: the flags of
/// every command that works for one provider (`check` and `receiver`
/// declare theirs apart, for `--list` and a typed provider).
#[derive(Debug, Clone, clap::Args)]
pub struct ProviderArgs {
    #[arg(
        help = crate::provider::flag_help("Built-in provider whose events, signatures and rules to use"),
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
    /// The provider the flags name, its catalog built once.
    pub fn resolve(&self) -> Result<Provider> {
        crate::provider::resolve(self.name.as_deref(), self.file.as_deref())
    }
}

/// Flags `load` and `capacity` share: what to send, where, and how.
#[derive(Debug, Clone, clap::Args)]
pub struct TrafficArgs {
    /// The provider (`--provider` or `--provider-file`).
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// The receiver's URL (http:// or https://).
    #[arg(long, short = 't', value_parser = TargetParser)]
    pub target: Target,
    /// Environment variable holding the shared secret (bearer token for auth0).
    #[arg(long, default_value = DEFAULT_SECRET_ENV, value_name = "VAR")]
    pub secret_env: String,
    /// Send only these event types (repeatable; default: every type of the provider, equally).
    #[arg(long = "type", value_name = "TYPE", conflicts_with_all = ["mix", "events"])]
    pub types: Vec<String>,
    /// Weighted event mix: a file of `type: weight` lines.
    #[arg(long, value_name = "FILE", conflicts_with = "events")]
    pub mix: Option<PathBuf>,
    /// Send these events (JSONL: `events gen --signed` records or bare bodies);
    /// ids, seq, timestamps and signatures are still refreshed unless --verbatim.
    #[arg(long, value_name = "FILE.jsonl")]
    pub events: Option<PathBuf>,
    /// With --events: send each record byte for byte, headers included.
    #[arg(long, requires = "events")]
    pub verbatim: bool,
    /// Keep each event's JSON member order. By default the members holding
    /// the per-request id/seq/timestamp move to the end of their objects
    /// (same event, RFC 8259 §4), so signing rehashes a few bytes per
    /// request instead of the whole body.
    #[arg(long)]
    pub keep_order: bool,
    /// Connections for the open model (each carries one request at a time).
    #[arg(long, short = 'c', value_name = "N")]
    pub connections: Option<usize>,
    /// Speak HTTP/2 (prior knowledge on http://, ALPN on https://).
    #[arg(long)]
    pub http2: bool,
    /// How to trust an https target.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Per-request timeout, connect included [default: the provider's deadline, at most 10s].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Responses with a longer body fail as body_too_large.
    #[arg(long, default_value_t = traffic::MAX_RESPONSE_BODY, value_name = "BYTES")]
    pub max_body: u64,
    /// Seed of the event generator (printed; reuse it to reproduce the pool).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Events generated into the pool before the clock starts.
    #[arg(long, default_value_t = DEFAULT_POOL_SIZE, value_name = "N")]
    pub pool_size: usize,
    /// Poll instead of sleeping: the runtime never parks and releases due
    /// requests itself, so none waits for a wake-up (lower latency while
    /// the core has time to spare; near its capacity the polling takes time
    /// from sending). One core stays 100 % busy: meant for a generator
    /// pinned to its own core (with --threads 1).
    #[arg(long)]
    pub busy_poll: bool,
    /// Runtime worker threads [default: the CPUs this process may use].
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub threads: Option<usize>,
    /// The report directory: its files are [`reports::render::OUTPUTS`].
    #[arg(long, value_name = "DIR", help = format!("Write {} here", reports::render::output_names()))]
    pub out: Option<PathBuf>,
    /// No progress display and no start line; only the final summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `--ca-cert FILE` and `--insecure`, shared by every command that connects
/// to a target (`load`, `capacity`, `check`) and by `run`/`validate`, where
/// they override a scenario's `tls:` values.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Extra PEM CA certificate to trust for an https target.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the target's TLS certificate.
    #[arg(long)]
    pub insecure: bool,
}

impl TlsArgs {
    /// Fails (usage error, exit 2) when `--ca-cert` is not a readable PEM
    /// CA certificate, before anything connects.
    pub fn check(&self) -> Result<()> {
        if let Some(path) = &self.ca_cert {
            crate::tls::read_ca_certs(path)
                .map_err(|e| usage(format!("--ca-cert {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// Client options that trust the target as the flags say.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
            ..ClientOptions::default()
        }
    }

    /// The flags as a scenario's TLS settings (they replace the file's).
    pub fn scenario(&self) -> crate::scenario::Tls {
        crate::scenario::Tls {
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
        }
    }
}

impl TrafficArgs {
    /// Where pooled events put the members that change per request.
    fn order(&self) -> MemberOrder {
        if self.keep_order {
            MemberOrder::Keep
        } else {
            MemberOrder::SlotsLast
        }
    }

    /// Validates the flags and builds the traffic: the provider, client,
    /// signer and event pool (before any clock starts).
    pub fn traffic(&self) -> Result<Traffic> {
        let provider = self.provider.resolve()?;
        let target = self.target.clone();
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(usage("--timeout must be above 0"));
        }
        let pool = if let Some(path) = &self.events {
            let text = std::fs::read_to_string(path)
                .map_err(|e| usage(format!("cannot read --events {}: {e}", path.display())))?;
            if self.verbatim {
                eprintln!(
                    "warning: --verbatim sends every --events line byte for byte, unchecked: \
                     lines that are not {} events are sent too",
                    provider.name()
                );
            }
            PoolSource::Recorded {
                text,
                verbatim: self.verbatim,
                order: self.order(),
            }
        } else {
            let mix: Vec<(String, f64)> = if let Some(path) = &self.mix {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| usage(format!("cannot read --mix {}: {e}", path.display())))?;
                let mix: Vec<(String, f64)> = pool::parse_mix(&text)?
                    .into_iter()
                    .filter(|(_, w)| *w > 0.0)
                    .collect();
                // An empty mix would otherwise mean "every type".
                if mix.is_empty() {
                    return Err(usage(format!(
                        "--mix {} gives no event type a weight above 0: write `type: weight` \
                         lines such as `user.created: 3`",
                        path.display()
                    )));
                }
                mix
            } else {
                self.types.iter().map(|name| (name.clone(), 1.0)).collect()
            };
            if self.pool_size == 0 {
                return Err(usage("--pool-size must be at least 1"));
            }
            PoolSource::Generated {
                mix,
                size: self.pool_size,
                order: self.order(),
            }
        };
        let key = if self.verbatim {
            None
        } else {
            Some(SigningKey {
                secret: secret::from_env(&self.secret_env)?,
                source: format!("${}", self.secret_env),
            })
        };
        Traffic::build(TrafficSpec {
            provider,
            target,
            tls: ClientOptions {
                http2: self.http2,
                ..self.tls.client_options()
            },
            key,
            pool,
            timeout: self.timeout,
            max_body: self.max_body,
            busy_poll: self.busy_poll,
            seed: self.seed.unwrap_or_else(random_seed),
        })
    }

    /// `--connections`, or `default` (the run's model's) when absent; 0 is
    /// a usage error. Checked against the descriptor limit unless
    /// `closed_senders` (a closed model's `--concurrency`) is what opens
    /// connections.
    pub fn connections(&self, default: usize, closed_senders: Option<usize>) -> Result<usize> {
        let connections = match self.connections {
            Some(0) => return Err(usage("--connections must be at least 1")),
            Some(c) => c,
            None => default,
        };
        match closed_senders {
            Some(senders) => load::ensure_descriptors(senders, "--concurrency")?,
            None => load::ensure_descriptors(connections, "--connections")?,
        }
        Ok(connections)
    }

    /// The skeleton `load` and `capacity` share once their plan is built:
    /// makes sure `--out` can take the report, listens for signals, prints
    /// `start_line` (unless `--quiet`), makes sure `traffic`'s target
    /// answers, runs `work` (which a signal stops, returning what it has),
    /// marks the report interrupted if so, prints the summary and writes
    /// the report directory.
    pub fn send_and_report<W, F>(
        &self,
        traffic: &Traffic,
        start_line: impl FnOnce() -> String,
        work: W,
    ) -> Result<Verdict>
    where
        W: FnOnce(Shutdown) -> F,
        F: std::future::Future<Output = Result<(Report, Verdict)>>,
    {
        // Before the target hears from us: a bad --out costs nothing.
        prepare_out(self.out.as_ref())?;
        let runtime = Interruptible::new(self.runtime()?)?;
        let shutdown = runtime.shutdown().clone();
        if !self.quiet {
            eprintln!("{}", start_line());
        }
        let (mut report, verdict) = runtime.run(async {
            ensure_reachable(&traffic.client, &traffic.target).await?;
            work(shutdown.clone()).await
        })?;
        let signal = shutdown.mark(&mut report);
        print!("{}", reports::terminal_summary(&report));
        write_report(&report, self.out.as_ref(), self.quiet)?;
        Ok(verdict.unless_interrupted(signal))
    }

    /// The runtime a run uses: one thread → current-thread scheduler
    /// (no work-stealing overhead when pinned to a core).
    pub fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        let threads = self.threads.unwrap_or_else(crate::measure::stripes).max(1);
        let mut builder = if threads == 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(threads);
            b
        };
        builder
            .enable_all()
            .build()
            .map_err(|e| usage(format!("cannot start the async runtime: {e}")))
    }
}

/// The multi-threaded runtime commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the async runtime: {e}")))
}

/// A runtime whose work SIGINT and SIGTERM stop: every command that sends
/// runs on one, so each ends the same way on a signal (stop sending, write
/// the partial report, exit 130/143).
pub struct Interruptible {
    runtime: tokio::runtime::Runtime,
    shutdown: Shutdown,
}

impl Interruptible {
    /// Listens for the signals from now on: made before a command prints
    /// that it starts, so a signal after that line always ends it this way.
    pub fn new(runtime: tokio::runtime::Runtime) -> Result<Interruptible> {
        let shutdown = {
            let _entered = runtime.enter();
            Shutdown::on_signals()?
        };
        Ok(Interruptible { runtime, shutdown })
    }

    /// The shutdown the signals trigger, to hand down to the work and to
    /// mark the report with afterwards.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Runs `work` to its end (which a signal brings forward).
    pub fn run<T>(self, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let result = self.runtime.block_on(work);
        // A check stopped mid-way may leave a ledger command running on a
        // blocking thread: the report must not wait for it.
        self.runtime.shutdown_background();
        result
    }
}

/// A count flag that must be at least 1 (`--threads 0` would run nothing).
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number (e.g. 2)")),
    }
}

/// Makes sure the report directory `--out` names can take the report
/// before anything is sent (created, a directory, writable): a usage error
/// (exit 2) otherwise, so a bad `--out` costs no traffic and no results.
pub fn prepare_out(out: Option<&PathBuf>) -> Result<()> {
    if let Some(dir) = out {
        reports::prepare_dir(dir).map_err(|e| {
            usage(format!(
                "--out {}: cannot write the report there ({e}); nothing was sent",
                dir.display()
            ))
        })?;
    }
    Ok(())
}

/// Writes the report directory `--out` names, if any, and says so unless
/// `quiet`.
pub fn write_report(report: &Report, out: Option<&PathBuf>, quiet: bool) -> Result<()> {
    if let Some(dir) = out {
        let written = reports::render::write_dir(report, dir)
            .map_err(|e| usage(format!("cannot write the report to {}: {e}", dir.display())))?;
        if !quiet {
            println!("report: {} ({} files)", dir.display(), written.len());
        }
    }
    Ok(())
}

/// Prints a file's diagnostic to stderr: `miette` snippets, in color on a
/// terminal (`run` and `validate` report a bad file the same way).
pub fn print_diagnostic(diag: &crate::scenario::Diagnostic) {
    use std::io::IsTerminal;
    let stderr = std::io::stderr();
    eprint!("{}", diag.render_fancy(stderr.is_terminal()));
}
