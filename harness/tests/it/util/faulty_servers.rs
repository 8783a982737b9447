//! Loopback HTTP/1.1 servers for the load tests and the hostile-receiver
//! matrix, each wrong (or right) in one precise way: hangs, resets,
//! refuses, answers garbage, drips its answer a byte at a time, answers
//! 1 GiB, answers shorter than its Content-Length, answers 404, answers
//! slowly, stalls once, verifies every signature, or records every request.
//! Each binds 127.0.0.1:0 and runs on the test's runtime; dropping the
//! runtime stops it.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use generators::{Profile, Secret};

use harness::clock::now_unix_ms as now_ms;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// One request as a server read it.
pub struct Request {
    /// Header name (lowercase) and value pairs.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Request {
    /// Header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// Reads one request (head + Content-Length body); `None` at end of stream.
pub async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(len)) = req.parse(buf) {
            let headers: Vec<(String, String)> = req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let cl: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < len + cl {
                let mut chunk = [0u8; 16 * 1024];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[len..len + cl].to_vec();
            buf.drain(..len + cl);
            return Some(Request { headers, body });
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Binds a loopback listener and serves each connection with `serve`.
async fn listen<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

/// Reads requests and never answers (connections stay open).
pub async fn hanging() -> SocketAddr {
    listen(|mut s| async move {
        let mut buf = Vec::new();
        while read_request(&mut s, &mut buf).await.is_some() {}
    })
    .await
}

/// Reads a request, then resets the connection (SO_LINGER 0 → RST).
pub async fn resetting() -> SocketAddr {
    listen(|mut s| async move {
        let mut buf = Vec::new();
        let _ = read_request(&mut s, &mut buf).await;
        // Linger 0 makes the close an RST. tokio deprecates set_linger
        // because a positive linger blocks on drop; zero never blocks.
        #[allow(deprecated)]
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s);
    })
    .await
}

/// A port nothing listens on (bound, then closed).
pub async fn refusing() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr
}

/// Answers every request with a 1 GiB chunked body, streamed in 64 KiB
/// chunks from one reused buffer (never materialised).
pub async fn huge() -> SocketAddr {
    listen(|mut s| async move {
        let mut buf = Vec::new();
        let chunk = vec![b'x'; 64 * 1024];
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(&chunk);
        framed.extend_from_slice(b"\r\n");
        while read_request(&mut s, &mut buf).await.is_some() {
            if s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
            for _ in 0..(1usize << 30) / chunk.len() {
                if s.write_all(&framed).await.is_err() {
                    return;
                }
            }
            if s.write_all(b"0\r\n\r\n").await.is_err() {
                return;
            }
        }
    })
    .await
}

/// Answers every request with bytes that are not HTTP, then closes.
pub async fn garbage() -> SocketAddr {
    listen(|mut s| async move {
        let mut buf = Vec::new();
        if read_request(&mut s, &mut buf).await.is_some() {
            let _ = s
                .write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe not http at all\r\n\r\n")
                .await;
        }
    })
    .await
}

