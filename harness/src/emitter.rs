//! The emitter: the one send loop every load model runs through.
//!
//! An [`Emission`] (target, pool, signer, schedule, connections) is run by
//! [`run`]: connections are opened before the clock starts, tickets are
//! released as they fall due (by the [`Pacer`] thread, or by a connection
//! that finds one due when it finishes a request), and each connection
//! claims a ticket, patches the next pooled event with a fresh
//! id/seq/timestamp, re-signs it (resuming from the event's constant
//! prefix, absorbed before the clock starts, where the scheme hashes the
//! body first), sends it, and records a [`Sample`] whose latency counts
//! from the ticket's *intended* time (coordinated-omission free) and whose
//! service time counts from the actual send. Plain HTTP/1.1 uses the lean
//! [`wire`] path; HTTPS and HTTP/2 use hyper via
//! [`client`](crate::client). Shutdown is a future argument (a signal in
//! the CLI, a oneshot in tests); a stopped run still returns what it
//! measured, the requests still unanswered after a short grace counted as
//! [`ErrorKind::Cancelled`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use generators::{splitmix64, BodyPrefix, Profile, Signer};
use reports::{ErrorKind, LoadStats, Outcome, Recorder, Sample};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::client::{Client, Connection};
use crate::pacer::{Pacer, Tickets};
use crate::pool::Pool;
use crate::schedule::Schedule;
use crate::target::Target;
use crate::wire;

/// A request that starts later than this after its intended time counts as
/// missed: the emitter (no free connection, no CPU) could not keep the rate.
pub const LATE_AFTER: Duration = Duration::from_millis(10);
/// After the schedule ends, tickets already due may still be claimed for
/// this long (idle connections take them in microseconds; only a backlog
/// waits longer, and that backlog is counted as missed).
const CLAIM_GRACE: Duration = Duration::from_millis(50);
/// On shutdown, requests in flight get at most this long to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Per-second timeline histograms are preallocated up to this run length.
const RESERVE_TIMELINE: Duration = Duration::from_secs(120);

/// Which of N parts of a distributed run this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This part, counted from 0 (`0..count`).
    pub index: u32,
    /// Number of parts.
    pub count: u32,
}

impl Shard {
    /// The whole run in one part.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/N`, K counted from 1 (`1/4` .. `4/4`), as reports show
    /// "shard 1 of 4" (a Kubernetes Indexed Job passes
    /// `$((JOB_COMPLETION_INDEX + 1))/N`).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("invalid shard `{text}`: write K/N with 1 <= K <= N, e.g. 1/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || k == 0 || k > count {
            return Err(bad());
        }
        Ok(Shard {
            index: k - 1,
            count,
        })
    }

    /// `(k, n)` with k counted from 1, as `RunInfo::shard` stores it.
    pub fn one_based(self) -> (u32, u32) {
        (self.index + 1, self.count)
    }

    /// This part's share of the rate.
    pub fn share(self) -> f64 {
        1.0 / f64::from(self.count)
    }
}

/// What one load run sends, where and when, validated: the emitter's
/// whole input (the load command builds it from its settings).
#[derive(Debug)]
pub struct Emission {
    /// Where to send.
    pub target: Target,
    /// hyper client for HTTPS and HTTP/2 (and its options).
    pub client: Client,
    /// Use the lean HTTP/1.1 path (plain `http://`, no `--http2`).
    pub fast_path: bool,
    /// The provider's delivery profile.
    pub profile: Profile,
    /// Signs each patched body; `None` sends pooled headers verbatim.
    pub signer: Option<Signer>,
    /// The pre-generated events.
    pub pool: Arc<Pool>,
    /// Keep the runtime polling instead of sleeping, releasing due tickets
    /// from inside it (see `pacer::spin`): no wake-up per request, one busy
    /// core.
    pub busy_poll: bool,
    /// When each request is due.
    pub schedule: Schedule,
    /// Connections (open model) — the closed model uses one per sender.
    pub connections: usize,
    /// Per-request timeout (connect included).
    pub timeout: Duration,
    /// Response body limit in bytes.
    pub max_body: u64,
    /// Which part of a sharded run this is.
    pub shard: Shard,
    /// The run's seed (ids derive from it and the start time).
    pub seed: u64,
}

