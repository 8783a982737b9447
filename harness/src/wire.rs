//! The lean HTTP/1.1 fast path: one keep-alive connection over a tokio
//! `TcpStream` that writes a pre-built request and reads the answer with
//! `httparse`, discarding the body while counting it.
//!
//! hyper costs 4–9 µs of CPU per request on this workload; this path costs
//! about 2 µs, so plain-HTTP load is bounded by the receiver, not by us.
//! It is still a correct client: Content-Length and chunked bodies,
//! read-until-close bodies, `Connection: close`, 1xx interim answers,
//! a response body limit, and no pipelining (one request in flight; any
//! bytes the peer sends beyond the answer make the connection unusable).
//! TLS and HTTP/2 go through hyper (`client.rs`).

use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::SocketAddr;

use reports::ErrorKind;
use tokio::io::{AsyncReadExt, Interest};
use tokio::net::TcpStream;

/// Largest response head (status line and headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Initial read buffer size: a typical answer fits in one read.
const INITIAL_BUF: usize = 8 * 1024;
/// Most headers one response may carry.
const MAX_HEADERS: usize = 96;
/// Request parts written with one vectored write.
const MAX_PARTS: usize = 4;
/// Body bytes kept of a failing answer (see [`Conn::body_start`]): as many
/// as a report keeps.
const EXCERPT: usize = reports::stats::EXCERPT_BYTES;

/// Why an exchange produced no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The TCP connection could not be established.
    #[error("connect failed: {0}")]
    Connect(#[source] io::Error),
    /// The peer reset or closed the connection before the answer ended.
    #[error("connection reset or closed by the peer")]
    Reset,
    /// The peer sent something that is not a valid HTTP/1.x answer.
    #[error("invalid HTTP answer: {detail}")]
    Protocol {
        /// What was wrong.
        detail: &'static str,
    },
    /// The answer's body is larger than the limit.
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Another I/O error.
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
}

impl WireError {
    /// The report's error kind of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            WireError::Connect(_) => ErrorKind::Connect,
            WireError::Reset => ErrorKind::Reset,
            WireError::Protocol { .. } => ErrorKind::Protocol,
            WireError::BodyTooLarge { .. } => ErrorKind::BodyTooLarge,
            WireError::Io(_) => ErrorKind::Other,
        }
    }

    fn from_io(err: io::Error) -> WireError {
        use io::ErrorKind as K;
        match err.kind() {
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                WireError::Reset
            }
            _ => WireError::Io(err),
        }
    }
}

/// What the load path keeps of a response: its status and body length.
/// The body is counted and discarded as it arrives, never buffered; the
/// checks, which need headers and body, use
/// [`client::Response`](crate::client::Response) instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseSummary {
    /// Final (non-1xx) status code.
    pub status: u16,
    /// Body bytes received (after de-chunking).
    pub body_len: u64,
}

/// Read buffer with a consumed prefix, so parsing never copies on the
/// common path.
struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    fn new() -> ReadBuf {
        ReadBuf {
            data: vec![0; INITIAL_BUF],
            start: 0,
            end: 0,
        }
    }

    fn avail(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Reads more bytes; `Ok(0)` is end of stream. Grows the buffer (up to
    /// [`MAX_HEAD`]) only when a single unparsed item fills it.
    async fn fill(&mut self, stream: &mut TcpStream) -> Result<usize, WireError> {
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.data.len() < MAX_HEAD {
                let len = (self.data.len() * 2).min(MAX_HEAD);
                self.data.resize(len, 0);
            } else {
                return Err(WireError::Protocol {
                    detail: "response head or chunk header too large",
                });
            }
        }
        let n = stream
            .read(&mut self.data[self.end..])
            .await
            .map_err(WireError::from_io)?;
        self.end += n;
        Ok(n)
    }
}