/// Answers every request one byte every `interval`, with a header that
/// never ends: always making progress, never complete (a timeout counted
/// per read would never fire). Stops after an hour of bytes or when the
/// client goes.
pub async fn dripping(interval: Duration) -> SocketAddr {
    listen(move |mut s| async move {
        let mut buf = Vec::new();
        if read_request(&mut s, &mut buf).await.is_none() {
            return;
        }
        let head = b"HTTP/1.1 200 OK\r\nX-Drip: ";
        let bytes = head.iter().copied().chain(std::iter::repeat(b'.'));
        let limit = (3600 * 1000 / interval.as_millis().max(1)) as usize;
        for byte in bytes.take(limit) {
            if s.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    })
    .await
}

/// Answers every request with `Content-Length: 1000` and a 2-byte body,
/// then closes.
pub async fn short_content_length() -> SocketAddr {
    listen(|mut s| async move {
        let mut buf = Vec::new();
        if read_request(&mut s, &mut buf).await.is_some() {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{}")
                .await;
        }
    })
    .await
}

/// Answers every request, on any path, 404 with a short body.
pub async fn not_found() -> SocketAddr {
    listen(|mut s| async move {
        let mut buf = Vec::new();
        while read_request(&mut s, &mut buf).await.is_some() {
            let answer = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\
                Content-Length: 9\r\n\r\nnot found";
            if s.write_all(answer).await.is_err() {
                return;
            }
        }
    })
    .await
}

/// Every request an [`echoing`] server read, head and body, as text.
pub type Recorded = Arc<Mutex<String>>;

/// Answers 200 to everything with the request's headers and body as a
/// JSON body and its Authorization in `x-echo-authorization` (as debugging
/// endpoints do), and keeps each request's headers and body (as
/// text: the canary test looks for secrets in what the receiver got).
pub async fn echoing() -> (SocketAddr, Recorded) {
    let recorded = Recorded::default();
    let shared = recorded.clone();
    let addr = listen(move |mut s| {
        let recorded = shared.clone();
        async move {
            let mut buf = Vec::new();
            while let Some(req) = read_request(&mut s, &mut buf).await {
                let echo: String = req
                    .headers
                    .iter()
                    .map(|(name, value)| format!("{name}: {value}\n"))
                    .collect();
                {
                    let mut text = recorded.lock().unwrap();
                    text.push_str(&echo);
                    text.push_str(&String::from_utf8_lossy(&req.body));
                    text.push_str("\n\n");
                }
                // As JSON, the way debugging endpoints echo, so a check that
                // reads the answer (a blocking hook's decision) quotes it;
                // the Authorization value also comes back in a header.
                let headers: serde_json::Map<String, serde_json::Value> = req
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
                    .collect();
                let body = serde_json::json!({
                    "headers": headers,
                    "body": String::from_utf8_lossy(&req.body),
                })
                .to_string();
                let authorization = req.header("authorization").unwrap_or_default();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     x-echo-authorization: {authorization}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if s.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    (addr, recorded)
}

/// Answers 204 after `delay`.
pub async fn slow(delay: Duration) -> SocketAddr {
    listen(move |mut s| async move {
        let mut buf = Vec::new();
        while read_request(&mut s, &mut buf).await.is_some() {
            tokio::time::sleep(delay).await;
            if s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
        }
    })
    .await
}

/// A single-threaded receiver: answers 204 to one request at a time, each
/// after `work`, and records the most requests it ever had in flight
/// (read but not yet answered, across connections).
pub async fn serial(work: Duration) -> (SocketAddr, Arc<AtomicU64>) {
    let in_flight = Arc::new(AtomicU64::new(0));
    let most = Arc::new(AtomicU64::new(0));
    let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
    let seen = most.clone();
    let addr = listen(move |mut s| {
        let (in_flight, most, one_at_a_time) =
            (in_flight.clone(), seen.clone(), one_at_a_time.clone());
        async move {
            let mut buf = Vec::new();
            while read_request(&mut s, &mut buf).await.is_some() {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                {
                    let _worker = one_at_a_time.lock().await;
                    tokio::time::sleep(work).await;
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                if s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    })
    .await;
    (addr, most)
}

/// A 204 sink that counts requests and, once `stall_after` has passed since
/// its first request, stalls every answer until one `stall` has elapsed.
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests answered.
    pub count: Arc<AtomicU64>,
}

/// Starts a [`Sink`]; `stall` = `Some((after, length))` stalls once.
pub async fn sink(stall: Option<(Duration, Duration)>) -> Sink {
    let count = Arc::new(AtomicU64::new(0));
    let first: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let counted = count.clone();
    let addr = listen(move |mut s| {
        let count = counted.clone();
        let first = first.clone();
        async move {
            let mut buf = Vec::new();
            while read_request(&mut s, &mut buf).await.is_some() {
                if let Some((after, length)) = stall {
                    let start = *first.lock().unwrap().get_or_insert_with(Instant::now);
                    let (from, to) = (start + after, start + after + length);
                    let now = Instant::now();
                    if now >= from && now < to {
                        tokio::time::sleep_until(to).await;
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                if s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    })
    .await;
    Sink { addr, count }
}

/// What a verifying receiver saw.
#[derive(Default)]
pub struct Seen {
    /// Requests whose signature verified.
    pub verified: u64,
    /// Requests whose signature did not verify, with the reason.
    pub rejected: Vec<String>,
    /// Dedupe-key values seen (duplicates show as `duplicates`).
    pub ids: HashSet<String>,
    /// Requests whose dedupe key was already seen.
    pub duplicates: u64,
    /// Requests without a dedupe key.
    pub missing_id: u64,
}

/// A FusionAuth receiver that takes the JWT's `kid` as the hint RFC 7515
/// §4.1.4 says it is: an unknown `kid` is verified with its one secret
/// anyway. Otherwise correct: 204 when the signature holds, 401 when not.
pub async fn ignoring_kid(profile: Profile, secret: Secret) -> SocketAddr {
    use base64::Engine;
    let profile = Arc::new(profile);
    let secret = Arc::new(secret);
    listen(move |mut s| {
        let (profile, secret) = (profile.clone(), secret.clone());
        async move {
            let mut buf = Vec::new();
            while let Some(req) = read_request(&mut s, &mut buf).await {
                let now = now_ms() / 1000;
                let lookup = |name: &str| req.header(name);
                let mut result =
                    generators::sign::verify(&profile.scheme, &secret, &lookup, &req.body, now);
                if let (
                    Err(generators::sign::VerifyError::UnknownKey),
                    generators::Scheme::FusionauthJwt { header, alg, .. },
                ) = (&result, &profile.scheme)
                {
                    // Verify again under the kid the token names.
                    let kid = req
                        .header(header)
                        .and_then(|t| t.split('.').next().map(str::to_string))
                        .and_then(|h| {
                            base64::engine::general_purpose::URL_SAFE_NO_PAD
                                .decode(h)
                                .ok()
                        })
                        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
                        .and_then(|h| h.get("kid").and_then(|k| k.as_str()).map(str::to_string));
                    if let Some(kid) = kid {
                        let hinted = generators::Scheme::FusionauthJwt {
                            header: header.clone(),
                            alg: *alg,
                            kid,
                        };
                        result =
                            generators::sign::verify(&hinted, &secret, &lookup, &req.body, now);
                    }
                }
                let answer: &[u8] = if result.is_ok() {
                    b"HTTP/1.1 204 No Content\r\n\r\n"
                } else {
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
                };
                if s.write_all(answer).await.is_err() {
                    return;
                }
            }
        }
    })
    .await
}

/// A receiver that verifies every request's signature with
/// `generators::sign::verify` and collects the dedupe key of each; answers
/// 204 when the signature holds, 401 (with a JSON error body) when not.
pub async fn verifying(profile: Profile, secret: Secret) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let verdicts = Arc::new(Mutex::new(Seen::default()));
    let shared = verdicts.clone();
    let profile = Arc::new(profile);
    let secret = Arc::new(secret);
    let addr = listen(move |mut s| {
        let verdicts = shared.clone();
        let profile = profile.clone();
        let secret = secret.clone();
        async move {
            let mut buf = Vec::new();
            while let Some(req) = read_request(&mut s, &mut buf).await {
                let now = now_ms() / 1000;
                let lookup = |name: &str| req.header(name);
                let result =
                    generators::sign::verify(&profile.scheme, &secret, &lookup, &req.body, now);
                let id = match profile.dedupe_key.strip_prefix("header:") {
                    Some(h) => req.header(h),
                    None => serde_json::from_slice::<serde_json::Value>(&req.body)
                        .ok()
                        .and_then(|b| b.pointer(&profile.dedupe_key).map(|v| v.to_string())),
                };
                let ok = result.is_ok();
                {
                    let mut v = verdicts.lock().unwrap();
                    match result {
                        Ok(_) => v.verified += 1,
                        Err(e) => v.rejected.push(format!("{e:?}")),
                    }
                    match id {
                        Some(id) => {
                            if !v.ids.insert(id) {
                                v.duplicates += 1;
                            }
                        }
                        None => v.missing_id += 1,
                    }
                }
                let answer: &[u8] = if ok {
                    b"HTTP/1.1 204 No Content\r\n\r\n"
                } else {
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 29\r\n\r\n{\"error\":\"invalid signature\"}"
                };
                if s.write_all(answer).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    (addr, verdicts)
}

/// Resident set size of this process, KiB (from /proc/self/status).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