impl Emission {
    /// Number of concurrent senders the run uses.
    pub fn senders(&self) -> usize {
        self.schedule
            .concurrency()
            .unwrap_or(self.connections)
            .max(1)
    }
}

/// What the emitter has measured so far: per-thread latency recorders and
/// the completed, failed and late counts, shared with the progress display
/// while the run goes on.
#[derive(Debug)]
pub struct Measurements {
    /// One recorder per runtime thread, so senders rarely contend.
    stripes: Vec<Mutex<LoadStats>>,
    completed: AtomicU64,
    failed: AtomicU64,
    late: AtomicU64,
}

impl Measurements {
    /// Empty measurements for `type_names`, striped `stripes` ways.
    pub fn new(type_names: &[String], stripes: usize, reserve: Option<Duration>) -> Measurements {
        let stripes = (0..stripes.max(1))
            .map(|_| {
                let mut stats = LoadStats::new(type_names.to_vec());
                if let Some(d) = reserve {
                    stats.reserve_timeline(d.min(RESERVE_TIMELINE));
                }
                Mutex::new(stats)
            })
            .collect();
        Measurements {
            stripes,
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            late: AtomicU64::new(0),
        }
    }

    fn stripe(&self, i: usize) -> MutexGuard<'_, LoadStats> {
        // A poisoned stripe only means a sender panicked mid-record; the
        // counts are still the best we have.
        self.stripes[i % self.stripes.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Requests answered or failed so far.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Of those, failures (transport errors and unsuccessful statuses).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Requests sent later than [`LATE_AFTER`] so far.
    pub fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }

    /// The 99th percentile latency so far, µs (the worst stripe's: exact
    /// merging is left to the end of the run).
    pub fn p99_us(&self) -> u64 {
        (0..self.stripes.len())
            .map(|i| self.stripe(i).latency().value_at_quantile(0.99))
            .max()
            .unwrap_or(0)
    }

    /// Takes the measurements out, merged into one (the stripes are left
    /// empty; a progress display may still hold this `Measurements`).
    fn take_stats(&self) -> Result<LoadStats> {
        let mut total: Option<LoadStats> = None;
        for i in 0..self.stripes.len() {
            let stats = std::mem::replace(&mut *self.stripe(i), LoadStats::new(Vec::new()));
            match &mut total {
                None => total = Some(stats),
                Some(t) => t.merge(&stats).context("merging per-thread measurements")?,
            }
        }
        total.ok_or_else(|| anyhow!("no recorder"))
    }
}

/// What one sender has in flight, so that a run cut short can count it as
/// cancelled: set before each send, cleared once its sample is recorded.
/// One cache line per sender, so senders never contend for it.
#[derive(Debug, Default)]
#[repr(align(64))]
struct InFlight {
    /// The intended send time, µs after the start, plus one (0: idle).
    intended_us: AtomicU64,
    /// The actual send time, µs after the start.
    sent_us: AtomicU64,
    /// The event type's index.
    type_index: AtomicU64,
}

impl InFlight {
    fn begin(&self, intended: Duration, sent: Duration, type_index: u16) {
        self.sent_us.store(micros(sent), Ordering::Relaxed);
        self.type_index
            .store(u64::from(type_index), Ordering::Relaxed);
        self.intended_us
            .store(micros(intended).saturating_add(1), Ordering::Release);
    }

    fn end(&self) {
        self.intended_us.store(0, Ordering::Relaxed);
    }

    /// The sample of the request in flight, if any, cancelled at `now`
    /// (µs after the start): its latency and service time count up to the
    /// cancellation, a lower bound of what they would have been.
    fn cancelled(&self, now_us: u64) -> Option<Sample> {
        let intended = self.intended_us.load(Ordering::Acquire).checked_sub(1)?;
        let sent = self.sent_us.load(Ordering::Relaxed);
        Some(Sample {
            type_index: u16::try_from(self.type_index.load(Ordering::Relaxed)).unwrap_or(0),
            latency_us: now_us.saturating_sub(intended),
            service_us: now_us.saturating_sub(sent),
            outcome: Outcome::Error(ErrorKind::Cancelled),
            at_ms: intended / 1_000,
        })
    }
}

