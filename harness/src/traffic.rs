//! What a run sends and where, built once: a [`TrafficSpec`] (the provider,
//! target, trust, secret, pool source and limits, as `load`/`capacity`
//! flags, a scenario step or the demo state them) becomes a [`Traffic`]
//! (client, signer and event pool, ready before any clock starts) through
//! the one builder, [`Traffic::build`].
//!
//! One builder so that what must hold for every run holds by construction:
//! the signer is made from the provider's scheme, the secret and the target
//! together, so the URL a `{url}` signature covers is always the target's.

use std::time::Duration;

use anyhow::Result;
use generators::template::MemberOrder;
use generators::variant::{variants, Family};
use generators::{EventType, Generator, Profile, Provider, Secret, Signer};
use reports::{Report, RunInfo};

use crate::client::{Client, ClientOptions};
use crate::clock::now_unix_ms;
use crate::pool::{self, Pool, DEFAULT_POOL_SIZE};
use crate::shard::Shard;
use crate::target::Target;
use crate::verdict::usage;

/// Responses with a longer body fail as `body_too_large`.
pub const MAX_RESPONSE_BODY: u64 = crate::client::MAX_RESPONSE_BYTES as u64;
/// The per-request timeout is the provider's deadline, at most this (also
/// `replay`'s).
pub const MAX_DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting may take the request timeout, at most this.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a run's events come from.
#[derive(Clone, Debug)]
pub enum PoolSource {
    /// `size` generated events of the weighted `mix` (`(type, weight)`;
    /// empty: every type of the provider equally).
    Generated {
        /// `(type, weight)`, weights above 0; empty: every type equally.
        mix: Vec<(String, f64)>,
        /// Events generated (at least 1).
        size: usize,
        /// Where the members that change per request go.
        order: MemberOrder,
    },
    /// Generated events of `mix` of which `share` (in `(0, 1]`) are
    /// still-valid adversarial variants (unknown fields, absent optionals,
    /// extreme unicode, maximal lengths, i64 edges, deep nesting, large
    /// arrays): the receiver must accept them.
    Adversarial {
        /// `(type, weight)`; empty: every type equally.
        mix: Vec<(String, f64)>,
        /// Share of adversarial events.
        share: f64,
    },
    /// Recorded events: JSONL text of `events gen --signed` records or
    /// bare bodies.
    Recorded {
        /// The JSONL text.
        text: String,
        /// Send each record byte for byte, headers included, unchecked and
        /// unsigned (otherwise each must be an event of the provider, and
        /// ids, seq, timestamps and signatures are refreshed).
        verbatim: bool,
        /// Where the members that change per request go.
        order: MemberOrder,
    },
}

impl PoolSource {
    /// Generated events of `mix`: the default pool size, the per-request
    /// members last (how scenario steps and the demo pool theirs).
    pub fn generated(mix: Vec<(String, f64)>) -> PoolSource {
        PoolSource::Generated {
            mix,
            size: DEFAULT_POOL_SIZE,
            order: MemberOrder::SlotsLast,
        }
    }
}

/// The secret a run signs with, and where it came from (named in a key
/// error: `$HOOK_SECRET`, "the demo secret").
#[derive(Clone, Debug)]
pub struct SigningKey {
    /// The shared secret (bearer token for auth0).
    pub secret: Secret,
    /// Where it came from, for messages.
    pub source: String,
}

/// Everything a [`Traffic`] is built from, as the edge (flags, scenario,
/// demo) states it: checked values, nothing built yet.
#[derive(Clone, Debug)]
pub struct TrafficSpec {
    /// Whose events and delivery profile (a deadline override included).
    pub provider: Provider,
    /// Where to send.
    pub target: Target,
    /// How to trust the target, and whether to speak HTTP/2.
    pub tls: ClientOptions,
    /// The key to sign with; `None` only for verbatim recorded events.
    pub key: Option<SigningKey>,
    /// Where the events come from.
    pub pool: PoolSource,
    /// Per-request timeout, connect included (above 0); `None`: the
    /// provider's deadline, at most [`MAX_DEFAULT_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// Response body limit in bytes.
    pub max_body: u64,
    /// Poll instead of sleeping (see `Emission`'s use of it).
    pub busy_poll: bool,
    /// Seed of the event generator.
    pub seed: u64,
}

impl TrafficSpec {
    /// Signed, generated traffic of every type of `provider` (the default
    /// pool size), to `target` over plain defaults: the base a scenario
    /// step or the demo adjusts.
    pub fn signed(provider: Provider, target: Target, key: SigningKey, seed: u64) -> TrafficSpec {
        TrafficSpec {
            provider,
            target,
            tls: ClientOptions::default(),
            key: Some(key),
            pool: PoolSource::generated(Vec::new()),
            timeout: None,
            max_body: MAX_RESPONSE_BODY,
            busy_poll: false,
            seed,
        }
    }
}

/// What a load run sends and where, built before any clock starts: the
/// provider, the client, the signer and the event pool.
#[derive(Debug)]
pub struct Traffic {
    /// Whose events and delivery profile (a deadline override included).
    pub provider: Provider,
    /// Where to send.
    pub target: Target,
    /// hyper client (HTTPS / HTTP/2).
    pub client: Client,
    /// Whether the lean HTTP/1.1 path applies (plain `http://`, no HTTP/2).
    pub fast_path: bool,
    /// The signer, its URL the target's (`None` for verbatim events).
    pub signer: Option<Signer>,
    /// The event pool.
    pub pool: Pool,
    /// Keep the runtime polling instead of sleeping, releasing due tickets
    /// from inside it (see `pacer::spin`): no wake-up per request, one busy
    /// core.
    pub busy_poll: bool,
    /// Per-request timeout, connect included.
    pub timeout: Duration,
    /// Response body limit in bytes.
    pub max_body: u64,
    /// The seed (ids derive from it and the start time).
    pub seed: u64,
}

