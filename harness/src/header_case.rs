//! Header-name case on the wire. HTTP field names are case-insensitive
//! (RFC 9110 §5.1) and senders differ (hyper writes lowercase, many
//! providers' stacks write `Title-Case`), so a receiver must match names
//! in any case. hyper 1 can write Title-Case (`title_case_headers`) but not
//! UPPER CASE (its case map is private), so the client instead rewrites
//! the names in the request head as the bytes leave: one wrapper, both
//! cases, same length, for plain TCP and under TLS alike. HTTP/1.1 only:
//! HTTP/2 requires lowercase names (RFC 9113 §8.2.1).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How header names are cased on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeaderCase {
    /// As hyper writes them (lowercase).
    #[default]
    AsGiven,
    /// `Webhook-Signature`.
    Title,
    /// `WEBHOOK-SIGNATURE`.
    Upper,
}

impl HeaderCase {
    /// The name used in probe labels.
    pub fn label(self) -> &'static str {
        match self {
            HeaderCase::AsGiven => "lowercase",
            HeaderCase::Title => "Title-Case",
            HeaderCase::Upper => "UPPER-CASE",
        }
    }

    /// `name` in this case (what the wire shows, so a `curl` repro sends
    /// the same names).
    pub fn apply(self, name: &str) -> String {
        let mut bytes = name.as_bytes().to_vec();
        recase(&mut Spot::LineStart, self, &mut bytes);
        String::from_utf8(bytes).unwrap_or_else(|_| name.to_string())
    }
}

/// Where the writer is within the request head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spot {
    /// The request line (never rewritten).
    RequestLine,
    /// A header name; `word_start` at its start or after a `-`.
    Name { word_start: bool },
    /// A header value (never rewritten).
    Value,
    /// Just after a CRLF: a name starts, or the head ends.
    LineStart,
    /// Past the head: the body, passed through untouched.
    Body,
}

/// Rewrites the case of header names in the first request head written
/// through it; everything else passes through unchanged. One request per
/// connection (the checks' client connects for each send).
pub struct CasedIo<T> {
    inner: T,
    case: HeaderCase,
    spot: Spot,
    scratch: Vec<u8>,
}

impl<T> CasedIo<T> {
    /// Wraps `inner`, casing header names as `case` says.
    pub fn new(inner: T, case: HeaderCase) -> CasedIo<T> {
        let spot = if case == HeaderCase::AsGiven {
            Spot::Body
        } else {
            Spot::RequestLine
        };
        CasedIo {
            inner,
            case,
            spot,
            scratch: Vec::new(),
        }
    }
}

/// Advances `spot` over `bytes`, rewriting header-name bytes in place.
fn recase(spot: &mut Spot, case: HeaderCase, bytes: &mut [u8]) {
    for b in bytes {
        *spot = match (*spot, *b) {
            (Spot::Body, _) => return,
            (Spot::RequestLine, b'\n') | (Spot::Value, b'\n') => Spot::LineStart,
            (Spot::RequestLine, _) | (Spot::Value, _) => *spot,
            (Spot::LineStart, b'\r') => Spot::LineStart,
            (Spot::LineStart, b'\n') => Spot::Body,
            (Spot::LineStart, _) | (Spot::Name { .. }, _) if *b == b':' => Spot::Value,
            (Spot::LineStart, _) | (Spot::Name { .. }, _) => {
                let word_start = matches!(*spot, Spot::LineStart | Spot::Name { word_start: true });
                *b = match case {
                    HeaderCase::Upper => b.to_ascii_uppercase(),
                    HeaderCase::Title if word_start => b.to_ascii_uppercase(),
                    HeaderCase::Title => b.to_ascii_lowercase(),
                    HeaderCase::AsGiven => *b,
                };
                Spot::Name {
                    word_start: *b == b'-',
                }
            }
        };
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CasedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.spot == Spot::Body {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        // Rewrite a copy; the state advances only over what was written,
        // so a short write re-reads the rest from the caller's next call.
        this.scratch.clear();
        this.scratch.extend_from_slice(buf);
        let mut probe = this.spot;
        recase(&mut probe, this.case, &mut this.scratch);
        let written = match Pin::new(&mut this.inner).poll_write(cx, &this.scratch) {
            Poll::Ready(Ok(n)) => n,
            other => return other,
        };
        let mut copy = this.scratch[..written].to_vec();
        recase(&mut this.spot, this.case, &mut copy);
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Only reached when `is_write_vectored` said so: never rewriting.
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // Rewriting sees whole buffers; untouched, the wrapper is transparent.
        self.case == HeaderCase::AsGiven && self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CasedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"POST /hooks/x-y HTTP/1.1\r\nhost: a.b\r\nwebhook-signature: v1,abc-def\r\n\r\n{\"a-b\":\"c\"}";

    fn cased(case: HeaderCase, chunk: usize) -> Vec<u8> {
        let mut spot = Spot::RequestLine;
        let mut out = HEAD.to_vec();
        for part in out.chunks_mut(chunk) {
            recase(&mut spot, case, part);
        }
        out
    }

    #[test]
    fn names_change_case_and_nothing_else_does() {
        for chunk in [1, 7, HEAD.len()] {
            assert_eq!(
                cased(HeaderCase::Title, chunk),
                b"POST /hooks/x-y HTTP/1.1\r\nHost: a.b\r\nWebhook-Signature: v1,abc-def\r\n\r\n{\"a-b\":\"c\"}"
            );
            assert_eq!(
                cased(HeaderCase::Upper, chunk),
                b"POST /hooks/x-y HTTP/1.1\r\nHOST: a.b\r\nWEBHOOK-SIGNATURE: v1,abc-def\r\n\r\n{\"a-b\":\"c\"}"
            );
        }
        assert_eq!(
            HeaderCase::Title.apply("x-authgear-body-signature"),
            "X-Authgear-Body-Signature"
        );
        assert_eq!(HeaderCase::Upper.apply("webhook-id"), "WEBHOOK-ID");
        assert_eq!(HeaderCase::AsGiven.apply("webhook-id"), "webhook-id");
    }
}
