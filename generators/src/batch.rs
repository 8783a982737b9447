//! Batches: several events in one request, as Auth0 Log Streams deliver
//! them (auth0.com/docs `customize/log-streams/custom-log-streams`: the
//! stream's "Content Format" is JSON Lines, JSON Array or JSON Object).
//!
//! A batching provider's key paths (dedupe, type, subject, ordering,
//! timestamp) point into each *event*, not into the request body; the
//! signature covers the whole request. [`Batch::join`] writes a request
//! body from serialized events, [`Batch::split`] reads one back.

use serde_json::Value;
use thiserror::Error;

/// How the events of one request are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BatchFormat {
    /// A JSON array of events: `[{..},{..}]`.
    Array,
    /// JSON Lines: one event per line, each line ending in `\n`.
    Lines,
    /// One event per request, the body being the event itself.
    Object,
}

impl BatchFormat {
    /// Every format, as written in provider files.
    pub const ALL: [BatchFormat; 3] = [BatchFormat::Array, BatchFormat::Lines, BatchFormat::Object];

    /// The name used in provider files.
    pub fn name(self) -> &'static str {
        match self {
            BatchFormat::Array => "array",
            BatchFormat::Lines => "lines",
            BatchFormat::Object => "object",
        }
    }
}

/// How a provider packs events into requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Batch {
    /// How the events of one request are written.
    pub format: BatchFormat,
    /// How many events one request carries when the sender has that many
    /// waiting (the emitter always fills a batch; the `object` format
    /// carries exactly one).
    pub max_events: u32,
}

/// A request body that is not a batch of the declared format.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    /// The body (or one line of it) is not JSON.
    #[error("{where_}: malformed JSON: {detail}")]
    Malformed {
        /// `the body` or `line N`.
        where_: String,
        /// The parser's message.
        detail: String,
    },
    /// An `array` batch that is not a JSON array.
    #[error("a JSON array of events was expected, found {0}")]
    NotArray(&'static str),
    /// A batch without a single event.
    #[error("the batch holds no events")]
    Empty,
    /// More events than the provider puts in one request.
    #[error("the batch holds {found} events, more than the {max} the provider sends at once")]
    TooMany {
        /// Events found.
        found: usize,
        /// The provider's `max_events`.
        max: u32,
    },
}

impl Batch {
    /// Events per request the emitter sends: `max_events`, at least one,
    /// exactly one for the `object` format.
    pub fn per_request(&self) -> u32 {
        match self.format {
            BatchFormat::Object => 1,
            _ => self.max_events.max(1),
        }
    }

    /// Appends the request body of `events` (each already serialized as
    /// compact JSON) to `out`. An `object` batch takes the first event.
    pub fn join<E: AsRef<[u8]>>(&self, events: &[E], out: &mut Vec<u8>) {
        self.write_with(events.len(), out, |i, out| {
            out.extend_from_slice(events[i].as_ref())
        });
    }