impl Traffic {
    /// Builds the traffic `spec` describes: the target's credentials
    /// checked against the scheme, the client, the event pool and the
    /// signer (scheme, secret and the target's URL together). Errors are
    /// usage errors worded without flag names; the edge has checked its
    /// own values (a timeout above 0, a pool size of at least 1).
    pub fn build(spec: TrafficSpec) -> Result<Traffic> {
        let TrafficSpec {
            provider,
            target,
            tls,
            key,
            pool,
            timeout,
            max_body,
            busy_poll,
            seed,
        } = spec;
        let profile = provider.profile();
        target.check_credentials_fit(&profile.scheme)?;
        let timeout = timeout.unwrap_or_else(|| default_timeout(profile));
        let fast_path = !target.https && !tls.http2;
        let client = client(tls, timeout, max_body)?;
        let pool = build_pool(&provider, pool, seed)?;
        let signer = key
            .map(|key| target.signer(&profile.scheme, &key.secret, Some(&key.source)))
            .transpose()?;
        Ok(Traffic {
            provider,
            target,
            client,
            fast_path,
            signer,
            pool,
            busy_poll,
            timeout,
            max_body,
            seed,
        })
    }

    /// The report skeleton of a `command` run of this traffic.
    pub fn report(&self, command: &str, shard: Shard) -> Report {
        Report::new(RunInfo {
            command: command.to_string(),
            provider: self.provider.name().to_string(),
            provider_file: self.provider.file().map(String::from),
            target: self.target.url(),
            seed: self.seed,
            shard: (shard.count > 1).then(|| shard.one_based()),
            scenario: None,
            interrupted: None,
        })
    }
}

/// The per-request timeout when none is given: the provider's deadline,
/// at most [`MAX_DEFAULT_TIMEOUT`].
pub fn default_timeout(profile: &Profile) -> Duration {
    Duration::from_millis(profile.deadline_ms).min(MAX_DEFAULT_TIMEOUT)
}

/// The client of a run: `tls` (CA, verification, HTTP/2) with connect
/// bounded by `timeout` and responses by `max_body`.
fn client(tls: ClientOptions, timeout: Duration, max_body: u64) -> Result<Client> {
    Client::new(ClientOptions {
        connect_timeout: timeout.min(MAX_CONNECT_TIMEOUT),
        max_response_bytes: usize::try_from(max_body).unwrap_or(usize::MAX),
        ..tls
    })
}

fn build_pool(provider: &Provider, source: PoolSource, seed: u64) -> Result<Pool> {
    match source {
        PoolSource::Generated { mix, size, order } => {
            let weighted = weighted_types(provider, &mix)?;
            Pool::generate(provider, &weighted, seed, now_unix_ms(), size, order)
        }
        PoolSource::Adversarial { mix, share } => {
            let weighted = weighted_types(provider, &mix)?;
            adversarial_pool(provider, &weighted, share, seed, now_unix_ms())
        }
        PoolSource::Recorded {
            text,
            verbatim,
            order,
        } => {
            if !verbatim {
                pool::check_events_of(provider, &text)?;
            }
            Pool::from_jsonl(&text, provider, verbatim, order)
        }
    }
}

/// The event types of `mix` with their weights (every type of the
/// provider equally when it is empty); an unknown type is a usage error.
fn weighted_types<'p>(
    provider: &'p Provider,
    mix: &[(String, f64)],
) -> Result<Vec<(&'p EventType, f64)>> {
    if mix.is_empty() {
        return Ok(provider.types().into_iter().map(|t| (t, 1.0)).collect());
    }
    mix.iter()
        .map(|(name, w)| {
            provider
                .event_type(name)
                .map(|t| (t, *w))
                .map_err(|e| usage(e.to_string()))
        })
        .collect()
}

/// A pool where `share` of each type's events are still-valid adversarial
/// variants: the receiver must accept them, so they count toward the
/// error rate like valid events. Types are interleaved in proportion to
/// their weights.
fn adversarial_pool(
    provider: &Provider,
    mix: &[(&EventType, f64)],
    share: f64,
    seed: u64,
    now_ms: i64,
) -> Result<Pool> {
    let still_valid: Vec<_> = variants()
        .iter()
        .filter(|v| v.family == Family::StillValid)
        .collect();
    let total: f64 = mix.iter().map(|(_, w)| w).sum();
    let size = DEFAULT_POOL_SIZE.max(mix.len());
    let mut generator = Generator::new(seed, now_ms);
    let mut per_type: Vec<Vec<String>> = Vec::new();
    let mut variant_at = 0usize;
    for (ty, weight) in mix {
        let count = ((size as f64 * weight / total).round() as usize).max(1);
        let adversarial = (count as f64 * share).round() as usize;
        let mut lines = Vec::with_capacity(count);
        for i in 0..count {
            // Spread the adversarial events evenly through the type's run.
            let is_adversarial =
                adversarial > 0 && i * adversarial / count != (i + 1) * adversarial / count;
            let value = if is_adversarial {
                let variant = still_valid[variant_at % still_valid.len()];
                variant_at += 1;
                generator
                    .mutate(ty, variant)
                    .value
                    .unwrap_or_else(|| generator.valid(ty))
            } else {
                generator.valid(ty)
            };
            lines.push(serde_json::to_string(&value)?);
        }
        per_type.push(lines);
    }
    let longest = per_type.iter().map(Vec::len).max().unwrap_or(0);
    let mut text = String::new();
    for i in 0..longest {
        for lines in &per_type {
            if let Some(line) = lines.get(i) {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    Pool::from_jsonl(&text, provider, false, MemberOrder::SlotsLast)
}