/// The result of a run.
#[derive(Debug)]
pub struct Run {
    /// Everything measured (missed, window, start/end and target rate set).
    pub stats: LoadStats,
    /// Wall time from the clock start until the last sender finished.
    pub elapsed: Duration,
    /// Whether the shutdown future ended the run early.
    pub interrupted: bool,
}

/// Runs `emission` until its schedule ends or `shutdown` resolves.
pub async fn run(emission: Arc<Emission>, shutdown: impl Future) -> Result<Run> {
    let live = Arc::new(Measurements::new(
        &emission.pool.type_names,
        stripes(),
        Some(emission.schedule.end()),
    ));
    run_observed(emission, live, shutdown).await
}

/// The number of recorder stripes: one per runtime worker thread.
pub fn stripes() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8)
}

/// Id and sequence spaces of one run: unique per run, disjoint across shards.
#[derive(Clone, Copy, Debug)]
struct Ids {
    high: u64,
    shard: Shard,
    seq_base: i64,
    /// The run's start on the wall clock, µs since the Unix epoch.
    wall_start_us: i64,
}

impl Ids {
    fn new(seed: u64, shard: Shard, now: SystemTime) -> Ids {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        // Ids mix the start time in so a re-run is not a wall of duplicates
        // for a receiver that remembers; the shard index sits in its own bits.
        let high = splitmix64(seed ^ splitmix64(since.as_nanos() as u64));
        let n = i64::from(shard.count);
        let us = since.as_micros().min(i64::MAX as u128 / 2) as i64;
        Ids {
            high,
            shard,
            // A multiple of N: shard K's numbers are all ≡ K (mod N), so
            // shards never collide even when started at different times.
            seq_base: us / n * n,
            wall_start_us: us,
        }
    }

    fn id(&self, ticket: u64) -> u128 {
        (u128::from(self.high) << 64)
            | (u128::from(self.shard.index) << 48)
            | u128::from(ticket & 0xFFFF_FFFF_FFFF)
    }

    fn seq(&self, ticket: u64) -> i64 {
        self.seq_base + (ticket as i64) * i64::from(self.shard.count) + i64::from(self.shard.index)
    }
}

/// A sender's connection, of whichever transport the run uses.
enum Link {
    Wire(Option<wire::Conn>),
    Hyper(Option<Connection>),
}

/// Reusable per-sender buffers: one request is built at a time.
struct Buffers {
    body: Vec<u8>,
    head: Vec<u8>,
}