    /// Appends a request body of `n` events to `out`, `write_event(i, out)`
    /// writing event `i` in place (the emitter renders pooled templates
    /// straight into its buffer). An `object` batch writes event 0 only.
    pub fn write_with(
        &self,
        n: usize,
        out: &mut Vec<u8>,
        mut write_event: impl FnMut(usize, &mut Vec<u8>),
    ) {
        match self.format {
            BatchFormat::Array => {
                out.push(b'[');
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_event(i, out);
                }
                out.push(b']');
            }
            BatchFormat::Lines => {
                for i in 0..n {
                    write_event(i, out);
                    out.push(b'\n');
                }
            }
            BatchFormat::Object => {
                if n > 0 {
                    write_event(0, out);
                }
            }
        }
    }

    /// The request body of `events`.
    pub fn body(&self, events: &[&Value]) -> Vec<u8> {
        let serialized: Vec<Vec<u8>> = events
            .iter()
            .map(|e| serde_json::to_vec(e).expect("JSON values serialize"))
            .collect();
        let mut out = Vec::new();
        self.join(&serialized, &mut out);
        out
    }

    /// One event's bytes (valid, broken, or empty) as a batch of one: the
    /// form adversarial single-event probes take. An empty body stays empty
    /// (`[]` would be a valid empty batch, not an empty request).
    pub fn wrap_one(&self, event: &[u8]) -> Vec<u8> {
        if event.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(event.len() + 2);
        self.join(&[event], &mut out);
        out
    }

    /// The events of a request body, in order.
    pub fn split(&self, body: &[u8]) -> Result<Vec<Value>, BatchError> {
        let malformed = |where_: String, e: serde_json::Error| BatchError::Malformed {
            where_,
            detail: e.to_string(),
        };
        let events = match self.format {
            BatchFormat::Object => {
                vec![serde_json::from_slice(body).map_err(|e| malformed("the body".into(), e))?]
            }
            BatchFormat::Array => {
                match serde_json::from_slice(body).map_err(|e| malformed("the body".into(), e))? {
                    Value::Array(events) => events,
                    other => return Err(BatchError::NotArray(crate::text::json_kind(&other))),
                }
            }
            BatchFormat::Lines => {
                let mut events = Vec::new();
                for (n, line) in body.split(|b| *b == b'\n').enumerate() {
                    // A trailing newline (or CRLF line ends) leaves blank lines.
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    events.push(
                        serde_json::from_slice(line)
                            .map_err(|e| malformed(format!("line {}", n + 1), e))?,
                    );
                }
                events
            }
        };
        if events.is_empty() {
            return Err(BatchError::Empty);
        }
        if events.len() > self.per_request() as usize {
            return Err(BatchError::TooMany {
                found: events.len(),
                max: self.per_request(),
            });
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch(format: BatchFormat, max_events: u32) -> Batch {
        Batch { format, max_events }
    }

    #[test]
    fn each_format_round_trips() {
        let a = json!({"log_id": "1", "data": {"type": "s"}});
        let b = json!({"log_id": "2", "data": {"type": "f"}});
        let array = batch(BatchFormat::Array, 10);
        assert_eq!(
            String::from_utf8(array.body(&[&a, &b])).unwrap(),
            format!("[{a},{b}]")
        );
        let lines = batch(BatchFormat::Lines, 10);
        let body = lines.body(&[&a, &b]);
        assert_eq!(body.iter().filter(|c| **c == b'\n').count(), 2);
        for format in BatchFormat::ALL {
            let batch = batch(format, 10);
            let events: Vec<&Value> = if format == BatchFormat::Object {
                vec![&a]
            } else {
                vec![&a, &b]
            };
            let split = batch.split(&batch.body(&events)).unwrap();
            assert_eq!(split.iter().collect::<Vec<_>>(), events, "{format:?}");
        }
    }

    #[test]
    fn object_batches_carry_one_event() {
        assert_eq!(batch(BatchFormat::Object, 50).per_request(), 1);
        assert_eq!(batch(BatchFormat::Array, 0).per_request(), 1);
        assert_eq!(batch(BatchFormat::Lines, 7).per_request(), 7);
    }

    #[test]
    fn bodies_that_are_not_batches_are_refused_with_why() {
        let array = batch(BatchFormat::Array, 2);
        assert_eq!(array.split(b"{}"), Err(BatchError::NotArray("an object")));
        assert_eq!(array.split(b"[]"), Err(BatchError::Empty));
        assert_eq!(
            array.split(b"[{},{},{}]"),
            Err(BatchError::TooMany { found: 3, max: 2 })
        );
        assert!(matches!(
            array.split(b"[{"),
            Err(BatchError::Malformed { .. })
        ));
        let lines = batch(BatchFormat::Lines, 5);
        assert_eq!(lines.split(b"{}\r\n{}\n\n").unwrap().len(), 2);
        let err = lines.split(b"{}\n{oops}\n").unwrap_err().to_string();
        assert!(err.starts_with("line 2: malformed JSON"), "{err}");
        assert_eq!(lines.split(b"\n"), Err(BatchError::Empty));
    }

    #[test]
    fn one_broken_event_wraps_but_an_empty_body_stays_empty() {
        let array = batch(BatchFormat::Array, 5);
        assert_eq!(array.wrap_one(b"{\"a\":"), b"[{\"a\":]");
        assert_eq!(array.wrap_one(b""), b"");
        assert_eq!(batch(BatchFormat::Lines, 5).wrap_one(b"{}"), b"{}\n");
        assert_eq!(batch(BatchFormat::Object, 5).wrap_one(b"{}"), b"{}");
    }
}
