//! Load emitter tests against real loopback servers: faults are counted as
//! the right error kind while the rate holds, memory stays bounded and runs
//! end on time; latency is coordinated-omission free; every request is a
//! unique, correctly signed event; shard reports merge to the union; the
//! lean HTTP/1.1 path reads hyper's and Python's answers correctly.
//!
//! Every server binds 127.0.0.1:0; every run is bounded in count and time.
//! Wall-time bounds below are liveness bounds (the run ends), not speed
//! assertions.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use generators::template::MemberOrder;
use generators::{Catalog, Provider, ProviderId, Secret, Signer};
use harness::client::{Client, ClientOptions};
use harness::emitter::{self, Emission, Run};
use harness::pool::Pool;
use harness::schedule::{Arrival, Schedule};
use harness::shard::Shard;
use harness::target::Target;
use harness::traffic::Traffic;
use harness::wire::{Conn, ResponseSummary};
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use reports::{ErrorKind, LoadSection, Report, RunInfo};

use crate::util::faulty_servers;
use crate::util::process::{first_line, KillOnDrop};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A plan against `addr` with a small generated pool of `provider` events.
#[allow(clippy::too_many_arguments)]
fn plan(
    provider: ProviderId,
    addr: SocketAddr,
    arrival: Arrival,
    duration: Option<Duration>,
    requests: Option<u64>,
    connections: usize,
    timeout: Duration,
    shard: Shard,
) -> Emission {
    plan_with(
        provider,
        &format!("http://{addr}/hooks"),
        false,
        arrival,
        duration,
        requests,
        connections,
        timeout,
        shard,
    )
}

#[allow(clippy::too_many_arguments)]
fn plan_with(
    provider: ProviderId,
    url: &str,
    http2: bool,
    arrival: Arrival,
    duration: Option<Duration>,
    requests: Option<u64>,
    connections: usize,
    timeout: Duration,
    shard: Shard,
) -> Emission {
    let profile = provider.profile();
    let types: Vec<_> = Catalog::builtin()
        .of_provider_name(provider.name())
        .into_iter()
        .take(4)
        .map(|t| (t, 1.0))
        .collect();
    let pool = Pool::generate(
        &Provider::builtin(provider),
        &types,
        11,
        1_700_000_000_000,
        32,
        MemberOrder::SlotsLast,
    )
    .expect("pool");
    let target = Target::parse(url).expect("target");
    let client = Client::new(ClientOptions {
        http2,
        max_response_bytes: 1 << 20,
        ..ClientOptions::default()
    })
    .expect("client");
    let traffic = Traffic {
        fast_path: !target.https && !http2,
        target,
        client,
        signer: Some(Signer::new(&profile.scheme, &Secret::new(SECRET.into())).expect("signer")),
        provider: Provider::builtin(provider),
        pool,
        busy_poll: false,
        timeout,
        max_body: 1 << 20,
        seed: 5,
    };
    Emission {
        traffic: Arc::new(traffic),
        schedule: Schedule::new(&arrival, duration, requests, shard.share()).expect("schedule"),
        connections,
        shard,
    }
}

async fn run(plan: Emission) -> Run {
    emitter::run(Arc::new(plan), std::future::pending::<()>())
        .await
        .expect("run")
}

fn error_count(run: &Run, kind: ErrorKind) -> u64 {
    run.stats
        .error_kinds()
        .find(|(k, _)| *k == kind)
        .map_or(0, |(_, n)| n)
}

fn status_count(run: &Run, status: u16) -> u64 {
    run.stats
        .statuses()
        .find(|(s, _)| *s == status)
        .map_or(0, |(_, n)| n)
}

