//! The emitter: the one send loop every load model runs through.
//!
//! An [`Emission`] (a [`Traffic`] with a schedule, connections and shard)
//! is run by [`run`]: connections are opened before the clock starts,
//! tickets are released as they fall due (by the [`Pacer`] thread, or by a
//! connection that finds one due when it finishes a request), and each
//! connection's `Sender` claims a ticket, patches the next pooled event
//! with a fresh id/seq/timestamp, re-signs it (resuming from the event's
//! constant prefix, absorbed before the clock starts, where the scheme
//! hashes the body first), sends it, and records a [`Sample`] whose
//! latency counts from the ticket's *intended* time (coordinated-omission
//! free) and whose service time counts from the actual send. Plain
//! HTTP/1.1 uses the lean [`wire`] path; HTTPS and HTTP/2 use hyper via
//! [`client`](crate::client). Shutdown is a future argument (a signal in
//! the CLI, a oneshot in tests); a stopped run still returns what it
//! measured, the requests still unanswered after a short grace counted as
//! [`ErrorKind::Cancelled`].
//!
//! What a run measures lives in [`measure`](crate::measure), how a request
//! is put into bytes in [`framing`](crate::framing).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use generators::{splitmix64, Batch, BodyPrefix};
use reports::{ErrorKind, LoadStats, Outcome, Recorder, Sample};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::client::Connection;
use crate::framing::{header_pairs, request_head, write_headers, Buffers};
use crate::measure::{micros, stripes, InFlight, Measurements};
use crate::pacer::{Pacer, Tickets};
use crate::schedule::Schedule;
use crate::shard::Shard;
use crate::target::Target;
use crate::traffic::Traffic;
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

/// What one load run sends, where and when: the emitter's whole input.
#[derive(Debug)]
pub struct Emission {
    /// What is sent and where (shared by every step of a capacity search).
    pub traffic: Arc<Traffic>,
    /// When each request is due.
    pub schedule: Schedule,
    /// Connections (open model); the closed model uses one per sender.
    pub connections: usize,
    /// Which part of a sharded run this is.
    pub shard: Shard,
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
        &emission.traffic.pool.type_names,
        stripes(),
        Some(emission.schedule.end()),
    ));
    run_observed(emission, live, shutdown).await
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

