//! Sink mode: a lean HTTP/1.1 server that answers `204 No Content` to every
//! request and checks nothing, the fixed point benchmarks measure senders
//! against (`hookstorm receiver --sink`, `bench/compare.sh`).
//!
//! It is written on `httparse` rather than hyper because a benchmark sink
//! is only useful while it is not the bottleneck: per request it parses one
//! head, skips the body without copying it, and answers with one write for
//! everything that arrived together (pipelined requests included). It is
//! still a correct HTTP/1.1 server for what senders do: `Content-Length`
//! and chunked request bodies (with trailers), `Expect: 100-continue`,
//! `Connection: close`, HTTP/1.0 without keep-alive, and a clear 4xx (then
//! close) for what it cannot parse.

use std::io;
use std::mem::MaybeUninit;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The read buffer; a request head must fit in it (as hyper's default).
const MAX_HEAD: usize = 64 * 1024;
/// Headers per request head.
const MAX_HEADERS: usize = 128;

const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";
const NO_CONTENT_KEEP_ALIVE: &[u8] = b"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n";
const NO_CONTENT_CLOSE: &[u8] = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const HEAD_TOO_LARGE: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The accept loop: one task per connection, all aborted on stop (a sink
/// has no work in flight worth waiting for). With `busy_poll`, one more
/// task keeps the runtime polling instead of sleeping (see [`spin`]).
pub(super) async fn serve(
    listener: TcpListener,
    mut stopped: watch::Receiver<bool>,
    busy_poll: bool,
) {
    let mut connections = JoinSet::new();
    if busy_poll {
        connections.spawn(spin());
    }
    let stop = async move {
        // The guard `wait_for` returns is not `Send`: drop it here.
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            stream = super::accept(&listener) => {
                connections.spawn(async move {
                    // A client hanging up mid-request is not an error a
                    // sink reports.
                    let _ = connection(stream).await;
                });
            }
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut stop => break,
        }
    }
    drop(listener);
    connections.shutdown().await;
}

/// Yields forever, so the runtime's worker never parks: with a task always
/// ready, it polls the socket driver with a zero timeout between tasks
/// instead of sleeping in `epoll_wait`. A sink on a core of its own then
/// never has to be woken, and a sender's write no longer pays for waking
/// it (on a VM a cross-core wake-up is an IPI and a halt exit, measured at
/// ~1 µs more kernel time per request on the sender's side and a doubled
/// p50 at 80,000 req/s). It costs that core entirely: benchmarks only.
async fn spin() {
    loop {
        tokio::task::yield_now().await;
    }
}

/// Where the parser is within the current request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for a request head.
    Head,
    /// Skipping this many body bytes.
    Body(u64),
    /// Waiting for a chunk-size line.
    ChunkSize,
    /// Skipping this many chunk bytes, then the CRLF after them.
    ChunkData(u64),
    /// Waiting for the CRLF that ends a chunk's data.
    ChunkEnd,
    /// Skipping trailer lines until the empty one.
    Trailers,
}

/// What the connection does after a complete request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    KeepAlive,
    /// An HTTP/1.0 client that asked to keep the connection: the answer
    /// must say `Connection: keep-alive`, or the client waits for a close.
    KeepAlive10,
    Close,
}

/// The parser of one connection: bytes in, answers out.
#[derive(Debug)]
struct Parser {
    state: State,
    after: After,
}

/// What [`Parser::feed`] decided.
#[derive(Debug, PartialEq, Eq)]
enum Fed {
    /// Needs more bytes; `usize` of the input were consumed.
    More(usize),
    /// Answer written and the connection must close after it.
    Close,
}

impl Parser {
    fn new() -> Parser {
        Parser {
            state: State::Head,
            after: After::KeepAlive,
        }
    }

