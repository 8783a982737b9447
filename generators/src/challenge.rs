//! Endpoint challenges: how a sender verifies a receiver's URL before (and
//! while) it delivers to it — the request it sends ([`Challenge::request`]),
//! how a receiver recognises it ([`Challenge::recognise`]), the answer a
//! correct receiver gives ([`Challenge::answer`]) and how the sender judges
//! an answer ([`Challenge::judge`]).
//!
//! What each sender does, and where the facts come from:
//! - Slack Events API (api.slack.com/events/url_verification): a signed
//!   POST `{"token", "challenge", "type": "url_verification"}`; the
//!   receiver verifies it and answers HTTP 200 with the `challenge` value as
//!   `text/plain`, as `application/x-www-form-urlencoded` `challenge=…`, or
//!   as JSON `{"challenge": …}`.
//! - Zoom (developers.zoom.us/docs/api/webhooks, "Validate your webhook
//!   endpoint"; developers.zoom.us/changelog/platform/webhook-url-validation):
//!   a signed POST event `endpoint.url_validation` with `payload.plainToken`,
//!   answered within 3 s with HTTP 200 `{"plainToken", "encryptedToken"}`,
//!   `encryptedToken` the hex HMAC-SHA256 of `plainToken` keyed with the
//!   app's secret token; repeated every 72 hours.
//! - Discord interactions (discord.com/developers/docs/interactions/
//!   receiving-and-responding, "Security and Authorization"): a signed POST
//!   PING `{"type": 1}` answered HTTP 200 `{"type": 1}` (PONG); Discord also
//!   sends PINGs with invalid signatures when the URL is saved and later,
//!   and removes an endpoint that does not answer them 401.
//! - Discord Webhook Events (discord.com/developers/docs/events/
//!   webhook-events, "Preparing for events"): a different PING on a
//!   different URL, the signed POST `{"version": 1, "application_id",
//!   "type": 0}` (type 1 is an event there, so an interactions PONG would
//!   answer every event), acknowledged with HTTP 204 and an empty body;
//!   the same routine invalid-signature requests, to be answered 401.
//! - Okta event hooks (developer.okta.com/docs/concepts/event-hooks,
//!   "One-time verification request"): a `GET` carrying
//!   `X-Okta-Verification-Challenge: <value>` (and the hook's
//!   `Authorization` header), answered HTTP 200 `{"verification": <value>}`.

use std::fmt;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::secret::Secret;

/// The header Okta's one-time verification request carries.
pub const OKTA_CHALLENGE_HEADER: &str = "X-Okta-Verification-Challenge";

/// How a sender verifies an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Challenge {
    /// Slack's `url_verification` event: echo `challenge`.
    SlackUrlVerification,
    /// Zoom's `endpoint.url_validation`: `plainToken` and its HMAC.
    ZoomUrlValidation,
    /// Discord's interactions PING: answer PONG, and 401 to a bad signature.
    DiscordPing,
    /// Discord's Webhook Events PING: answer 204, and 401 to a bad signature.
    DiscordWebhookPing,
    /// Okta's one-time verification `GET`: echo the header's value.
    OktaVerification,
}

/// A challenge request as the sender builds it, before it signs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeRequest {
    /// `POST`, or `GET` for Okta.
    pub method: &'static str,
    /// Headers besides the signature's (Okta's challenge header).
    pub headers: Vec<(String, String)>,
    /// The body (empty for a `GET`).
    pub body: Vec<u8>,
}

