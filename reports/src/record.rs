//! The shared nouns of measurement: what one request produced (`Sample`),
//! how it ended (`Outcome`, `ErrorKind`), and the `Recorder` trait that
//! producers (the emitter, the checks) push samples into.
//!
//! These types are `Copy` on purpose: failures on the hot path are counted,
//! never allocated.

use serde::{Deserialize, Serialize};

/// Why a request produced no HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The TCP connection could not be established (refused, unreachable).
    Connect,
    /// No complete answer within the per-request timeout.
    Timeout,
    /// The peer reset or closed the connection mid-exchange.
    Reset,
    /// The TLS handshake or record layer failed.
    Tls,
    /// The response body exceeded the emitter's limit.
    BodyTooLarge,
    /// The peer answered something that is not valid HTTP.
    Protocol,
    /// Still in flight when the run was interrupted, and unanswered after
    /// the shutdown grace: the request was sent, its outcome is unknown.
    Cancelled,
    /// Anything else (I/O errors not classified above).
    Other,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Tls,
        ErrorKind::BodyTooLarge,
        ErrorKind::Protocol,
        ErrorKind::Cancelled,
        ErrorKind::Other,
    ];

    /// The stable snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Tls => "tls",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Other => "other",
        }
    }
}

/// How one request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The receiver answered with this HTTP status.
    Status(u16),
    /// No status: the request failed with this error kind.
    Error(ErrorKind),
}

/// One measured request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Index of the event type in the run's type list (`LoadStats::type_names`).
    pub type_index: u16,
    /// Microseconds from the *intended* send time to the end of the response
    /// (coordinated-omission free).
    pub latency_us: u64,
    /// Microseconds from the actual send to the end of the response.
    pub service_us: u64,
    /// How the request ended.
    pub outcome: Outcome,
    /// Milliseconds since the start of the run at which the request was
    /// intended to be sent; used for the over-time series.
    pub at_ms: u64,
}

/// A consumer of samples.
pub trait Recorder {
    /// Records one sample.
    fn record(&mut self, sample: &Sample);
}
