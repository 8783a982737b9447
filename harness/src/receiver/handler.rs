//! One HTTP request through the reference receiver: routing (`/ledger`,
//! `/healthz`, deliveries on any other path), then for a delivery the
//! correct pipeline — size, signature, content type, JSON, event type,
//! schema, dedupe, ordering, answer — with each injected fault bending
//! exactly its one step.

use bytes::Bytes;
use generators::{EventType, RequestLine, Verifier};

use crate::clock::now_unix;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderMap, HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::watch;

use super::effect::{Backlog, Effects, Event};
use super::{blocking, pedantic_schema, Fault, ReceiverConfig};

/// Why a connection was dropped without an answer; hyper closes the
/// connection when a service returns an error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Dropped {
    /// The client stopped sending the body.
    #[error("the client went away mid-body")]
    ClientGone,
    /// The `crash-on-unicode` fault.
    #[error("crashed on a non-ASCII byte (crash-on-unicode fault)")]
    Crash,
    /// The `hang` fault, released by shutdown.
    #[error("hung until shutdown (hang fault)")]
    Hung,
}

type Reply = Response<Full<Bytes>>;

/// The request handler shared by every connection of one receiver.
#[derive(Debug)]
pub(crate) struct Handler {
    config: ReceiverConfig,
    /// `None` in sink mode (served by `sink.rs`, not this handler), which
    /// needs no usable secret.
    verifier: Option<Verifier>,
    effects: Arc<Effects>,
    stopped: watch::Receiver<bool>,
    backlog: Backlog,
}

impl Handler {
    /// A handler for `config`, processing into `effects`, released by
    /// `stopped`; fails when the secret cannot be used with the scheme.
    pub fn new(
        config: ReceiverConfig,
        effects: Arc<Effects>,
        stopped: watch::Receiver<bool>,
    ) -> Result<Handler, generators::Error> {
        Ok(Handler {
            verifier: if config.sink {
                None
            } else {
                Some(Verifier::new(config.provider.scheme(), &config.secret)?)
            },
            config,
            effects,
            stopped,
            backlog: Backlog::new(),
        })
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request<Incoming>) -> Result<Reply, Dropped> {
        match (req.method(), req.uri().path()) {
            (&Method::GET, "/healthz") => {
                Ok(reply(StatusCode::OK, Bytes::from_static(b"ok"), false))
            }
            (&Method::GET, "/ledger") => {
                self.effects.settled(self.effects.settle_bound()).await;
                Ok(reply(
                    StatusCode::OK,
                    Bytes::from(self.effects.ledger.to_json()),
                    true,
                ))
            }
            (&Method::POST, _) => self.delivery(req).await,
            _ => {
                let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "deliveries are POSTed");
                r.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST"));
                Ok(r)
            }
        }
    }

    async fn delivery(&self, req: Request<Incoming>) -> Result<Reply, Dropped> {
        let config = &self.config;
        let (parts, body) = req.into_parts();

        // 1. Size: bodies over the limit get 413. The excess is drained
        //    (bounded) first: answering while the sender is still writing
        //    makes its kernel see a reset instead of our 413.
        let max = config.max_body_bytes as u64;
        let mut body = body;
        if body.size_hint().lower() > max {
            drain(&mut body, 0).await;
            return Ok(too_large(max as usize));
        }
        let mut collected = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| Dropped::ClientGone)?;
            if let Ok(data) = frame.into_data() {
                if (collected.len() + data.len()) as u64 > max {
                    drain(&mut body, collected.len() + data.len()).await;
                    return Ok(too_large(max as usize));
                }
                collected.extend_from_slice(&data);
            }
        }
        let body = Bytes::from(collected);

        // 2. Signature, over the raw bytes, before anything trusts them.
        if let (false, Some(verifier)) = (config.has(Fault::SkipSignature), &self.verifier) {
            let header = |name: &str| header_str(&parts.headers, name).map(str::to_string);
            let now = if config.has(Fault::AcceptStale) {
                // Verifying "as of" the sender's own timestamp makes every
                // timestamp current: the window check can never fail.
                verifier.claimed_timestamp(&header).unwrap_or_else(now_unix)
            } else {
                now_unix()
            };
            // What `{url}` signs: the URL the sender addressed, as its
            // Host header and request target say.
            let url = format!(
                "http://{}{}",
                header_str(&parts.headers, "host").unwrap_or_default(),
                parts.uri.path_and_query().map_or("/", |p| p.as_str())
            );
            let line = RequestLine {
                method: parts.method.as_str(),
                url: &url,
            };
            if let Err(err) = verifier.verify_request(line, &header, &body, now) {
                return Ok(error(StatusCode::UNAUTHORIZED, &err.to_string()));
            }
        }

        // 3. Content type.
        let json_type = header_str(&parts.headers, CONTENT_TYPE.as_str()).is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json_type {
            return Ok(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected content-type application/json",
            ));
        }

        if config.has(Fault::CrashOnUnicode) && !body.is_ascii() {
            return Err(Dropped::Crash);
        }

        // 4. JSON.
        let event: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(err) if config.has(Fault::ServerErrorOnBadJson) => {
                return Ok(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("unhandled: {err}"),
                ));
            }
            Err(err) => {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    &format!("malformed JSON: {err}"),
                ))
            }
        };

        // 5. Event type and schema.
        let event_type = match self.event_type(&parts.headers, &event) {
            Ok(t) => t,
            Err(msg) => return Ok(error(StatusCode::BAD_REQUEST, &msg)),
        };
        if let Err(problems) = self.config.provider.catalog().validate(event_type, &event) {
            let shown: Vec<&str> = problems.iter().take(3).map(String::as_str).collect();
            return Ok(error(
                StatusCode::BAD_REQUEST,
                &format!("not a valid {}: {}", event_type.name, shown.join("; ")),
            ));
        }
        if config.has(Fault::RejectUnknownFields) {
            if let Some(at) = pedantic_schema::unknown_field(&event_type.schema, &event) {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    &format!("unknown field {at}"),
                ));
            }
        }
        if config.has(Fault::RejectOptionalAbsent) {
            if let Some(at) = pedantic_schema::optional_absent(&event_type.schema, &event) {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    &format!("missing field {at}"),
                ));
            }
        }

        if config.has(Fault::Hang) {
            let mut stopped = self.stopped.clone();
            let _ = stopped.wait_for(|stop| *stop).await;
            return Err(Dropped::Hung);
        }

        // 6. Effect: once per dedupe key, in the configured order.
        let profile = config.provider.profile();
        let id = match lookup(&profile.dedupe_key, &parts.headers, &event) {
            Some(v) if !v.is_null() => key_string(v),
            // No dedupe key (an Auth0 event without a transaction): the
            // body itself identifies a re-delivery.
            _ => hex::encode(Sha256::digest(&body)),
        };
        let first = self.effects.claim(&id);
        let process = first || config.has(Fault::DoubleProcess);
        let lost = process && config.has(Fault::LoseUnderLoad) && !self.backlog.admit();
        if process && !lost {
            let seq = profile
                .ordering_key
                .as_deref()
                .and_then(|k| lookup(k, &parts.headers, &event))
                .unwrap_or(Value::Null);
            let subject = profile
                .subject_key
                .as_deref()
                .and_then(|k| lookup(k, &parts.headers, &event))
                .filter(|v| !v.is_null())
                .map(key_string);
            let event = Event { id, seq, subject };
            if first && config.has(Fault::ReorderAfterAck) {
                self.effects.apply_after_ack(event);
            } else if first {
                self.effects.apply(event, config.has(Fault::OutOfOrder));
            } else {
                // `double-process`: a receiver without dedupe applies the
                // re-delivery again, whatever its ordering rule would say
                // about an event it has already seen.
                self.effects.reprocess(event);
            }
        }

        // 7. Answer (the same for a duplicate, so a retry sees what the
        //    first delivery saw).
        let answer = if event_type.blocking {
            let body = blocking::answer(
                &event_type.name,
                &event,
                config.has(Fault::BadBlockingResponse),
            );
            reply(StatusCode::OK, Bytes::from(body.to_string()), true)
        } else {
            reply(StatusCode::OK, Bytes::from_static(b"{}"), true)
        };
        if config.has(Fault::Slow) {
            let mut stopped = self.stopped.clone();
            tokio::select! {
                _ = tokio::time::sleep(config.slow_delay) => {}
                _ = stopped.wait_for(|stop| *stop) => {}
            }
        }
        Ok(answer)
    }

    /// The catalog event type a body claims to be, by the profile's type
    /// key (a profile without one has a single type).
    fn event_type(&self, headers: &HeaderMap, event: &Value) -> Result<&EventType, String> {
        let provider = &self.config.provider;
        match &provider.profile().type_key {
            Some(key) => {
                let Some(name) = lookup(key, headers, event) else {
                    return Err(format!("no event type at {key}"));
                };
                let Some(name) = name.as_str() else {
                    return Err(format!("the event type at {key} is not a string"));
                };
                provider.event_type(name).map_err(|e| e.to_string())
            }
            None => match provider.types().as_slice() {
                [only] => Ok(*only),
                _ => Err(format!(
                    "{} bodies must name their event type",
                    provider.catalog_name()
                )),
            },
        }
    }
}