/// Runs `emission`, recording into `live` (which a progress display may read).
pub async fn run_observed(
    emission: Arc<Emission>,
    live: Arc<Measurements>,
    shutdown: impl Future,
) -> Result<Run> {
    let addr = if emission.fast_path {
        Some(resolve(&emission.target).await?)
    } else {
        None
    };
    let senders = emission.senders();
    // Open connections before the clock starts; a failure here is not fatal:
    // the sender retries per request and counts what happens.
    let mut connecting = JoinSet::new();
    for i in 0..senders {
        let emission = emission.clone();
        connecting.spawn(async move { (i, open(&emission, addr).await) });
    }
    let mut links: Vec<Option<Link>> = (0..senders).map(|_| None).collect();
    while let Some(joined) = connecting.join_next().await {
        if let Ok((i, link)) = joined {
            links[i] = Some(link);
        }
    }
    let prefixes = Arc::new(absorb_prefixes(&emission));
    let tickets = Arc::new(Tickets::new(emission.schedule.total()));
    let started_wall = crate::clock::now();
    let ids = Ids::new(emission.seed, emission.shard, started_wall);
    // The load machine's own stalls, measured alongside (see `hiccup`); a
    // meter that cannot start costs only this figure.
    let meter = crate::hiccup::Meter::start(crate::hiccup::INTERVAL).ok();
    let start = Instant::now();
    // Dropped on every way out of this function: closes the tickets and
    // ends the pacer thread.
    let pacer = Pacer::spawn(
        emission.schedule.clone(),
        start,
        tickets.clone(),
        CLAIM_GRACE,
        !emission.busy_poll,
    )
    .context("cannot start the pacer thread")?;
    let spinner = emission.busy_poll.then(|| {
        tokio::spawn(crate::pacer::spin(
            emission.schedule.clone(),
            start,
            tickets.clone(),
        ))
    });
    let in_flight: Arc<[InFlight]> = (0..senders).map(|_| InFlight::default()).collect();
    let mut workers = JoinSet::new();
    for (i, link) in links.into_iter().enumerate() {
        let link = link.unwrap_or(if emission.fast_path {
            Link::Wire(None)
        } else {
            Link::Hyper(None)
        });
        workers.spawn(sender(
            emission.clone(),
            prefixes.clone(),
            live.clone(),
            tickets.clone(),
            in_flight.clone(),
            i,
            link,
            addr,
            start,
            ids,
        ));
    }

    tokio::pin!(shutdown);
    let mut stopped_at: Option<Instant> = None;
    let far = start + Duration::from_secs(86_400 * 365);
    loop {
        let grace_end = stopped_at.map_or(far, |t| t + SHUTDOWN_GRACE.min(emission.timeout));
        tokio::select! {
            joined = workers.join_next() => {
                if joined.is_none() {
                    break;
                }
            }
            _ = &mut shutdown, if stopped_at.is_none() => {
                stopped_at = Some(Instant::now());
                tickets.close();
            }
            _ = tokio::time::sleep_until(grace_end), if stopped_at.is_some() => {
                workers.abort_all();
            }
        }
    }
    pacer.stop();
    if let Some(spinner) = spinner {
        spinner.abort();
    }
    let ended = Instant::now();
    let elapsed = ended - start;
    let interrupted = stopped_at.is_some();
    // Senders aborted after the grace (joined above, so their last writes
    // are visible) leave their request in flight: sent, never answered.
    for slot in in_flight.iter() {
        if let Some(sample) = slot.cancelled(micros(elapsed)) {
            live.stripe(0).record(&sample);
            live.completed.fetch_add(1, Ordering::Relaxed);
            live.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    // The window in which requests were started: the schedule for a run
    // that completed, up to the stop for an interrupted one.
    let stop_elapsed = stopped_at.map(|t| t - start);
    let window = match (stop_elapsed, emission.schedule.concurrency()) {
        (Some(s), _) => s.min(elapsed),
        (None, None) => emission.schedule.end().min(elapsed),
        (None, Some(_)) => elapsed.min(emission.schedule.end()),
    };
    // Due but never started: the backlog when the run stopped.
    let unsent = if emission.schedule.concurrency().is_none() {
        emission
            .schedule
            .due_by(window)
            .saturating_sub(tickets.claimed())
    } else {
        0
    };
    let late = live.late();
    let mut stats = live.take_stats()?;
    if let Some(meter) = meter {
        stats.add_hiccups(&meter.stop())?;
    }
    stats.count_late(late);
    stats.count_unsent(unsent);
    stats.set_window(window);
    stats.set_started(started_wall);
    stats.set_ended(started_wall + elapsed);
    stats.set_target_rate(emission.schedule.target_rate());
    // Every request of a batching run carries a full batch (verbatim
    // records are whole requests as recorded, their events uncounted).
    let verbatim = emission
        .pool
        .entries()
        .iter()
        .any(|e| e.verbatim_headers.is_some());
    if emission.profile.batch.is_some() && !verbatim {
        let per_request = u64::from(emission.profile.events_per_request());
        stats.set_events(stats.requests().saturating_mul(per_request));
    }
    Ok(Run {
        stats,
        elapsed,
        interrupted,
    })
}

/// Each pooled entry's signing state after its constant prefix (see
/// `Signer::absorb_prefix`), computed before the clock starts; `None`
/// where the scheme cannot resume or the entry is sent verbatim.
fn absorb_prefixes(emission: &Emission) -> Vec<Option<BodyPrefix>> {
    emission
        .pool
        .entries()
        .iter()
        .map(|entry| match (&emission.signer, &entry.verbatim_headers) {
            (Some(signer), None) => signer.absorb_prefix(entry.template.constant_prefix()),
            _ => None,
        })
        .collect()
}

async fn resolve(target: &Target) -> Result<SocketAddr> {
    let name = target.socket_addr();
    let mut addrs = tokio::net::lookup_host(name.as_str())
        .await
        .with_context(|| format!("cannot resolve {name}"))?;
    addrs
        .next()
        .ok_or_else(|| anyhow!("{name} resolves to no address"))
}

async fn open(emission: &Emission, addr: Option<SocketAddr>) -> Link {
    let limit = emission.timeout.min(Duration::from_secs(5));
    match addr {
        Some(addr) => Link::Wire(
            tokio::time::timeout(limit, wire::Conn::connect(addr))
                .await
                .ok()
                .and_then(Result::ok),
        ),
        None => Link::Hyper(
            tokio::time::timeout(limit, emission.client.connect(&emission.target))
                .await
                .ok()
                .and_then(Result::ok),
        ),
    }
}

/// One sender: claims tickets until none are left, one request at a time.
#[allow(clippy::too_many_arguments)]
async fn sender(
    emission: Arc<Emission>,
    prefixes: Arc<Vec<Option<BodyPrefix>>>,
    live: Arc<Measurements>,
    tickets: Arc<Tickets>,
    in_flight: Arc<[InFlight]>,
    index: usize,
    mut link: Link,
    addr: Option<SocketAddr>,
    start: Instant,
    ids: Ids,
) {
    let closed_model = emission.schedule.concurrency().is_some();
    // `object` batches are one event per request: the plain path.
    let batch = emission
        .profile
        .batch
        .filter(|b| b.format != generators::BatchFormat::Object);
    let per_request = u64::from(emission.profile.events_per_request());
    let mut buffers = Buffers {
        body: Vec::with_capacity(4096),
        head: Vec::with_capacity(512),
    };
    // A sender whose static headers name a User-Agent (GitHub's
    // `GitHub-Hookshot/…`) sends that one instead of hookstorm's.
    let own_agent = emission.profile.scheme.declared().is_some_and(|s| {
        s.static_headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
    });
    let base_head = request_head(&emission.target, !own_agent);
    let wall_start_us = ids.wall_start_us;
    // One timer per sender, moved forward before each request: extending a
    // registered timer is an atomic update, where a fresh `timeout()` per
    // request costs a timer-wheel insert and remove.
    let deadline = tokio::time::sleep_until(start + emission.timeout.min(FAR));
    tokio::pin!(deadline);
    // The clock is read three times per request: when the ticket is
    // claimed, at the send, and when the answer is in; the last one doubles
    // as "now" for releasing the next due tickets.
    let mut now = Instant::now();
    loop {
        if !closed_model {
            // Release what fell due since the pacer last woke: under load
            // the next ticket is taken here, with no wake-up.
            tickets.catch_up(
                emission
                    .schedule
                    .due_by(now.saturating_duration_since(start)),
            );
        }
        let Some(ticket) = tickets.next().await else {
            break;
        };
        let claimed = Instant::now();
        let intended = if closed_model {
            // A closed-model request is due when its sender claims it.
            claimed
        } else {
            start + emission.schedule.intended(ticket)
        };
        // A batching provider's ticket is a batch: events `ticket * n ..
        // ticket * n + n` of the pool, each with its own id, seq and
        // timestamp (verbatim records are whole requests already).
        let batch = batch.filter(|_| emission.pool.entry(ticket).verbatim_headers.is_none());
        let first = batch.map_or(ticket, |_| ticket.saturating_mul(per_request));
        let position = emission.pool.position(first);
        let entry = &emission.pool.entries()[position];
        // Wall time from the monotonic clock: one clock read fewer, and
        // timestamps that never step backwards within a run.
        let wall_us = wall_start_us + micros(claimed.saturating_duration_since(start)) as i64;
        let patch = generators::template::Patch {
            id: ids.id(first),
            seq: ids.seq(first),
            now_us: wall_us,
        };
        buffers.body.clear();
        match batch {
            None => entry.template.render_into(&patch, &mut buffers.body),
            Some(batch) => batch.write_with(per_request as usize, &mut buffers.body, |i, out| {
                let index = first + i as u64;
                let patch = generators::template::Patch {
                    id: ids.id(index),
                    seq: ids.seq(index),
                    now_us: wall_us,
                };
                emission.pool.entry(index).template.render_into(&patch, out);
            }),
        }
        buffers.head.clear();
        write_headers(
            &emission,
            entry.verbatim_headers.as_deref(),
            entry.type_index,
            // A batch's body does not start with its first event's prefix.
            prefixes
                .get(position)
                .and_then(Option::as_ref)
                .filter(|_| batch.is_none()),
            patch.id,
            wall_us.div_euclid(1_000_000),
            &mut buffers,
        );
        let sent = Instant::now();
        if sent.saturating_duration_since(intended) > LATE_AFTER {
            live.late.fetch_add(1, Ordering::Relaxed);
        }
        deadline.as_mut().reset(sent + emission.timeout.min(FAR));
        let mut hyper_body = Bytes::new();
        let slot = &in_flight[index];
        slot.begin(
            intended.saturating_duration_since(start),
            sent.saturating_duration_since(start),
            entry.type_index,
        );
        let outcome = match (&mut link, addr) {
            (Link::Wire(conn), Some(addr)) => {
                let parts = [&base_head[..], &buffers.head, &buffers.body];
                send_wire(conn, addr, &parts, emission.max_body, deadline.as_mut()).await
            }
            (Link::Hyper(conn), _) => {
                send_hyper(
                    &emission,
                    conn,
                    &buffers,
                    deadline.as_mut(),
                    &mut hyper_body,
                )
                .await
            }
            (Link::Wire(_), None) => Outcome::Error(ErrorKind::Other),
        };
        let done = Instant::now();
        now = done;
        let failed = match outcome {
            Outcome::Status(code) => !emission.profile.success.is_success(code),
            Outcome::Error(_) => true,
        };
        let sample = Sample {
            type_index: entry.type_index,
            latency_us: micros(done.saturating_duration_since(intended)),
            service_us: micros(done.saturating_duration_since(sent)),
            outcome,
            at_ms: intended.saturating_duration_since(start).as_millis() as u64,
        };
        let mut stripe = live.stripe(index);
        stripe.record(&sample);
        // What a failing status said, once per code: the first body seen.
        if let (Outcome::Status(code @ 400..), true) = (outcome, failed) {
            if !stripe.has_excerpt(code) {
                let body: &[u8] = match &link {
                    Link::Wire(Some(conn)) => conn.body_start(),
                    Link::Hyper(_) => &hyper_body,
                    Link::Wire(None) => &[],
                };
                stripe.note_excerpt(code, body);
            }
        }
        drop(stripe);
        slot.end();
        live.completed.fetch_add(1, Ordering::Relaxed);
        if failed {
            live.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Longest per-request timeout a timer is armed for (a year: "never" for
/// any run, and far from `Instant` overflow).
const FAR: Duration = Duration::from_secs(86_400 * 365);

/// Runs `exchange` until it ends or `deadline` fires (`None`).
async fn before<T>(deadline: Pin<&mut Sleep>, exchange: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        // The exchange first: an answer that is in wins over a timer that
        // fired at the same wake-up.
        biased;
        out = exchange => Some(out),
        () = deadline => None,
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

/// `POST <path> HTTP/1.1`, `Host`, hookstorm's `User-Agent` (when
/// `user_agent`) and the URL's Basic credentials, if any: the part of every
/// request that never changes.
fn request_head(target: &Target, user_agent: bool) -> Vec<u8> {
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\n",
        target.path_and_query, target.authority
    );
    if user_agent {
        head.push_str(concat!(
            "User-Agent: hookstorm/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if let Some(credentials) = &target.credentials {
        head.push_str(&format!(
            "Authorization: {}\r\n",
            credentials.header_value()
        ));
    }
    head.into_bytes()
}

/// Headers a verbatim record may not dictate: the transport sets them.
fn transport_header(name: &str) -> bool {
    ["host", "content-length", "transfer-encoding", "connection"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Writes the content type, signature (or verbatim) headers, the type
/// header of a provider naming its types in one, the content length and
/// the blank line into `buffers.head`.
fn write_headers(
    emission: &Emission,
    verbatim: Option<&[(String, String)]>,
    type_index: u16,
    prefix: Option<&BodyPrefix>,
    id: u128,
    unix_secs: i64,
    buffers: &mut Buffers,
) {
    use std::io::Write as _;
    let head = &mut buffers.head;
    match (verbatim, &emission.signer) {
        (Some(headers), _) => {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                head.extend_from_slice(b"Content-Type: application/json\r\n");
            }
            // The URL's credentials replace a record's own Authorization.
            let replaced = |n: &str| {
                emission.target.credentials.is_some() && n.eq_ignore_ascii_case("authorization")
            };
            for (name, value) in headers
                .iter()
                .filter(|(n, _)| !transport_header(n) && !replaced(n))
            {
                let _ = write!(head, "{name}: {value}\r\n");
            }
        }
        (None, Some(signer)) => {
            head.extend_from_slice(b"Content-Type: application/json\r\n");
            let mut msg_id = [0u8; 36];
            let msg_id = if signer.uses_message_id() {
                message_id(id, &mut msg_id)
            } else {
                ""
            };
            signer.sign_resumed_into(prefix, &buffers.body, msg_id, unix_secs, head);
        }
        (None, None) => head.extend_from_slice(b"Content-Type: application/json\r\n"),
    }
    // A verbatim record carries its own type header, if any.
    if let (None, Some(name)) = (verbatim, emission.profile.type_header()) {
        let type_name = &emission.pool.type_names[usize::from(type_index)];
        let _ = write!(head, "{name}: {type_name}\r\n");
    }
    head.extend_from_slice(b"Content-Length: ");
    generators::template::push_i64(head, buffers.body.len() as i64);
    head.extend_from_slice(b"\r\n\r\n");
}

/// `msg_<32 hex>` (as `generators::message_id`) without allocating.
fn message_id(id: u128, buf: &mut [u8; 36]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf[..4].copy_from_slice(b"msg_");
    for i in 0..32 {
        buf[4 + i] = HEX[((id >> (124 - 4 * i)) & 0xF) as usize];
    }
    // Only ASCII was written.
    std::str::from_utf8(buf).unwrap_or("msg_")
}

async fn send_wire(
    conn: &mut Option<wire::Conn>,
    addr: SocketAddr,
    parts: &[&[u8]],
    max_body: u64,
    deadline: Pin<&mut Sleep>,
) -> Outcome {
    let exchange = async {
        let c = match conn {
            Some(c) if c.is_reusable() => c,
            _ => conn.insert(wire::Conn::connect(addr).await?),
        };
        c.exchange_parts(parts, max_body).await
    };
    match before(deadline, exchange).await {
        Some(Ok(answer)) => Outcome::Status(answer.status),
        Some(Err(err)) => Outcome::Error(err.kind()),
        None => {
            // The exchange was cut mid-way: the connection's state is unknown.
            *conn = None;
            Outcome::Error(ErrorKind::Timeout)
        }
    }
}

async fn send_hyper(
    emission: &Emission,
    conn: &mut Option<Connection>,
    buffers: &Buffers,
    deadline: Pin<&mut Sleep>,
    answer_body: &mut Bytes,
) -> Outcome {
    let headers = header_pairs(&buffers.head);
    let body = Bytes::copy_from_slice(&buffers.body);
    let exchange = async {
        let usable = match conn {
            Some(Connection::Http1(s)) => !s.is_closed(),
            Some(Connection::Http2(s)) => !s.is_closed(),
            None => false,
        };
        if !usable {
            *conn = Some(emission.client.connect(&emission.target).await?);
        }
        match conn {
            Some(c) => {
                emission
                    .client
                    .request(c, &emission.target, "POST", &headers, body)
                    .await
            }
            None => Err(crate::client::SendError {
                kind: ErrorKind::Connect,
                detail: "no connection".into(),
            }),
        }
    };
    match before(deadline, exchange).await {
        Some(Ok((status, _, body))) => {
            *answer_body = body;
            Outcome::Status(status)
        }
        Some(Err(err)) => {
            *conn = None;
            Outcome::Error(err.kind)
        }
        None => {
            *conn = None;
            Outcome::Error(ErrorKind::Timeout)
        }
    }
}

/// The `Name: value` lines of a built head, minus Content-Length (hyper
/// sets it from the body).
fn header_pairs(head: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .filter_map(|line| line.split_once(": "))
        .filter(|(n, _)| !transport_header(n))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_go_on_the_wire_as_basic_auth_not_in_host() {
        let head = |url: &str| {
            String::from_utf8(request_head(&Target::parse(url).unwrap(), true)).unwrap()
        };
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            head("http://u:pw@h:1/x?q"),
            format!(
                "POST /x?q HTTP/1.1\r\nHost: h:1\r\nUser-Agent: hookstorm/{version}\r\n\
                 Authorization: Basic dTpwdw==\r\n"
            )
        );
        assert_eq!(
            head("http://h:1/x"),
            format!("POST /x HTTP/1.1\r\nHost: h:1\r\nUser-Agent: hookstorm/{version}\r\n")
        );
        // A sender sending its own User-Agent gets no second one.
        let bare = request_head(&Target::parse("http://h:1/x").unwrap(), false);
        assert_eq!(bare, b"POST /x HTTP/1.1\r\nHost: h:1\r\n");
    }

    #[test]
    fn shard_parses_and_rejects() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 1, count: 3 }));
        assert_eq!(Shard::parse("3/3").map(Shard::one_based), Ok((3, 3)));
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("a/2").is_err());
        assert!(Shard::parse("2").is_err());
    }

    #[test]
    fn shard_id_and_seq_spaces_are_disjoint() {
        let now = crate::clock::now();
        let a = Ids::new(1, Shard { index: 0, count: 3 }, now);
        let b = Ids::new(
            1,
            Shard { index: 1, count: 3 },
            now + Duration::from_micros(7),
        );
        let c = Ids::new(
            2,
            Shard { index: 2, count: 3 },
            now + Duration::from_millis(3),
        );
        let mut seqs = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for t in 0..1000 {
            for s in [a, b, c] {
                assert!(seqs.insert(s.seq(t)));
                assert!(ids.insert(s.id(t)));
            }
        }
        // Each shard's seq increases.
        assert!(a.seq(1) > a.seq(0));
    }

    #[test]
    fn a_request_in_flight_is_cancelled_with_its_latency_so_far() {
        let slot = InFlight::default();
        assert_eq!(slot.cancelled(5_000), None);
        slot.begin(Duration::from_millis(2), Duration::from_millis(3), 7);
        assert_eq!(
            slot.cancelled(10_000),
            Some(Sample {
                type_index: 7,
                latency_us: 8_000,
                service_us: 7_000,
                outcome: Outcome::Error(ErrorKind::Cancelled),
                at_ms: 2,
            })
        );
        slot.end();
        assert_eq!(slot.cancelled(10_000), None);
        // Due at the very start is still in flight.
        slot.begin(Duration::ZERO, Duration::ZERO, 0);
        assert!(slot.cancelled(1).is_some());
    }

    #[test]
    fn message_id_matches_the_generators_format() {
        let mut buf = [0u8; 36];
        let id = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        assert_eq!(message_id(id, &mut buf), generators::message_id(id));
    }

    #[test]
    fn header_pairs_drop_transport_headers() {
        let pairs = header_pairs(
            b"Content-Type: application/json\r\nx-sig: abc\r\nContent-Length: 2\r\n\r\n",
        );
        assert_eq!(
            pairs,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("x-sig".to_string(), "abc".to_string())
            ]
        );
    }
}