/// Runs `emission`, recording into `live` (which a progress display may read).
pub async fn run_observed(
    emission: Arc<Emission>,
    live: Arc<Measurements>,
    shutdown: impl Future,
) -> Result<Run> {
    let traffic = &emission.traffic;
    let addr = if traffic.fast_path {
        Some(resolve(&traffic.target).await?)
    } else {
        None
    };
    let senders = emission.senders();
    // Open connections before the clock starts; a failure here is not fatal:
    // the sender retries per request and counts what happens.
    let mut connecting = JoinSet::new();
    for i in 0..senders {
        let emission = emission.clone();
        connecting.spawn(async move { (i, open(&emission.traffic, addr).await) });
    }
    let mut links: Vec<Option<Link>> = (0..senders).map(|_| None).collect();
    while let Some(joined) = connecting.join_next().await {
        if let Ok((i, link)) = joined {
            links[i] = Some(link);
        }
    }
    let prefixes = Arc::new(absorb_prefixes(traffic));
    let tickets = Arc::new(Tickets::new(emission.schedule.total()));
    let started_wall = crate::clock::now();
    let ids = Ids::new(traffic.seed, emission.shard, started_wall);
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
        !traffic.busy_poll,
    )
    .context("cannot start the pacer thread")?;
    let spinner = traffic.busy_poll.then(|| {
        tokio::spawn(crate::pacer::spin(
            emission.schedule.clone(),
            start,
            tickets.clone(),
        ))
    });
    let in_flight: Arc<[InFlight]> = (0..senders).map(|_| InFlight::default()).collect();
    let sender = Sender {
        emission: emission.clone(),
        prefixes,
        live: live.clone(),
        tickets: tickets.clone(),
        in_flight: in_flight.clone(),
        index: 0,
        addr,
        start,
        ids,
    };
    let mut workers = JoinSet::new();
    for (index, link) in links.into_iter().enumerate() {
        let link = link.unwrap_or(if traffic.fast_path {
            Link::Wire(None)
        } else {
            Link::Hyper(None)
        });
        workers.spawn(
            Sender {
                index,
                ..sender.clone()
            }
            .run(link),
        );
    }
    drop(sender);

    tokio::pin!(shutdown);
    let mut stopped_at: Option<Instant> = None;
    let far = start + Duration::from_secs(86_400 * 365);
    loop {
        let grace_end = stopped_at.map_or(far, |t| t + SHUTDOWN_GRACE.min(traffic.timeout));
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
            live.count_completed(true);
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
    let verbatim = traffic
        .pool
        .entries()
        .iter()
        .any(|e| e.verbatim_headers.is_some());
    let profile = traffic.provider.profile();
    if profile.batch.is_some() && !verbatim {
        let per_request = u64::from(profile.events_per_request());
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
fn absorb_prefixes(traffic: &Traffic) -> Vec<Option<BodyPrefix>> {
    traffic
        .pool
        .entries()
        .iter()
        .map(|entry| match (&traffic.signer, &entry.verbatim_headers) {
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

async fn open(traffic: &Traffic, addr: Option<SocketAddr>) -> Link {
    let limit = traffic.timeout.min(Duration::from_secs(5));
    match addr {
        Some(addr) => Link::Wire(
            tokio::time::timeout(limit, wire::Conn::connect(addr))
                .await
                .ok()
                .and_then(Result::ok),
        ),
        None => Link::Hyper(
            tokio::time::timeout(limit, traffic.client.connect(&traffic.target))
                .await
                .ok()
                .and_then(Result::ok),
        ),
    }
}

/// One sender and what it shares with the others: claims tickets until
/// none are left, one request at a time, over its own connection.
#[derive(Clone)]
struct Sender {
    emission: Arc<Emission>,
    /// Each pooled entry's signing state after its constant prefix.
    prefixes: Arc<Vec<Option<BodyPrefix>>>,
    live: Arc<Measurements>,
    tickets: Arc<Tickets>,
    /// One slot per sender; this one's is `in_flight[index]`.
    in_flight: Arc<[InFlight]>,
    /// This sender's number, `0..senders` (its slot and recorder stripe).
    index: usize,
    /// The resolved target, on the lean HTTP/1.1 path.
    addr: Option<SocketAddr>,
    /// The run's clock start.
    start: Instant,
    ids: Ids,
}

impl Sender {
    /// Sends over `link` until the tickets run out or are closed.
    async fn run(self, mut link: Link) {
        let (emission, live, tickets) = (&*self.emission, &*self.live, &*self.tickets);
        let (index, addr, start) = (self.index, self.addr, self.start);
        let traffic = &*emission.traffic;
        let profile = traffic.provider.profile();
        let closed_model = emission.schedule.concurrency().is_some();
        // `object` batches are one event per request: the plain path.
        let batch = profile
            .batch
            .filter(|b| b.format != generators::BatchFormat::Object);
        let per_request = u64::from(profile.events_per_request());
        let mut buffers = Buffers::new();
        // A sender whose static headers name a User-Agent (GitHub's
        // `GitHub-Hookshot/…`) sends that one instead of hookstorm's.
        let own_agent = profile.scheme.declared().is_some_and(|s| {
            s.static_headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
        });
        let base_head = request_head(&traffic.target, !own_agent);
        // One timer per sender, moved forward before each request: extending a
        // registered timer is an atomic update, where a fresh `timeout()` per
        // request costs a timer-wheel insert and remove.
        let deadline = tokio::time::sleep_until(start + traffic.timeout.min(FAR));
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
            let type_index = self.frame(ticket, claimed, batch, per_request, &mut buffers);
            let sent = Instant::now();
            if sent.saturating_duration_since(intended) > LATE_AFTER {
                live.count_late();
            }
            deadline.as_mut().reset(sent + traffic.timeout.min(FAR));
            let mut hyper_body = Bytes::new();
            let slot = &self.in_flight[index];
            slot.begin(
                intended.saturating_duration_since(start),
                sent.saturating_duration_since(start),
                type_index,
            );
            let outcome = match (&mut link, addr) {
                (Link::Wire(conn), Some(addr)) => {
                    let parts = [&base_head[..], &buffers.head, &buffers.body];
                    send_wire(conn, addr, &parts, traffic.max_body, deadline.as_mut()).await
                }
                (Link::Hyper(conn), _) => {
                    send_hyper(traffic, conn, &buffers, deadline.as_mut(), &mut hyper_body).await
                }
                (Link::Wire(_), None) => Outcome::Error(ErrorKind::Other),
            };
            let done = Instant::now();
            now = done;
            let failed = match outcome {
                Outcome::Status(code) => !profile.success.is_success(code),
                Outcome::Error(_) => true,
            };
            let sample = Sample {
                type_index,
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
            live.count_completed(failed);
        }
    }

    /// Puts the request of `ticket`, claimed at `claimed`, into `buffers`:
    /// the pooled event (or `batch` of `per_request` events) patched with
    /// fresh ids, seq and timestamp, and its headers, signed. Returns the
    /// event type's index.
    fn frame(
        &self,
        ticket: u64,
        claimed: Instant,
        batch: Option<Batch>,
        per_request: u64,
        buffers: &mut Buffers,
    ) -> u16 {
        let traffic = &*self.emission.traffic;
        let ids = self.ids;
        // A batching provider's ticket is a batch: events `ticket * n ..
        // ticket * n + n` of the pool, each with its own id, seq and
        // timestamp (verbatim records are whole requests already).
        let batch = batch.filter(|_| traffic.pool.entry(ticket).verbatim_headers.is_none());
        let first = batch.map_or(ticket, |_| ticket.saturating_mul(per_request));
        let position = traffic.pool.position(first);
        let entry = &traffic.pool.entries()[position];
        // Wall time from the monotonic clock: one clock read fewer, and
        // timestamps that never step backwards within a run.
        let wall_us =
            ids.wall_start_us + micros(claimed.saturating_duration_since(self.start)) as i64;
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
                traffic.pool.entry(index).template.render_into(&patch, out);
            }),
        }
        buffers.head.clear();
        write_headers(
            traffic,
            entry.verbatim_headers.as_deref(),
            entry.type_index,
            // A batch's body does not start with its first event's prefix.
            self.prefixes
                .get(position)
                .and_then(Option::as_ref)
                .filter(|_| batch.is_none()),
            patch.id,
            wall_us.div_euclid(1_000_000),
            buffers,
        );
        entry.type_index
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
    traffic: &Traffic,
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
            *conn = Some(traffic.client.connect(&traffic.target).await?);
        }
        match conn {
            Some(c) => {
                traffic
                    .client
                    .request(c, &traffic.target, "POST", &headers, body)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