/// Writes every byte of `parts`, in order, with vectored writes (one
/// syscall for a whole request on loopback; partial writes resume where
/// they stopped).
async fn write_all_parts(stream: &mut TcpStream, parts: &[&[u8]]) -> std::io::Result<()> {
    let mut part = 0;
    let mut offset = 0;
    loop {
        // Skip exhausted (or empty) parts; done when none is left.
        while part < parts.len() && parts[part].len() == offset {
            part += 1;
            offset = 0;
        }
        if part == parts.len() {
            return Ok(());
        }
        let slices: [IoSlice<'_>; MAX_PARTS] = std::array::from_fn(|i| {
            let j = part + i;
            match parts.get(j) {
                Some(p) if i == 0 => IoSlice::new(&p[offset..]),
                Some(p) => IoSlice::new(p),
                None => IoSlice::new(&[]),
            }
        });
        let used = (parts.len() - part).min(MAX_PARTS);
        let mut n = send_vectored(stream, &slices[..used]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        // Advance past what was written.
        while n > 0 && part < parts.len() {
            let left = parts[part].len() - offset;
            if n >= left {
                n -= left;
                part += 1;
                offset = 0;
            } else {
                offset += n;
                n = 0;
            }
        }
    }
}

/// One `sendmsg(2)` of `bufs` once the socket is writable. The same bytes
/// as `write_vectored` (`writev(2)`), but straight into the socket layer:
/// `writev` goes through the VFS first (file position lock, iterator
/// checks), which measured 0.3–0.5 µs more kernel time per request on
/// loopback (2-core VM, 5 s closed-model runs against the sink).
/// `MSG_NOSIGNAL`: a peer that closed gives `EPIPE`, not SIGPIPE.
async fn send_vectored(stream: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    loop {
        stream.writable().await?;
        match stream.try_io(Interest::WRITABLE, || {
            socket2::SockRef::from(stream).send_vectored(bufs)
        }) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            done => return done,
        }
    }
}

/// How the body of an answer is delimited.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// One HTTP/1.1 connection used for one request at a time.
pub struct Conn {
    stream: TcpStream,
    buf: ReadBuf,
    reusable: bool,
    /// The start of the last answer's body when its status is >= 400 (what
    /// a 401 said), copied from bytes already read; empty otherwise.
    /// Allocated once per connection.
    excerpt: Vec<u8>,
}