    /// Consumes as many complete items of `input` as possible, appending
    /// the answers to `out`.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Fed {
        let mut at = 0;
        loop {
            let avail = &input[at..];
            match self.state {
                State::Head => {
                    // Uninitialised: zeroing 128 headers per request would
                    // cost more than parsing the few a request has.
                    let mut headers =
                        [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
                    let mut request = httparse::Request::new(&mut []);
                    let len = match request.parse_with_uninit_headers(avail, &mut headers) {
                        Ok(httparse::Status::Complete(len)) => len,
                        Ok(httparse::Status::Partial) => return Fed::More(at),
                        Err(_) => {
                            out.extend_from_slice(BAD_REQUEST);
                            return Fed::Close;
                        }
                    };
                    let Some(head) = Head::of(&request) else {
                        out.extend_from_slice(BAD_REQUEST);
                        return Fed::Close;
                    };
                    at += len;
                    self.after = head.after;
                    // Only ask for a body that is not already on its way.
                    if head.expect_continue && input.len() == at {
                        out.extend_from_slice(CONTINUE);
                    }
                    self.state = match head.body {
                        Body::None => {
                            if let Some(fed) = self.answer(out) {
                                return fed;
                            }
                            State::Head
                        }
                        Body::Length(n) => State::Body(n),
                        Body::Chunked => State::ChunkSize,
                    };
                }
                State::Body(remaining) => {
                    let (taken, left) = skip(remaining, avail);
                    at += taken;
                    if left > 0 {
                        self.state = State::Body(left);
                        return Fed::More(at);
                    }
                    self.state = State::Head;
                    if let Some(fed) = self.answer(out) {
                        return fed;
                    }
                }
                State::ChunkSize => match httparse::parse_chunk_size(avail) {
                    Ok(httparse::Status::Complete((len, 0))) => {
                        at += len;
                        self.state = State::Trailers;
                    }
                    Ok(httparse::Status::Complete((len, size))) => {
                        at += len;
                        self.state = State::ChunkData(size);
                    }
                    Ok(httparse::Status::Partial) => return Fed::More(at),
                    Err(_) => {
                        out.extend_from_slice(BAD_REQUEST);
                        return Fed::Close;
                    }
                },
                State::ChunkData(remaining) => {
                    let (taken, left) = skip(remaining, avail);
                    at += taken;
                    if left > 0 {
                        self.state = State::ChunkData(left);
                        return Fed::More(at);
                    }
                    self.state = State::ChunkEnd;
                }
                State::ChunkEnd => {
                    if avail.len() < 2 {
                        return Fed::More(at);
                    }
                    if &avail[..2] != b"\r\n" {
                        out.extend_from_slice(BAD_REQUEST);
                        return Fed::Close;
                    }
                    at += 2;
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    let Some(eol) = avail.windows(2).position(|w| w == b"\r\n") else {
                        return Fed::More(at);
                    };
                    at += eol + 2;
                    if eol == 0 {
                        self.state = State::Head;
                        if let Some(fed) = self.answer(out) {
                            return fed;
                        }
                    }
                }
            }
        }
    }

    /// Appends the answer to a complete request; `Some(Close)` when the
    /// connection ends with it.
    fn answer(&mut self, out: &mut Vec<u8>) -> Option<Fed> {
        match self.after {
            After::KeepAlive => {
                out.extend_from_slice(NO_CONTENT);
                None
            }
            After::KeepAlive10 => {
                out.extend_from_slice(NO_CONTENT_KEEP_ALIVE);
                None
            }
            After::Close => {
                out.extend_from_slice(NO_CONTENT_CLOSE);
                Some(Fed::Close)
            }
        }
    }
}

/// Skips up to `remaining` body bytes of `avail`: how many were taken and
/// how many are still to come.
fn skip(remaining: u64, avail: &[u8]) -> (usize, u64) {
    // Bounded by `avail.len()`, so the cast back to usize is lossless.
    let taken = remaining.min(avail.len() as u64);
    (taken as usize, remaining - taken)
}

/// How a request's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    None,
    Length(u64),
    Chunked,
}

/// What the sink needs from a request head.
#[derive(Debug)]
struct Head {
    body: Body,
    after: After,
    expect_continue: bool,
}