/// The value at `key`: `header:NAME` reads a header, anything else is a
/// JSON pointer into the body.
fn lookup(key: &str, headers: &HeaderMap, event: &Value) -> Option<Value> {
    generators::key_value(key, event, |name| {
        header_str(headers, name).map(str::to_string)
    })
}

/// A key value as the string the ledger and the dedupe set use.
fn key_string(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn reply(status: StatusCode, body: Bytes, json: bool) -> Reply {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    if json {
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    r
}

fn error(status: StatusCode, message: &str) -> Reply {
    reply(
        status,
        Bytes::from(json!({ "error": message }).to_string()),
        true,
    )
}

/// How much of an oversized body is read and discarded before the 413, and
/// for how long: enough for any sender that merely overshoots the limit,
/// bounded so a 1 GiB upload cannot hold the connection.
const DRAIN_BYTES: usize = 16 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads and discards the rest of `body`, up to [`DRAIN_BYTES`] in total
/// (counting `seen`) and [`DRAIN_TIME`].
async fn drain(body: &mut Incoming, mut seen: usize) {
    let reading = async {
        while seen <= DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        seen += data.len();
                    }
                }
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, reading).await;
}

fn too_large(max: usize) -> Reply {
    let mut r = error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("body larger than {max} bytes"),
    );
    // The rest of the body is never read, so the connection cannot be
    // reused: say so instead of letting the client find out.
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_headers_or_body_pointers() {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        let event = json!({"event": {"id": "e1", "n": 5}});
        assert_eq!(
            lookup("header:webhook-id", &headers, &event),
            Some(json!("msg_1"))
        );
        assert_eq!(lookup("/event/id", &headers, &event), Some(json!("e1")));
        assert_eq!(lookup("/event/missing", &headers, &event), None);
        assert_eq!(key_string(json!(5)), "5");
        assert_eq!(key_string(json!("x")), "x");
    }
}