impl Conn {
    /// Opens a connection to `addr` (Nagle off: requests are written whole).
    pub async fn connect(addr: SocketAddr) -> Result<Conn, WireError> {
        let stream = TcpStream::connect(addr).await.map_err(WireError::Connect)?;
        // Failing to disable Nagle only costs latency; not a reason to fail.
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: ReadBuf::new(),
            reusable: true,
            excerpt: Vec::with_capacity(EXCERPT),
        })
    }

    /// The start of the last answer's body, when its status was >= 400 and
    /// the body was delimited by length or by close (empty otherwise).
    pub fn body_start(&self) -> &[u8] {
        &self.excerpt
    }

    /// Whether another request may be sent on this connection. False after
    /// `Connection: close`, a read-until-close body, an error, or stray bytes.
    pub fn is_reusable(&self) -> bool {
        self.reusable
    }

    /// Writes `request` (a complete HTTP/1.1 request) and reads the answer,
    /// discarding up to `max_body` body bytes. On any error the connection
    /// is left unusable; cancelling the future (a timeout) leaves it in an
    /// unknown state, so callers drop it then.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        max_body: u64,
    ) -> Result<ResponseSummary, WireError> {
        self.exchange_parts(&[request], max_body).await
    }

    /// As [`exchange`](Self::exchange), with the request given as parts
    /// written in order with one vectored write (no copy into one buffer).
    pub async fn exchange_parts(
        &mut self,
        parts: &[&[u8]],
        max_body: u64,
    ) -> Result<ResponseSummary, WireError> {
        let result = self.exchange_inner(parts, max_body).await;
        if result.is_err() {
            self.reusable = false;
        }
        result
    }

    async fn exchange_inner(
        &mut self,
        parts: &[&[u8]],
        max_body: u64,
    ) -> Result<ResponseSummary, WireError> {
        if !self.reusable {
            return Err(WireError::Reset);
        }
        // Bytes the peer sent while no request was outstanding mean it does
        // not speak request/response with us; never mistake them for this
        // request's answer.
        self.buf.clear();
        write_all_parts(&mut self.stream, parts)
            .await
            .map_err(WireError::from_io)?;
        let (status, framing) = self.read_head().await?;
        self.excerpt.clear();
        if status >= 400 {
            // Only what arrived with the head: never a read for it.
            let cap = match framing {
                Framing::Length(n) => n.min(EXCERPT as u64) as usize,
                Framing::UntilClose => EXCERPT,
                Framing::None | Framing::Chunked => 0,
            };
            let avail = self.buf.avail();
            self.excerpt
                .extend_from_slice(&avail[..avail.len().min(cap)]);
        }
        let body_len = match framing {
            Framing::None => 0,
            Framing::Length(n) => {
                if n > max_body {
                    return Err(WireError::BodyTooLarge { limit: max_body });
                }
                self.skip_exact(n).await?;
                n
            }
            Framing::Chunked => self.skip_chunked(max_body).await?,
            Framing::UntilClose => {
                self.reusable = false;
                self.skip_to_close(max_body).await?
            }
        };
        if !self.buf.avail().is_empty() {
            self.reusable = false;
        }
        Ok(ResponseSummary { status, body_len })
    }

    /// Reads the final response head, skipping 1xx interim answers.
    async fn read_head(&mut self) -> Result<(u16, Framing), WireError> {
        loop {
            let parsed = {
                // Uninitialised: zeroing 96 headers per response would cost
                // more than parsing the few a response has.
                let mut headers =
                    [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
                let mut response = httparse::Response::new(&mut []);
                match httparse::ParserConfig::default().parse_response_with_uninit_headers(
                    &mut response,
                    self.buf.avail(),
                    &mut headers,
                ) {
                    Ok(httparse::Status::Complete(len)) => {
                        let status = response.code.unwrap_or(0);
                        let version = response.version.unwrap_or(1);
                        Some((
                            len,
                            status,
                            head_framing(status, version, response.headers)?,
                        ))
                    }
                    Ok(httparse::Status::Partial) => None,
                    Err(httparse::Error::TooManyHeaders) => {
                        return Err(WireError::Protocol {
                            detail: "too many response headers",
                        })
                    }
                    Err(_) => {
                        return Err(WireError::Protocol {
                            detail: "malformed status line or header",
                        })
                    }
                }
            };
            match parsed {
                Some((len, status, _)) if (100..200).contains(&status) => {
                    if status == 101 {
                        return Err(WireError::Protocol {
                            detail: "unrequested protocol switch (101)",
                        });
                    }
                    self.buf.consume(len);
                }
                Some((len, status, (framing, keep_alive))) => {
                    self.buf.consume(len);
                    if !keep_alive {
                        self.reusable = false;
                    }
                    return Ok((status, framing));
                }
                None => {
                    if self.buf.fill(&mut self.stream).await? == 0 {
                        return Err(WireError::Reset);
                    }
                }
            }
        }
    }

    /// Discards exactly `n` body bytes.
    async fn skip_exact(&mut self, mut n: u64) -> Result<(), WireError> {
        loop {
            let have = self.buf.avail().len() as u64;
            let take = have.min(n);
            self.buf.consume(take as usize);
            n -= take;
            if n == 0 {
                return Ok(());
            }
            if self.buf.fill(&mut self.stream).await? == 0 {
                return Err(WireError::Reset);
            }
        }
    }

    /// Discards a chunked body (with trailers), failing once it exceeds `max_body`.
    async fn skip_chunked(&mut self, max_body: u64) -> Result<u64, WireError> {
        let mut total: u64 = 0;
        loop {
            let size = loop {
                match httparse::parse_chunk_size(self.buf.avail()) {
                    Ok(httparse::Status::Complete((len, size))) => {
                        self.buf.consume(len);
                        break size;
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.buf.fill(&mut self.stream).await? == 0 {
                            return Err(WireError::Reset);
                        }
                    }
                    Err(_) => {
                        return Err(WireError::Protocol {
                            detail: "invalid chunk size",
                        })
                    }
                }
            };
            if size == 0 {
                self.skip_trailers().await?;
                return Ok(total);
            }
            total = total.saturating_add(size);
            if total > max_body {
                return Err(WireError::BodyTooLarge { limit: max_body });
            }
            self.skip_exact(size).await?;
            self.expect_crlf().await?;
        }
    }

    async fn expect_crlf(&mut self) -> Result<(), WireError> {
        while self.buf.avail().len() < 2 {
            if self.buf.fill(&mut self.stream).await? == 0 {
                return Err(WireError::Reset);
            }
        }
        if &self.buf.avail()[..2] != b"\r\n" {
            return Err(WireError::Protocol {
                detail: "chunk data not followed by CRLF",
            });
        }
        self.buf.consume(2);
        Ok(())
    }

    /// Skips trailer lines up to and including the empty line.
    async fn skip_trailers(&mut self) -> Result<(), WireError> {
        loop {
            match self.buf.avail().windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.buf.consume(2);
                    return Ok(());
                }
                Some(pos) => self.buf.consume(pos + 2),
                None => {
                    if self.buf.fill(&mut self.stream).await? == 0 {
                        return Err(WireError::Reset);
                    }
                }
            }
        }
    }

    /// Discards a body delimited by the end of the stream.
    async fn skip_to_close(&mut self, max_body: u64) -> Result<u64, WireError> {
        let mut total = self.buf.avail().len() as u64;
        self.buf.clear();
        loop {
            if total > max_body {
                return Err(WireError::BodyTooLarge { limit: max_body });
            }
            let n = self.buf.fill(&mut self.stream).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            self.buf.clear();
        }
    }
}