impl Head {
    /// `None` for heads RFC 9112 says to reject: a bad or repeated
    /// `Content-Length`, or one alongside `Transfer-Encoding`, or a
    /// transfer coding that does not end in chunked.
    fn of(request: &httparse::Request<'_, '_>) -> Option<Head> {
        let http10 = request.version == Some(0);
        let mut length: Option<u64> = None;
        let mut chunked = false;
        let mut transfer_encoding = false;
        let mut close = false;
        let mut keep_alive = false;
        let mut expect_continue = false;
        for h in request.headers.iter() {
            // Only the framing headers are decoded: other values may hold
            // any bytes (obs-text) and are none of a sink's business.
            let value = || std::str::from_utf8(h.value).ok().map(str::trim);
            if h.name.eq_ignore_ascii_case("content-length") {
                // 1*DIGIT: `u64::from_str` alone would also take "+5".
                let digits =
                    value().filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))?;
                let n: u64 = digits.parse().ok()?;
                if length.is_some_and(|m| m != n) {
                    return None;
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                transfer_encoding = true;
                chunked = value()?
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in value().unwrap_or_default().split(',').map(str::trim) {
                    close |= token.eq_ignore_ascii_case("close");
                    keep_alive |= token.eq_ignore_ascii_case("keep-alive");
                }
            } else if h.name.eq_ignore_ascii_case("expect") {
                expect_continue = value().is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
            }
        }
        let body = match (transfer_encoding, chunked, length) {
            (true, true, None) => Body::Chunked,
            (true, _, _) => return None,
            (false, _, Some(0) | None) => Body::None,
            (false, _, Some(n)) => Body::Length(n),
        };
        // RFC 9112 §6.1: a Transfer-Encoding in an HTTP/1.0 request makes
        // its framing suspect, so the connection closes after it.
        let after = match (close, http10, keep_alive, transfer_encoding) {
            (true, _, _, _) | (_, true, _, true) | (_, true, false, _) => After::Close,
            // HTTP/1.0 keeps the connection only when the answer says so.
            (false, true, true, false) => After::KeepAlive10,
            (false, false, _, _) => After::KeepAlive,
        };
        Some(Head {
            body,
            after,
            expect_continue: expect_continue && !http10,
        })
    }
}

/// Serves one connection until the client closes it or a request asks to.
async fn connection(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut out = Vec::with_capacity(1024);
    let (mut start, mut end) = (0, 0);
    let mut parser = Parser::new();
    loop {
        let n = stream.read(&mut buf[end..]).await?;
        if n == 0 {
            return Ok(());
        }
        end += n;
        let fed = parser.feed(&buf[start..end], &mut out);
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        match fed {
            Fed::Close => {
                linger(&mut stream, &mut buf).await;
                return Ok(());
            }
            Fed::More(used) => start += used,
        }
        if start == end {
            (start, end) = (0, 0);
        } else if end == buf.len() {
            if start == 0 {
                // One unfinished head (or chunk-size line) fills the buffer.
                stream.write_all(HEAD_TOO_LARGE).await?;
                linger(&mut stream, &mut buf).await;
                return Ok(());
            }
            buf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
        }
    }
}