/// The answer a receiver gives to a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeAnswer {
    /// The status.
    pub status: u16,
    /// The `content-type` it is written in.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl Challenge {
    /// Every kind, as written in provider files.
    pub const ALL: [Challenge; 5] = [
        Challenge::SlackUrlVerification,
        Challenge::ZoomUrlValidation,
        Challenge::DiscordPing,
        Challenge::DiscordWebhookPing,
        Challenge::OktaVerification,
    ];

    /// The name used in provider files (`challenge: {kind: NAME}`).
    pub fn name(self) -> &'static str {
        match self {
            Challenge::SlackUrlVerification => "slack-url-verification",
            Challenge::ZoomUrlValidation => "zoom-url-validation",
            Challenge::DiscordPing => "discord-ping",
            Challenge::DiscordWebhookPing => "discord-webhook-ping",
            Challenge::OktaVerification => "okta-verification",
        }
    }

    /// Parses a provider-file name.
    pub fn parse(name: &str) -> Option<Challenge> {
        Challenge::ALL.into_iter().find(|c| c.name() == name)
    }

    /// What the sender calls it, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Challenge::SlackUrlVerification => "Slack's url_verification event",
            Challenge::ZoomUrlValidation => "Zoom's endpoint.url_validation event",
            Challenge::DiscordPing => "Discord's interactions PING",
            Challenge::DiscordWebhookPing => "Discord's Webhook Events PING",
            Challenge::OktaVerification => "Okta's one-time verification GET",
        }
    }

    /// The request the sender makes with the random `token` (Slack's
    /// `challenge`, Zoom's `plainToken`, Okta's header value, Discord's
    /// interaction token; a Webhook Events PING carries none); `now_ms` is
    /// when it is sent.
    pub fn request(self, token: &str, now_ms: i64) -> ChallengeRequest {
        let post = |body: Value| ChallengeRequest {
            method: "POST",
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        };
        match self {
            Challenge::SlackUrlVerification => post(json!({
                // The deprecated verification token Slack still sends.
                "token": "hookstorm-verification-token",
                "challenge": token,
                "type": "url_verification",
            })),
            Challenge::ZoomUrlValidation => post(json!({
                "payload": {"plainToken": token},
                "event_ts": now_ms,
                "event": "endpoint.url_validation",
            })),
            Challenge::DiscordPing => post(json!({
                "application_id": "1000000000000000001",
                "id": "1000000000000000002",
                "token": token,
                "type": 1,
                "version": 1,
            })),
            Challenge::DiscordWebhookPing => post(json!({
                "version": 1,
                "application_id": "1000000000000000001",
                "type": 0,
            })),
            Challenge::OktaVerification => ChallengeRequest {
                method: "GET",
                headers: vec![(OKTA_CHALLENGE_HEADER.to_string(), token.to_string())],
                body: Vec::new(),
            },
        }
    }

    /// The token of this challenge when an incoming request is one
    /// (`None`: an ordinary delivery). `header` looks names up
    /// case-insensitively.
    pub fn recognise(
        self,
        method: &str,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Option<String> {
        if self == Challenge::OktaVerification {
            return (method == "GET")
                .then(|| header(OKTA_CHALLENGE_HEADER))
                .flatten();
        }
        if method != "POST" {
            return None;
        }
        let body: Value = serde_json::from_slice(body).ok()?;
        let text = |pointer: &str| body.pointer(pointer)?.as_str().map(str::to_string);
        match self {
            Challenge::SlackUrlVerification => {
                (text("/type")?.as_str() == "url_verification").then(|| text("/challenge"))?
            }
            Challenge::ZoomUrlValidation => (text("/event")?.as_str() == "endpoint.url_validation")
                .then(|| text("/payload/plainToken"))?,
            Challenge::DiscordPing => {
                (body.get("type")? == 1).then(|| text("/token").unwrap_or_default())
            }
            // A PING has no `event`; events are type 1 and carry one.
            Challenge::DiscordWebhookPing => {
                (body.get("type")? == 0 && body.get("event").is_none()).then(String::new)
            }
            Challenge::OktaVerification => None,
        }
    }

    /// The answer a correct receiver gives to the challenge carrying
    /// `token`, keyed (Zoom) with `secret`.
    pub fn answer(self, secret: &Secret, token: &str) -> ChallengeAnswer {
        let body = match self {
            Challenge::SlackUrlVerification => json!({ "challenge": token }),
            Challenge::ZoomUrlValidation => json!({
                "plainToken": token,
                "encryptedToken": zoom_encrypted_token(secret, token),
            }),
            Challenge::DiscordPing => json!({ "type": 1 }),
            Challenge::DiscordWebhookPing => Value::Null,
            Challenge::OktaVerification => json!({ "verification": token }),
        };
        ChallengeAnswer {
            status: self.status(),
            // Discord asks for a valid content type even on its 204.
            content_type: "application/json",
            body: match body {
                Value::Null => Vec::new(),
                body => body.to_string().into_bytes(),
            },
        }
    }

    /// The status the sender asks for: 200, or 204 for Discord's Webhook
    /// Events PING.
    pub fn status(self) -> u16 {
        match self {
            Challenge::DiscordWebhookPing => 204,
            _ => 200,
        }
    }

    /// Judges an answer to the challenge carrying `token` as the sender
    /// does: `Err` says what it lacks. The status is judged first
    /// ([`Challenge::status`]), then the body.
    pub fn judge(
        self,
        secret: &Secret,
        token: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), String> {
        let expected = self.status();
        if status != expected {
            return Err(format!(
                "{} expects HTTP {expected}, got {status}",
                self.sender()
            ));
        }
        let text = String::from_utf8_lossy(body);
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|j| j.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match self {
            Challenge::SlackUrlVerification => {
                // Any of the three forms Slack accepts.
                let echoed = match &json {
                    Some(Value::Object(_)) => field("challenge"),
                    _ => match text.trim().strip_prefix("challenge=") {
                        Some(form) => Some(form_decode(form)),
                        None => Some(text.trim().to_string()),
                    },
                };
                match echoed {
                    Some(e) if e == token => Ok(()),
                    Some(e) => Err(format!(
                        "the answer echoes `{}`, not the challenge `{token}`",
                        shorten(&e)
                    )),
                    None => Err("the JSON answer has no `challenge` string".into()),
                }
            }
            Challenge::ZoomUrlValidation => {
                let expected = zoom_encrypted_token(secret, token);
                match (field("plainToken"), field("encryptedToken")) {
                    (Some(p), Some(e)) if p == token && e.eq_ignore_ascii_case(&expected) => Ok(()),
                    (Some(p), _) if p != token => Err(format!(
                        "`plainToken` is `{}`, not the one sent (`{token}`)",
                        shorten(&p)
                    )),
                    (Some(_), Some(e)) => Err(format!(
                        "`encryptedToken` is `{}`, not hex HMAC-SHA256(secret token, plainToken) = `{expected}`",
                        shorten(&e)
                    )),
                    _ => Err(format!(
                        "the answer is not JSON with `plainToken` and `encryptedToken` strings: `{}`",
                        shorten(&text)
                    )),
                }
            }
            // A 204 has no body to judge.
            Challenge::DiscordWebhookPing => Ok(()),
            Challenge::DiscordPing => match json.as_ref().and_then(|j| j.get("type")) {
                Some(t) if *t == 1 => Ok(()),
                _ => Err(format!(
                    "the answer is not the PONG `{{\"type\":1}}`: `{}`",
                    shorten(&text)
                )),
            },
            Challenge::OktaVerification => match field("verification") {
                Some(v) if v == token => Ok(()),
                Some(v) => Err(format!(
                    "`verification` is `{}`, not the challenge `{token}`",
                    shorten(&v)
                )),
                None => Err(format!(
                    "the answer is not JSON with a `verification` string: `{}`",
                    shorten(&text)
                )),
            },
        }
    }

    /// The sender's name, for messages.
    pub fn sender(self) -> &'static str {
        match self {
            Challenge::SlackUrlVerification => "Slack",
            Challenge::ZoomUrlValidation => "Zoom",
            Challenge::DiscordPing | Challenge::DiscordWebhookPing => "Discord",
            Challenge::OktaVerification => "Okta",
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Zoom's `encryptedToken`: lowercase hex HMAC-SHA256 of `plain_token`,
/// keyed with the secret token's bytes.
pub fn zoom_encrypted_token(secret: &Secret, plain_token: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(plain_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Decodes an `application/x-www-form-urlencoded` value (`+` and `%XX`).
fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// At most 80 characters of `text`, for messages.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("zoom-secret-token".into())
    }

    #[test]
    fn names_round_trip() {
        for c in Challenge::ALL {
            assert_eq!(Challenge::parse(c.name()), Some(c));
        }
        assert_eq!(Challenge::parse("slack"), None);
    }

    #[test]
    fn every_kind_recognises_its_request_and_accepts_its_own_answer() {
        for c in Challenge::ALL {
            let req = c.request("tok-123", 1_700_000_000_000);
            let token = c
                .recognise(req.method, &crate::header_lookup(&req.headers), &req.body)
                .unwrap_or_else(|| panic!("{c} not recognised"));
            // Discord's Webhook Events PING carries no token.
            let sent = if c == Challenge::DiscordWebhookPing {
                ""
            } else {
                "tok-123"
            };
            assert_eq!(token, sent, "{c}");
            let answer = c.answer(&secret(), &token);
            assert_eq!(
                c.judge(&secret(), "tok-123", answer.status, &answer.body),
                Ok(()),
                "{c}"
            );
            // An ordinary acknowledgement is not the answer, nor is the
            // answer with another success status.
            let err = c.judge(&secret(), "tok-123", 200, b"{}").unwrap_err();
            assert!(!err.is_empty(), "{c}");
            let other = if answer.status == 200 { 204 } else { 200 };
            assert!(
                c.judge(&secret(), "tok-123", other, &answer.body).is_err(),
                "{c}"
            );
        }
    }

    #[test]
    fn ordinary_deliveries_are_not_challenges() {
        let event = br#"{"type":"event_callback","event":{"type":"message"}}"#;
        let none = |_: &str| None;
        assert_eq!(
            Challenge::SlackUrlVerification.recognise("POST", &none, event),
            None
        );
        assert_eq!(
            Challenge::ZoomUrlValidation.recognise(
                "POST",
                &none,
                br#"{"event":"meeting.started"}"#
            ),
            None
        );
        assert_eq!(
            Challenge::DiscordPing.recognise("POST", &none, br#"{"type":2}"#),
            None
        );
        // A Webhook Events delivery is type 1, with its `event`.
        let event =
            br#"{"version":1,"application_id":"1","type":1,"event":{"type":"ENTITLEMENT_CREATE"}}"#;
        assert_eq!(
            Challenge::DiscordWebhookPing.recognise("POST", &none, event),
            None
        );
        assert_eq!(
            Challenge::DiscordWebhookPing.recognise("POST", &none, br#"{"type":0,"event":{}}"#),
            None
        );
        assert_eq!(
            Challenge::OktaVerification.recognise("POST", &none, b""),
            None
        );
        assert_eq!(
            Challenge::OktaVerification.recognise("GET", &none, b""),
            None
        );
    }

    #[test]
    fn zoom_encrypted_token_is_the_hmac_of_the_plain_token() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let jefe = Secret::new("Jefe".into());
        assert_eq!(
            zoom_encrypted_token(&jefe, "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let wrong_key = zoom_encrypted_token(&Secret::new("other".into()), "t");
        let body = json!({"plainToken": "t", "encryptedToken": wrong_key}).to_string();
        let err = Challenge::ZoomUrlValidation
            .judge(&secret(), "t", 200, body.as_bytes())
            .unwrap_err();
        assert!(err.contains("encryptedToken"), "{err}");
        let upper = zoom_encrypted_token(&secret(), "t").to_uppercase();
        let body = json!({"plainToken": "t", "encryptedToken": upper}).to_string();
        assert_eq!(
            Challenge::ZoomUrlValidation.judge(&secret(), "t", 200, body.as_bytes()),
            Ok(()),
            "hex is case-insensitive"
        );
    }

    #[test]
    fn slack_accepts_plain_text_form_and_json_answers() {
        let slack = Challenge::SlackUrlVerification;
        for body in [
            "3eZbrw1aBm2r".to_string(),
            "3eZbrw1aBm2r\n".to_string(),
            "challenge=3eZbrw1aBm2r".to_string(),
            r#"{"challenge":"3eZbrw1aBm2r"}"#.to_string(),
        ] {
            assert_eq!(
                slack.judge(&secret(), "3eZbrw1aBm2r", 200, body.as_bytes()),
                Ok(()),
                "{body}"
            );
        }
        assert_eq!(
            slack.judge(&secret(), "a b/c", 200, b"challenge=a+b%2Fc"),
            Ok(())
        );
        let err = slack.judge(&secret(), "abc", 200, b"ok").unwrap_err();
        assert!(err.contains("echoes `ok`"), "{err}");
        let err = slack
            .judge(&secret(), "abc", 200, br#"{"ok":true}"#)
            .unwrap_err();
        assert!(err.contains("no `challenge`"), "{err}");
        let err = slack.judge(&secret(), "abc", 500, b"abc").unwrap_err();
        assert!(err.contains("HTTP 200, got 500"), "{err}");
    }

    #[test]
    fn discord_and_okta_answers_are_judged_by_their_fields() {
        let d = Challenge::DiscordPing;
        assert_eq!(d.judge(&secret(), "", 200, br#"{"type": 1}"#), Ok(()));
        assert!(d.judge(&secret(), "", 200, br#"{"type": 4}"#).is_err());
        // The Webhook Events PING is judged by its status alone.
        let w = Challenge::DiscordWebhookPing;
        assert_eq!(w.judge(&secret(), "", 204, b""), Ok(()));
        let err = w.judge(&secret(), "", 200, br#"{"type": 0}"#).unwrap_err();
        assert!(err.contains("expects HTTP 204, got 200"), "{err}");
        let o = Challenge::OktaVerification;
        assert_eq!(
            o.judge(&secret(), "v1", 200, br#"{"verification":"v1"}"#),
            Ok(())
        );
        let err = o
            .judge(&secret(), "v1", 200, br#"{"verification":"v2"}"#)
            .unwrap_err();
        assert!(err.contains("not the challenge `v1`"), "{err}");
    }
}