/// The framing and keep-alive of a response head (RFC 9112 §6.3).
fn head_framing(
    status: u16,
    version: u8,
    headers: &[httparse::Header<'_>],
) -> Result<(Framing, bool), WireError> {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut close = version == 0;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or(WireError::Protocol {
                    detail: "invalid Content-Length",
                })?;
            if length.is_some_and(|l| l != v) {
                return Err(WireError::Protocol {
                    detail: "conflicting Content-Length headers",
                });
            }
            length = Some(v);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            // Chunked must be the final coding to delimit the body.
            chunked = h
                .value
                .rsplit(|b| *b == b',')
                .next()
                .map(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
                .unwrap_or(false);
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && version == 0 {
                    close = false;
                }
            }
        }
    }
    let framing = if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::None
    } else if transfer_encoding {
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok((framing, !close))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    const REQ: &[u8] = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";

    /// A server that answers each request on one connection with the next
    /// canned reply (after reading one request head + 2 body bytes), then
    /// closes.
    async fn canned(replies: Vec<Vec<u8>>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            for reply in replies {
                let mut got = Vec::new();
                let mut b = [0u8; 1024];
                while !got.ends_with(b"\r\n\r\n{}") {
                    let n = s.read(&mut b).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&b[..n]);
                }
                if s.write_all(&reply).await.is_err() {
                    return;
                }
            }
            // Keep the socket open briefly so closes are not mistaken for answers.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        });
        addr
    }

    #[tokio::test]
    async fn a_failing_answer_keeps_the_start_of_its_body() {
        let long = format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 300\r\n\r\n{}",
            "e".repeat(300)
        );
        let addr = canned(vec![
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 16\r\n\r\n{\"error\":\"nope\"}".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            long.into_bytes(),
        ])
        .await;
        let mut c = Conn::connect(addr).await.unwrap();
        assert_eq!(c.exchange(REQ, 1_000).await.unwrap().status, 401);
        assert_eq!(c.body_start(), br#"{"error":"nope"}"#);
        // A success keeps nothing (and clears what the last answer left).
        assert_eq!(c.exchange(REQ, 1_000).await.unwrap().status, 200);
        assert!(c.body_start().is_empty());
        // A long body: at most EXCERPT bytes, and the rest is still read.
        let answer = c.exchange(REQ, 1_000).await.unwrap();
        assert_eq!((answer.status, answer.body_len), (500, 300));
        assert_eq!(c.body_start(), "e".repeat(EXCERPT).as_bytes());
    }

    async fn one(reply: &[u8], max_body: u64) -> (Result<ResponseSummary, WireError>, bool) {
        let addr = canned(vec![reply.to_vec()]).await;
        let mut c = Conn::connect(addr).await.unwrap();
        let r = c.exchange(REQ, max_body).await;
        (r, c.is_reusable())
    }

    #[tokio::test]
    async fn parts_are_written_whole_and_in_order_across_partial_writes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // 6 MiB is far past a loopback socket buffer, so the vectored write
        // returns short and must resume mid-part; empty parts are skipped.
        let big: Vec<u8> = (0..6 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let parts: [&[u8]; 5] = [b"", b"head|", &big, b"", b"|tail"];
        let expected: Vec<u8> = parts.concat();
        let reader = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        write_all_parts(&mut stream, &parts).await.unwrap();
        write_all_parts(&mut stream, &[b"", b""]).await.unwrap();
        drop(stream);
        let got = reader.await.unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes differ");
    }

    #[tokio::test]
    async fn content_length_keep_alive_serves_several_requests() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec();
        let addr = canned(vec![
            r.clone(),
            r.clone(),
            b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
        ])
        .await;
        let mut c = Conn::connect(addr).await.unwrap();
        for _ in 0..2 {
            let a = c.exchange(REQ, 100).await.unwrap();
            assert_eq!(
                a,
                ResponseSummary {
                    status: 200,
                    body_len: 5
                }
            );
            assert!(c.is_reusable());
        }
        let a = c.exchange(REQ, 100).await.unwrap();
        assert_eq!(
            a,
            ResponseSummary {
                status: 204,
                body_len: 0
            }
        );
    }

    #[tokio::test]
    async fn chunked_with_extensions_and_trailers() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
        let (r, reusable) = one(reply, 100).await;
        assert_eq!(
            r.unwrap(),
            ResponseSummary {
                status: 200,
                body_len: 13
            }
        );
        assert!(reusable);
    }

    #[tokio::test]
    async fn connection_close_and_http10_are_not_reused() {
        let (r, reusable) = one(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            10,
        )
        .await;
        assert_eq!(r.unwrap().status, 200);
        assert!(!reusable);
        let (r, reusable) = one(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 10).await;
        assert_eq!(r.unwrap().status, 200);
        assert!(!reusable);
    }

    #[tokio::test]
    async fn interim_answers_are_skipped() {
        let reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
        let (r, reusable) = one(reply, 10).await;
        assert_eq!(
            r.unwrap(),
            ResponseSummary {
                status: 201,
                body_len: 2
            }
        );
        assert!(reusable);
    }

    #[tokio::test]
    async fn body_limit_applies_to_every_framing() {
        let (r, reusable) = one(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\nxx",
            1024,
        )
        .await;
        assert!(matches!(r, Err(WireError::BodyTooLarge { limit: 1024 })));
        assert!(!reusable);
        let big_chunk = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n{}\r\n0\r\n\r\n",
            "x".repeat(2048)
        );
        let (r, _) = one(big_chunk.as_bytes(), 1024).await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::BodyTooLarge);
        let until_close = format!("HTTP/1.1 200 OK\r\n\r\n{}", "x".repeat(4096));
        let (r, _) = one(until_close.as_bytes(), 1024).await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::BodyTooLarge);
    }

    #[tokio::test]
    async fn read_until_close_body_is_counted() {
        let (r, reusable) = one(b"HTTP/1.1 200 OK\r\n\r\nabcdef", 100).await;
        assert_eq!(
            r.unwrap(),
            ResponseSummary {
                status: 200,
                body_len: 6
            }
        );
        assert!(!reusable);
    }

    #[tokio::test]
    async fn stray_bytes_after_the_answer_retire_the_connection() {
        let (r, reusable) = one(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n",
            10,
        )
        .await;
        assert_eq!(r.unwrap().status, 200);
        assert!(!reusable);
    }

    #[tokio::test]
    async fn garbage_and_truncation_are_classified() {
        let (r, _) = one(b"SSH-2.0-OpenSSH\r\n\r\n", 10).await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Protocol);
        let (r, _) = one(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 100).await;
        // The server closes after 200 ms: the body never completes.
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Reset);
        let (r, _) = one(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            100,
        )
        .await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Protocol);
    }

    #[tokio::test]
    async fn refused_port_is_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = Conn::connect(addr).await.err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Connect);
    }
}