/// Ends a connection the sink closes: sends FIN, then reads and discards
/// what the client still sends (bounded: [`LINGER_BYTES`], [`LINGER`]),
/// because closing with unread input makes the kernel send a reset that
/// can destroy the answer before the client reads it.
async fn linger(stream: &mut TcpStream, buf: &mut [u8]) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match stream.read(buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// At most this much input is drained from a connection being closed...
const LINGER_BYTES: usize = 16 * 1024 * 1024;
/// ...for at most this long.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` split at every position (as two reads would deliver
    /// it) and checks the answers are the same as for one read.
    fn answers(input: &[u8]) -> (Vec<u8>, bool) {
        let whole = run(&[input]);
        for cut in 1..input.len() {
            assert_eq!(
                run(&[&input[..cut], &input[cut..]]),
                whole,
                "split at {cut} differs"
            );
        }
        whole
    }

    /// Runs the parser over `reads` as `connection` does (unconsumed bytes
    /// carried over); returns the answers and whether it closed.
    fn run(reads: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut parser = Parser::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        for read in reads {
            pending.extend_from_slice(read);
            match parser.feed(&pending, &mut out) {
                Fed::Close => return (out, true),
                Fed::More(used) => {
                    pending.drain(..used);
                }
            }
        }
        (out, false)
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    }

    #[test]
    fn content_length_requests_keep_alive_and_pipeline() {
        let one = b"POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        let three = [&one[..], &one[..], &one[..]].concat();
        let (out, closed) = answers(&three);
        assert_eq!(out, [NO_CONTENT; 3].concat());
        assert!(!closed);
    }

    #[test]
    fn chunked_bodies_with_extensions_and_trailers_are_skipped() {
        let req = b"POST /h HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n\
            GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
        let (out, closed) = answers(req);
        assert_eq!(out, [NO_CONTENT; 2].concat());
        assert!(!closed);
    }

    #[test]
    fn other_header_values_may_hold_any_bytes() {
        let req = b"POST / HTTP/1.1\r\nX-Name: caf\xe9\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(answers(req), (NO_CONTENT.to_vec(), false));
    }

    #[test]
    fn connection_close_and_http10_end_the_connection() {
        let close = b"POST /h HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}\
            GET /never HTTP/1.1\r\n\r\n";
        assert_eq!(answers(close), (NO_CONTENT_CLOSE.to_vec(), true));
        let http10 = b"GET / HTTP/1.0\r\n\r\n";
        assert_eq!(answers(http10), (NO_CONTENT_CLOSE.to_vec(), true));
        let kept = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(answers(kept), (NO_CONTENT_KEEP_ALIVE.to_vec(), false));
        // HTTP/1.0 with a transfer coding: answered, then closed.
        let suspect = b"POST / HTTP/1.0\r\nConnection: keep-alive\r\n\
            Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(answers(suspect), (NO_CONTENT_CLOSE.to_vec(), true));
    }

    #[test]
    fn expect_continue_is_answered_before_the_body_only_when_it_is_awaited() {
        let head = b"POST /h HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(
            run(&[head, b"{}"]),
            ([CONTINUE, NO_CONTENT].concat(), false)
        );
        // Body already sent with the head: no interim answer.
        let whole = [&head[..], b"{}"].concat();
        assert_eq!(run(&[&whole]), (NO_CONTENT.to_vec(), false));
    }

    #[test]
    fn malformed_and_ambiguous_requests_get_400_and_close() {
        for bad in [
            &b"NOT HTTP\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX",
        ] {
            let (out, closed) = run(&[bad]);
            assert_eq!(count(&out, b"400 Bad Request"), 1, "{bad:?}");
            assert!(closed, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn serves_hookstorms_client_and_answers_431_to_huge_heads() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, stopped, false));

        let mut conn = crate::wire::Conn::connect(addr).await.unwrap();
        let body = vec![b'a'; 200_000];
        let request = [
            &b"POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n"[..],
            &body,
        ]
        .concat();
        for _ in 0..3 {
            let answer = conn.exchange(&request, 0).await.unwrap();
            assert_eq!(answer.status, 204);
            assert!(conn.is_reusable());
        }

        let mut raw = TcpStream::connect(addr).await.unwrap();
        let huge = format!(
            "GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n",
            "a".repeat(MAX_HEAD + 10)
        );
        // The server may close before reading all of it.
        let _ = raw.write_all(huge.as_bytes()).await;
        let mut got = Vec::new();
        let _ = raw.read_to_end(&mut got).await;
        assert!(got.starts_with(b"HTTP/1.1 431"), "{got:?}");

        stop.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), server)
            .await
            .expect("sink stops")
            .unwrap();
    }
}