/// Runs 100/s for 2 s (per-request `timeout`) against `addr` and checks:
/// every request ended as
/// `kind`, the rate held (≥ 90 % of the 200 scheduled were sent), the run
/// ended within its liveness bound and RSS grew less than 64 MiB.
async fn fault_case(addr: SocketAddr, kind: ErrorKind, timeout: Duration) -> Run {
    let rss_before = faulty_servers::rss_kib();
    let started = Instant::now();
    let run = run(plan(
        ProviderId::Authgear,
        addr,
        Arrival::Open { rate: 100.0 },
        Some(Duration::from_secs(2)),
        None,
        64,
        timeout,
        Shard::WHOLE,
    ))
    .await;
    let wall = started.elapsed();
    let sent = run.stats.requests();
    assert!(sent >= 180, "{kind:?}: only {sent} of 200 requests sent");
    assert_eq!(
        error_count(&run, kind),
        sent,
        "{kind:?}: {:?}",
        run.stats.error_kinds().collect::<Vec<_>>()
    );
    assert!(
        wall < Duration::from_secs(2 + 5),
        "{kind:?}: run took {wall:?}"
    );
    let grown = faulty_servers::rss_kib().saturating_sub(rss_before);
    assert!(grown < 64 * 1024, "{kind:?}: RSS grew {grown} KiB");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_server_counts_timeouts_and_keeps_the_rate() {
    let run = fault_case(
        faulty_servers::hanging().await,
        ErrorKind::Timeout,
        Duration::from_millis(300),
    )
    .await;
    // Service time of a timed-out request is the timeout.
    assert!(run.stats.service().value_at_quantile(0.5) >= 290_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resetting_server_counts_resets() {
    fault_case(
        faulty_servers::resetting().await,
        ErrorKind::Reset,
        Duration::from_secs(2),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_port_counts_connect_errors() {
    fault_case(
        faulty_servers::refusing().await,
        ErrorKind::Connect,
        Duration::from_secs(2),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gigabyte_answers_are_cut_at_the_body_limit() {
    // Reading 1 MiB before the cut takes a while in a debug build on a busy
    // machine: the timeout leaves room so the cut, not the clock, ends it.
    fault_case(
        faulty_servers::huge().await,
        ErrorKind::BodyTooLarge,
        Duration::from_secs(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_server_is_measured_not_failed() {
    let addr = faulty_servers::slow(Duration::from_millis(200)).await;
    let started = Instant::now();
    let run = run(plan(
        ProviderId::Authgear,
        addr,
        Arrival::Open { rate: 100.0 },
        Some(Duration::from_secs(2)),
        None,
        64,
        Duration::from_secs(1),
        Shard::WHOLE,
    ))
    .await;
    assert!(started.elapsed() < Duration::from_secs(7));
    let sent = run.stats.requests();
    assert!(sent >= 180, "{sent}");
    assert_eq!(status_count(&run, 204), sent);
    assert_eq!(run.stats.errors(), 0);
    assert!(run.stats.service().value_at_quantile(0.5) >= 199_000);
    // 64 connections cover 100/s × 0.2 s in flight: the rate is kept
    // (`sent` above); lateness is not asserted, it depends on machine load.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_counts_from_the_intended_time() {
    // 200/s for 3 s over 4 connections; the sink stalls every answer for
    // 1 s once, starting 1 s in. Requests scheduled during the stall wait
    // for a connection: their latency must show the wait, while service
    // time (from the actual send) stays small for all but the few requests
    // caught in flight.
    let sink = faulty_servers::sink(Some((Duration::from_secs(1), Duration::from_secs(1)))).await;
    let run = run(plan(
        ProviderId::Authgear,
        sink.addr,
        Arrival::Open { rate: 200.0 },
        Some(Duration::from_secs(3)),
        None,
        4,
        Duration::from_secs(5),
        Shard::WHOLE,
    ))
    .await;
    let latency = run.stats.latency();
    let service = run.stats.service();
    assert!(latency.max() >= 900_000, "max latency {}", latency.max());
    let slow = latency.count_between(500_000, u64::MAX);
    assert!(slow >= 50, "only {slow} requests above 500 ms");
    assert!(
        service.value_at_quantile(0.90) < 100_000,
        "service p90 {}",
        service.value_at_quantile(0.90)
    );
    // The stall made the emitter late: it says so.
    assert!(run.stats.missed() > 0);
    // The generator's own hiccups were measured all along, and they do not
    // take the receiver's stall for one of the load machine's.
    let hiccups = run.stats.hiccups();
    assert!(
        hiccups.len() >= 100,
        "{} hiccup samples in 3 s",
        hiccups.len()
    );
    assert!(hiccups.max() < 900_000, "hiccup max {}", hiccups.max());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_unique_and_correctly_signed() {
    for provider in [
        ProviderId::Authgear,
        ProviderId::Fusionauth,
        ProviderId::Infrahub,
        ProviderId::StandardWebhooks,
        ProviderId::Auth0,
    ] {
        let profile = provider.profile();
        let (addr, verdicts) = faulty_servers::verifying(profile, Secret::new(SECRET.into())).await;
        let run = run(plan(
            provider,
            addr,
            Arrival::Closed { concurrency: 8 },
            None,
            Some(300),
            8,
            Duration::from_secs(5),
            Shard::WHOLE,
        ))
        .await;
        assert_eq!(run.stats.requests(), 300, "{provider}");
        assert_eq!(status_count(&run, 204), 300, "{provider}");
        let v = verdicts.lock().unwrap();
        assert_eq!(
            v.verified,
            300,
            "{provider}: {:?}",
            &v.rejected[..v.rejected.len().min(3)]
        );
        if provider != ProviderId::Auth0 {
            // Auth0's dedupe key (`transaction.id`) is optional in its schema;
            // every other provider's key is in every event.
            assert_eq!(v.missing_id, 0, "{provider}");
        }
        assert_eq!(v.duplicates, 0, "{provider}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_reports_merge_to_the_union() {
    let (addr, verdicts) =
        faulty_servers::verifying(ProviderId::Authgear.profile(), Secret::new(SECRET.into())).await;
    let mut reports = Vec::new();
    let mut handles = Vec::new();
    for k in 0..3 {
        let shard = Shard { index: k, count: 3 };
        let plan = plan(
            ProviderId::Authgear,
            addr,
            Arrival::Open { rate: 300.0 },
            Some(Duration::from_secs(1)),
            None,
            16,
            Duration::from_secs(2),
            shard,
        );
        handles.push(tokio::spawn(async move { (shard, run(plan).await) }));
    }
    let mut sent = 0;
    for h in handles {
        let (shard, run) = h.await.unwrap();
        assert_eq!(
            run.stats.requests(),
            100,
            "each shard sends 1/3 of 300/s × 1 s"
        );
        sent += run.stats.requests();
        let mut report = Report::new(RunInfo {
            command: "load".into(),
            provider_file: None,
            provider: "authgear".into(),
            target: format!("http://{addr}/hooks"),
            seed: 5,
            shard: Some(shard.one_based()),
            scenario: None,
            interrupted: None,
        });
        report.load = Some(LoadSection {
            model: "open 100/s".into(),
            requested_rate: run.stats.target_rate(),
            duration_ms: run.elapsed.as_millis() as u64,
            stats: run.stats,
        });
        reports.push(report);
    }
    let merged = reports::merge(&reports).expect("merge");
    let stats = &merged.load.as_ref().unwrap().stats;
    assert_eq!(stats.requests(), sent);
    assert_eq!(stats.statuses().collect::<Vec<_>>(), vec![(204, 300)]);
    let per_type: u64 = stats.types().map(|(_, t)| t.requests).sum();
    assert_eq!(per_type, 300);
    // The union at the receiver: 300 distinct events, none shared by two shards.
    let v = verdicts.lock().unwrap();
    assert_eq!(v.verified, 300);
    assert_eq!(v.ids.len(), 300);
    assert_eq!(v.duplicates, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_run_and_keeps_the_partial_result() {
    let sink = faulty_servers::sink(None).await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let plan = plan(
        ProviderId::Authgear,
        sink.addr,
        Arrival::Open { rate: 200.0 },
        Some(Duration::from_secs(30)),
        None,
        8,
        Duration::from_secs(5),
        Shard::WHOLE,
    );
    let started = Instant::now();
    let task = tokio::spawn(emitter::run(Arc::new(plan), async move {
        let _ = rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(500)).await;
    tx.send(()).unwrap();
    let run = task.await.unwrap().unwrap();
    assert!(run.interrupted);
    assert!(started.elapsed() < Duration::from_secs(5));
    let sent = run.stats.requests();
    assert!(
        (50..=150).contains(&sent),
        "{sent} requests in ~0.5 s at 200/s"
    );
    assert_eq!(status_count(&run, 204), sent);
}

/// Requests in flight when a run is stopped are not lost: whatever is
/// still unanswered after the shutdown grace is recorded as cancelled (the
/// issue saw "requests 0, error rate 0.0 %" against a hanging target).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_counts_requests_in_flight_as_cancelled() {
    let addr = faulty_servers::hanging().await;
    let plan = plan(
        ProviderId::Authgear,
        addr,
        Arrival::Open { rate: 100.0 },
        Some(Duration::from_secs(30)),
        None,
        4,
        Duration::from_secs(20),
        Shard::WHOLE,
    );
    let started = Instant::now();
    let run = emitter::run(
        Arc::new(plan),
        tokio::time::sleep(Duration::from_millis(500)),
    )
    .await
    .expect("interrupted run");
    assert!(run.interrupted);
    // The grace, not the 20 s request timeout, bounds the stop.
    assert!(started.elapsed() < Duration::from_secs(10));
    let kinds: Vec<(ErrorKind, u64)> = run.stats.error_kinds().collect();
    assert_eq!(run.stats.requests(), 4, "one per connection: {kinds:?}");
    assert_eq!(kinds, vec![(ErrorKind::Cancelled, 4)]);
    assert_eq!(run.stats.error_rate(), 1.0);
    let per_type: u64 = run.stats.types().map(|(_, t)| t.failures).sum();
    assert_eq!(per_type, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramp_and_closed_models_send_what_they_schedule() {
    let sink = faulty_servers::sink(None).await;
    let ramp = Arrival::Ramp {
        start: 0.0,
        stages: vec![harness::schedule::Stage {
            duration: Duration::from_secs(1),
            target: 200.0,
        }],
    };
    let run1 = run(plan(
        ProviderId::Authgear,
        sink.addr,
        ramp,
        None,
        None,
        8,
        Duration::from_secs(2),
        Shard::WHOLE,
    ))
    .await;
    assert_eq!(run1.stats.requests(), 100);
    let run2 = run(plan(
        ProviderId::Authgear,
        sink.addr,
        Arrival::Closed { concurrency: 4 },
        None,
        Some(250),
        4,
        Duration::from_secs(2),
        Shard::WHOLE,
    ))
    .await;
    assert_eq!(run2.stats.requests(), 250);
    assert_eq!(sink.count.load(std::sync::atomic::Ordering::Relaxed), 350);
}

// Current-thread runtime, as `--threads 1`: the spinning task must leave
// the senders, the sink and the shutdown future their turns.
#[tokio::test]
async fn busy_polling_sends_what_it_schedules_and_stops() {
    let sink = faulty_servers::sink(None).await;
    let busy = |arrival, duration, requests| {
        let mut plan = plan(
            ProviderId::Authgear,
            sink.addr,
            arrival,
            duration,
            requests,
            8,
            Duration::from_secs(2),
            Shard::WHOLE,
        );
        Arc::get_mut(&mut plan.traffic).expect("unshared").busy_poll = true;
        Arc::new(plan)
    };
    let open = busy(
        Arrival::Open { rate: 500.0 },
        Some(Duration::from_secs(1)),
        None,
    );
    let started = Instant::now();
    let run1 = emitter::run(open, std::future::pending::<()>())
        .await
        .expect("open run");
    assert_eq!(run1.stats.requests(), 500);
    assert_eq!(status_count(&run1, 204), 500);
    // Liveness, not speed: the spinning run ends by itself.
    assert!(started.elapsed() < Duration::from_secs(10));
    let closed = busy(Arrival::Closed { concurrency: 4 }, None, Some(250));
    let run2 = emitter::run(closed, std::future::pending::<()>())
        .await
        .expect("closed run");
    assert_eq!(status_count(&run2, 204), 250);
    // A long run stopped after 300 ms: the spinner does not starve the
    // shutdown future, and the partial result is kept.
    let long = busy(
        Arrival::Open { rate: 200.0 },
        Some(Duration::from_secs(30)),
        None,
    );
    let started = Instant::now();
    let run3 = emitter::run(long, tokio::time::sleep(Duration::from_millis(300)))
        .await
        .expect("interrupted run");
    assert!(run3.interrupted);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        (20..=120).contains(&run3.stats.requests()),
        "{}",
        run3.stats.requests()
    );
    assert_eq!(
        sink.count.load(std::sync::atomic::Ordering::Relaxed),
        750 + run3.stats.requests()
    );
}

/// A hyper HTTP/1.1 + HTTP/2 server with one route per framing.
async fn hyper_server(http2: bool) -> SocketAddr {
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(async move {
                let service = service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let path = req.uri().path().to_string();
                    let _ = req.into_body().collect().await;
                    type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;
                    let full = |s: &'static str| -> Body {
                        Full::new(Bytes::from_static(s.as_bytes())).boxed()
                    };
                    let resp: Response<Body> = match path.as_str() {
                        "/chunked" => Response::new(ThreeChunks(3).boxed()),
                        "/close" => Response::builder()
                            .header("connection", "close")
                            .body(full("bye"))
                            .unwrap(),
                        "/big" => {
                            Response::new(Full::new(Bytes::from(vec![b'x'; 2 << 20])).boxed())
                        }
                        _ => Response::builder().status(201).body(full("hello")).unwrap(),
                    };
                    Ok::<_, Infallible>(resp)
                });
                if http2 {
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(io, service)
                    .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                }
            });
        }
    });
    addr
}

/// A body of three 4-byte frames with no length known up front, so hyper
/// must send it chunked.
struct ThreeChunks(u8);

impl hyper::body::Body for ThreeChunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(None);
        }
        self.0 -= 1;
        std::task::Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"abcd")))))
    }
}

fn request(path: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}").into_bytes()
}

/// Drives the wire client through every route of a server and checks framing.
async fn wire_routes(addr: SocketAddr, chunked_len: u64) {
    let mut c = Conn::connect(addr).await.unwrap();
    assert_eq!(
        c.exchange(&request("/"), 1 << 20).await.unwrap(),
        ResponseSummary {
            status: 201,
            body_len: 5
        }
    );
    assert!(c.is_reusable());
    assert_eq!(
        c.exchange(&request("/chunked"), 1 << 20).await.unwrap(),
        ResponseSummary {
            status: 200,
            body_len: chunked_len
        }
    );
    assert!(c.is_reusable());
    assert_eq!(
        c.exchange(&request("/"), 1 << 20).await.unwrap().status,
        201
    );
    assert_eq!(
        c.exchange(&request("/close"), 1 << 20).await.unwrap(),
        ResponseSummary {
            status: 200,
            body_len: 3
        }
    );
    assert!(
        !c.is_reusable(),
        "Connection: close must retire the connection"
    );
    let mut c = Conn::connect(addr).await.unwrap();
    let err = c.exchange(&request("/big"), 1 << 20).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
    assert!(!c.is_reusable());
    // A fresh connection after the cut works.
    let mut c = Conn::connect(addr).await.unwrap();
    assert_eq!(
        c.exchange(&request("/"), 1 << 20).await.unwrap().status,
        201
    );
}

#[tokio::test]
async fn wire_reads_hyper_answers() {
    wire_routes(hyper_server(false).await, 12).await;
}

/// A Python stdlib HTTP/1.1 server with the same routes plus a 100-continue
/// interim answer; prints its port on its first line.
const PY_SERVER: &str = r#"
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0")); self.rfile.read(n)
        if self.path == "/chunked":
            self.send_response_only(100); self.end_headers()
            self.send_response(200); self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            for part in (b"hello", b" ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Done: 1\r\n\r\n")
        elif self.path == "/close":
            self.send_response(200); self.send_header("Content-Length", "3"); self.send_header("Connection", "close"); self.end_headers()
            self.wfile.write(b"bye"); self.close_connection = True
        elif self.path == "/big":
            self.send_response(200); self.send_header("Content-Length", str(2 << 20)); self.end_headers()
            try:
                self.wfile.write(b"x" * (2 << 20))
            except OSError:
                pass
        else:
            self.send_response(201); self.send_header("Content-Length", "5"); self.end_headers(); self.wfile.write(b"hello")
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

#[tokio::test]
async fn wire_reads_python_answers() {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PY_SERVER)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is installed");
    let port: u16 = first_line(&mut child).parse().expect("port");
    let server = KillOnDrop(child);
    wire_routes(SocketAddr::from(([127, 0, 0, 1], port)), 11).await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_goes_through_hyper() {
    let addr = hyper_server(true).await;
    let run = run(plan_with(
        ProviderId::Authgear,
        &format!("http://{addr}/"),
        true,
        Arrival::Closed { concurrency: 4 },
        None,
        Some(100),
        4,
        Duration::from_secs(2),
        Shard::WHOLE,
    ))
    .await;
    assert_eq!(status_count(&run, 201), 100);
}

#[test]
fn ids_do_not_repeat_across_runs() {
    // Two runs of the same seed must not send the same ids (a receiver that
    // remembers would see duplicates): ids mix in the start time.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seen: Vec<HashSet<String>> = (0..2)
        .map(|_| {
            rt.block_on(async {
                let (addr, verdicts) = faulty_servers::verifying(
                    ProviderId::Authgear.profile(),
                    Secret::new(SECRET.into()),
                )
                .await;
                let _ = run(plan(
                    ProviderId::Authgear,
                    addr,
                    Arrival::Closed { concurrency: 2 },
                    None,
                    Some(20),
                    2,
                    Duration::from_secs(2),
                    Shard::WHOLE,
                ))
                .await;
                let ids = verdicts.lock().unwrap().ids.clone();
                ids
            })
        })
        .collect();
    assert_eq!(seen[0].len(), 20);
    assert!(seen[0].is_disjoint(&seen[1]));
}

/// Runs the `hookstorm` binary with `secret` in `HOOKSTORM_LOAD_TEST_SECRET`
/// (bounded in time).
async fn binary(args: &[&str], secret: &str) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(crate::util::process::HOOKSTORM);
    cmd.args(args)
        .args(["--secret-env", "HOOKSTORM_LOAD_TEST_SECRET"])
        .env("HOOKSTORM_LOAD_TEST_SECRET", secret)
        .env("CI", "true");
    crate::util::process::output_within(cmd, Duration::from_secs(60), &format!("{args:?}")).await
}

/// A load with no threshold in which nothing was delivered (a wrong secret:
/// every answer 401) says so, shows the status code, and exits 1; with the
/// right secret the same run passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_that_delivers_nothing_fails_without_thresholds() {
    let (addr, _) =
        faulty_servers::verifying(ProviderId::Authgear.profile(), Secret::new(SECRET.into())).await;
    let url = format!("http://{addr}/hooks");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let args = [
        "load",
        "-p",
        "authgear",
        "-t",
        &url,
        "--concurrency",
        "2",
        "--requests",
        "20",
        "--quiet",
        "--out",
        &dir,
    ];
    let wrong = binary(&args, "whsec_not-the-receivers-secret").await;
    let text = crate::util::process::transcript(&wrong);
    assert_eq!(wrong.status.code(), Some(1), "{text}");
    assert!(
        text.contains("no request was delivered: all 20 failed"),
        "{text}"
    );
    let status = crate::util::process::stdout(&wrong)
        .lines()
        .find(|l| l.starts_with("status"))
        .map(str::to_string)
        .unwrap_or_default();
    assert_eq!(
        status.split_whitespace().collect::<Vec<_>>(),
        ["status", "401", "20"],
        "{text}"
    );
    assert!(text.contains("verdict     FAIL"), "{text}");
    // What the 401 said, under the status line.
    assert!(
        text.contains(r#"            401: {"error":"invalid signature"}"#),
        "{text}"
    );
    let report =
        Report::from_json(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert!(!report.passed());
    let stats = &report.load.as_ref().unwrap().stats;
    assert_eq!(stats.excerpt(401), Some(r#"{"error":"invalid signature"}"#));

    let right = binary(&args, SECRET).await;
    let text = crate::util::process::transcript(&right);
    assert_eq!(right.status.code(), Some(0), "{text}");
    assert!(!text.contains("no request was delivered"), "{text}");
}

/// `load` and `capacity` probe the target before sending: a refused port is
/// a usage error naming the reason, with nothing sent and no report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_and_capacity_refuse_an_unreachable_target_before_sending() {
    let addr = faulty_servers::refusing().await;
    let url = format!("http://{addr}/hooks");
    for command in [
        vec![
            "load", "-p", "authgear", "-t", &url, "--rate", "50", "-d", "1s",
        ],
        vec![
            "capacity",
            "-p",
            "authgear",
            "-t",
            &url,
            "--slo",
            "p99<1s",
            "--step-duration",
            "1s",
            "--max-time",
            "2s",
        ],
    ] {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("r").display().to_string();
        let mut args = command.clone();
        args.extend(["--quiet", "--out", &dir]);
        let o = binary(&args, SECRET).await;
        let text = crate::util::process::transcript(&o);
        assert_eq!(o.status.code(), Some(2), "{command:?}: {text}");
        assert!(text.contains("the connection was refused"), "{text}");
        assert!(text.contains("nothing was sent"), "{text}");
        assert!(!out.path().join("r/report.json").exists(), "{text}");
    }
    let o = binary(
        &[
            "load",
            "-p",
            "authgear",
            "-t",
            "http://no-such-host.invalid/hooks",
            "--rate",
            "5",
            "-d",
            "1s",
        ],
        SECRET,
    )
    .await;
    let text = crate::util::process::transcript(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("does not resolve (DNS"), "{text}");
}

/// Zero senders, a zero duration and more connections than the process may
/// open are refused before anything is built or sent, each with a hint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_senders_and_connections_beyond_the_descriptor_limit_are_refused() {
    let addr = faulty_servers::refusing().await;
    let url = format!("http://{addr}/hooks");
    let refused = |extra: Vec<String>, expect: &'static str| {
        let mut args: Vec<String> = ["load", "-p", "authgear", "-t", url.as_str(), "--quiet"]
            .map(String::from)
            .into();
        args.extend(extra);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = binary(&args, SECRET).await;
            let text = crate::util::process::transcript(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {text}");
            assert!(text.contains(expect), "{args:?}: {text}");
        }
    };
    let words = |w: &str| w.split(' ').map(String::from).collect::<Vec<_>>();
    refused(
        words("--concurrency 0 -n 10"),
        "--concurrency must be at least 1",
    )
    .await;
    refused(
        words("--concurrency 0 -n 10 --shard 1/2"),
        "--concurrency must be at least 1",
    )
    .await;
    refused(words("--rate 10 -d 0s"), "--duration must be above 0").await;
    // A mix that weighs every type 0 selects none (it read as "every type").
    let dir = tempfile::tempdir().unwrap();
    let mix = dir.path().join("mix.txt");
    std::fs::write(&mix, "user.created: 0\n").unwrap();
    let mut args = words("--rate 10 -d 1s --mix");
    args.push(mix.display().to_string());
    refused(args, "gives no event type a weight above 0").await;
    if let Some((_, hard)) = harness::rlimit::open_files().filter(|(_, h)| *h < 10_000_000) {
        let too_many = words(&format!("--rate 10 -d 1s --connections {}", hard + 1));
        refused(too_many, "RLIMIT_NOFILE").await;
    }
}

/// `--events` lines must be events of the provider: an array, `{}` or
/// another provider's event is refused before sending (exit 2, the line
/// named); `--verbatim` sends anything, with a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_are_not_the_providers_are_refused_unless_verbatim() {
    let (addr, seen) =
        faulty_servers::verifying(ProviderId::Authgear.profile(), Secret::new(SECRET.into())).await;
    let url = format!("http://{addr}/hooks");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let file_arg = file.display().to_string();
    let args = [
        "load",
        "-p",
        "authgear",
        "-t",
        &url,
        "--events",
        &file_arg,
        "--concurrency",
        "1",
        "--requests",
        "3",
        "--quiet",
    ];
    for (text, expect) in [
        ("[1,2,3]\n", "--events line 1: it is a JSON array"),
        (
            "{\"id\":\"a\",\"type\":\"user.created\"}\n{}\n",
            "--events line 2: it has no event type",
        ),
        (
            "{\"event\":{\"type\":\"user.create\",\"id\":\"x\"}}\n",
            "not a authgear event",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let o = binary(&args, SECRET).await;
        let out = crate::util::process::transcript(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {out}");
        assert!(out.contains(expect), "{text}: {out}");
    }
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.verified + seen.rejected.len() as u64,
            0,
            "nothing was sent"
        );
    }
    std::fs::write(&file, "[1,2,3]\n").unwrap();
    let mut verbatim = args.to_vec();
    verbatim.push("--verbatim");
    let o = binary(&verbatim, SECRET).await;
    let out = crate::util::process::transcript(&o);
    assert!(
        out.contains("warning: --verbatim sends every --events line"),
        "{out}"
    );
    // Sent as they are: unsigned arrays are refused by the receiver, so
    // nothing is delivered.
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert_eq!(seen.lock().unwrap().rejected.len(), 3, "{out}");
}
