//! Replaying a finding: the request a report kept as a finding's
//! reproduction, sent again with a fresh message id, timestamp and
//! signature, so it still reproduces after the recorded signature has
//! expired (a timestamped scheme's receiver refuses it five minutes later).
//!
//! The body is the recorded one, byte for byte (`request.body`, or the
//! `repro/F<n>.body` file). A signature case (`stale`, `tampered-body`,
//! `alg-none`, ...) is rebuilt at the current time by
//! [`generators::apply_case`], so it is the same forgery, fresh; any other
//! variant is signed validly. The report's other headers (content type,
//! extra ones) are kept, except values the report redacted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use generators::{Provider, Secret, SignatureCase, Signer, Verifier};
use reports::{Finding, Report, RunInfo};

use crate::client::{ClientOptions, Response, SendError};
use crate::secret::REDACTED;
use crate::target::Target;
use crate::verdict::usage;

/// The longest a replay waits by default: the provider's deadline, capped
/// so replaying a hanging receiver's finding does not take a minute.
pub use crate::traffic::MAX_DEFAULT_TIMEOUT;

/// How much of the answer's body is printed.
const BODY_SHOWN: usize = 600;

/// The answer's headers worth printing, in this order, when present.
const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "www-authenticate",
    "retry-after",
    "location",
];

/// A finding read from a report directory, with the exact body to send.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The report directory.
    pub dir: PathBuf,
    /// What the report says was run (provider, target).
    pub run: RunInfo,
    /// The finding.
    pub finding: Finding,
    /// Its request's body, byte for byte.
    pub body: Vec<u8>,
}

/// Reads `dir/report.json` and the finding `id` (`F3`, case-insensitive)
/// with its body. Every way this can fail is a usage error: no report,
/// a report of version 1 (its findings kept only an excerpt of the body),
/// a report with no findings, an unknown id (with the ids there are), a
/// `repro/` file that cannot be read.
pub fn read(dir: &Path, id: &str) -> anyhow::Result<Recorded> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        usage(format!(
            "cannot read {}: {e} (give the directory a `check --out DIR` wrote)",
            path.display()
        ))
    })?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
    let report = Report::from_json(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    if version == Some(1) {
        return Err(usage(format!(
            "{} is a version-1 report: its failures kept only an excerpt of each body, so \
             nothing can be replayed; re-run `hookstorm check --out DIR` with this hookstorm",
            path.display()
        )));
    }
    let Some(finding) = report.finding(id).cloned() else {
        return Err(usage(unknown_finding(&report, id, &path)));
    };
    let body = body_of(&finding, dir)?;
    Ok(Recorded {
        dir: dir.to_path_buf(),
        run: report.run,
        finding,
        body,
    })
}

/// Why `id` names no finding, and what the report has instead.
fn unknown_finding(report: &Report, id: &str, path: &Path) -> String {
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    if ids.is_empty() {
        return format!(
            "{} has no findings: every check passed or was skipped, nothing to replay",
            path.display()
        );
    }
    let shown = if ids.len() > 12 {
        format!("{} … {}", ids[..10].join(", "), ids[ids.len() - 1])
    } else {
        ids.join(", ")
    };
    let hint = generators::did_you_mean(&id.to_ascii_uppercase(), ids.iter().copied())
        .map(|s| format!("; did you mean {s}?"))
        .unwrap_or_default();
    format!(
        "no finding `{id}` in {}{hint} (its findings: {shown})",
        path.display()
    )
}

/// The exact bytes of the finding's body: inline, or its `repro/` file.
fn body_of(finding: &Finding, dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(body) = &finding.request.body {
        return Ok(body.as_bytes().to_vec());
    }
    let Some(file) = &finding.request.body_file else {
        return Err(usage(format!(
            "finding {} kept no body (only an excerpt): re-run `hookstorm check --out DIR`",
            finding.id
        )));
    };
    let path = dir.join(file);
    std::fs::read(&path).map_err(|e| {
        usage(format!(
            "cannot read {} (finding {}'s body): {e}",
            path.display(),
            finding.id
        ))
    })
}

/// What goes on the wire, and what was changed on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebuilt {
    /// Headers as sent.
    pub headers: Vec<(String, String)>,
    /// The body as sent: the recorded one.
    pub body: Vec<u8>,
    /// The signature case rebuilt, if the variant is one.
    pub case: Option<String>,
    /// Headers of the report not sent because their value was redacted.
    pub dropped: Vec<String>,
}

/// The finding's request with a fresh message id `msg_id` and signature at
/// `now_unix`. A signature case keeps its forgery: a timestamp case signs
/// as far from `now_unix` as it did from its own time; a case that changed
/// the body after signing (`tampered-body`, `reserialized-body`) signs the
/// changed form and sends the recorded bytes, so the signature and the body
/// differ exactly as much as they did.
pub fn rebuild(
    finding: &Finding,
    body: &[u8],
    signer: &Signer,
    secret: &Secret,
    msg_id: &str,
    now_unix: i64,
) -> Rebuilt {
    let scheme = signer.scheme();
    let case: Option<SignatureCase> = generators::signature_cases(scheme)
        .into_iter()
        .find(|c| c.label == finding.variant);
    let fresh: Vec<(String, String)> = match &case {
        Some(case) => {
            let forged = generators::apply_case(case, signer, secret, body, msg_id, now_unix);
            if forged.body == body {
                forged.headers
            } else {
                signer.sign(&forged.body, msg_id, now_unix)
            }
        }
        None => signer.sign(body, msg_id, now_unix),
    };
    let signing = signing_headers(signer, body, msg_id, now_unix);
    let mut headers = Vec::new();
    let mut dropped = Vec::new();
    for (name, value) in &finding.request.headers {
        if signing.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            continue;
        }
        if value.contains(REDACTED) {
            dropped.push(name.clone());
            continue;
        }
        headers.push((name.clone(), value.clone()));
    }
    // The report's content type is the one sent (the wrong-content-type
    // variant depends on it); the case's own is dropped.
    headers.extend(
        fresh
            .into_iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("content-type")),
    );
    Rebuilt {
        headers,
        body: body.to_vec(),
        case: case.map(|c| c.label.to_string()),
        dropped,
    }
}

/// Every header the scheme writes (signature, id, timestamp, static
/// ones): the report's values of these are replaced, never resent.
fn signing_headers(signer: &Signer, body: &[u8], msg_id: &str, now_unix: i64) -> Vec<String> {
    let scheme = signer.scheme();
    let mut names: Vec<String> = signer
        .sign(body, msg_id, now_unix)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.push(scheme.signature_header().to_string());
    if let Some(declared) = scheme.declared() {
        names.extend(declared.id_header.clone());
        names.extend(declared.timestamp.as_ref().and_then(|t| t.header.clone()));
        names.extend(declared.static_headers.iter().map(|(n, _)| n.clone()));
    }
    names
}

/// Everything a replay needs.
#[derive(Clone, Debug)]
pub struct ReplayPlan {
    /// The finding and its body.
    pub recorded: Recorded,
    /// The provider whose scheme signs it.
    pub provider: Provider,
    /// Where it goes.
    pub target: Target,
    /// The shared secret.
    pub secret: Secret,
    /// How to connect.
    pub client: ClientOptions,
    /// How long the request may take.
    pub timeout: Duration,
}

/// What a replay sent and got.
#[derive(Debug)]
pub struct Replayed {
    /// The request as sent.
    pub sent: Rebuilt,
    /// The timestamp it claims (schemes that carry one).
    pub timestamp: Option<i64>,
    /// The answer, or why there was none.
    pub answer: Result<Response, SendError>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Sends the plan's finding once, freshly signed.
pub async fn run(plan: &ReplayPlan) -> anyhow::Result<Replayed> {
    let scheme = plan.provider.scheme();
    let signer = plan.target.signer(scheme, &plan.secret, None)?;
    let msg_id = generators::message_id(generators::seeded_bits(crate::clock::random_seed(), 0));
    let mut sent = rebuild(
        &plan.recorded.finding,
        &plan.recorded.body,
        &signer,
        &plan.secret,
        &msg_id,
        crate::clock::now_unix(),
    );
    // The report keeps a type header among the request's headers; one
    // written before type headers were sent gets it from the finding.
    generators::name_type(
        plan.provider.profile(),
        &plan.recorded.finding.request.event_type,
        &mut sent.headers,
    );
    let timestamp = Verifier::new(scheme, &plan.secret)
        .ok()
        .and_then(|v| v.claimed_timestamp(&|name| header(&sent.headers, name)));
    let client = crate::client::Client::new(plan.client.clone())?;
    let started = Instant::now();
    let answer = client
        .send(
            &plan.target,
            &plan.recorded.finding.request.method,
            &sent.headers,
            Bytes::from(sent.body.clone()),
            plan.timeout,
        )
        .await;
    Ok(Replayed {
        sent,
        timestamp,
        answer,
        elapsed: started.elapsed(),
    })
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    generators::header_in(headers, name).map(str::to_owned)
}

/// The replay as the terminal shows it: what was replayed, what was sent,
/// the answer (status, a few headers, the start of the body, with every
/// secret the request carried blanked) and how it compares with the
/// report's.
pub fn render(plan: &ReplayPlan, replayed: &Replayed) -> String {
    let f = &plan.recorded.finding;
    let mut out = String::new();
    let line = |out: &mut String, label: &str, text: String| {
        out.push_str(&format!("{label:<12}{text}\n"));
    };
    line(
        &mut out,
        "replay",
        format!(
            "{} {} {} `{}` [{}] · {} → {}",
            f.id,
            f.level,
            f.check,
            f.variant,
            f.types_phrase(),
            plan.provider.name(),
            plan.target
        ),
    );
    let from = match &f.request.body_file {
        Some(file) => format!(" from {file}"),
        None => String::new(),
    };
    let signed = match (&replayed.sent.case, replayed.timestamp) {
        (Some(case), Some(ts)) => format!("the `{case}` case rebuilt now (timestamp {ts})"),
        (Some(case), None) => format!("the `{case}` case rebuilt now"),
        (None, Some(ts)) => format!("signed now (timestamp {ts})"),
        (None, None) => "signed now".to_string(),
    };
    line(
        &mut out,
        "sent",
        format!(
            "{} {} · {} B body{from} · fresh id, {signed}",
            f.request.method,
            plan.target,
            replayed.sent.body.len()
        ),
    );
    if !replayed.sent.dropped.is_empty() {
        line(
            &mut out,
            "",
            format!(
                "not sent (redacted in the report): {}",
                replayed.sent.dropped.join(", ")
            ),
        );
    }
    if f.status_class == "ledger" || f.variant.starts_with("duplicate") || f.variant == "burst" {
        line(
            &mut out,
            "",
            format!(
                "note: `{}` judged more than this one answer (the ledger, other deliveries); \
                 a replay shows the answer only",
                f.check
            ),
        );
    }
    let ms = replayed.elapsed.as_millis();
    match &replayed.answer {
        Ok(response) => {
            line(
                &mut out,
                "answer",
                format!("{} in {ms} ms", response.status),
            );
            for name in SHOWN_HEADERS {
                if let Some(v) = header(&response.headers, name) {
                    line(
                        &mut out,
                        "",
                        format!(
                            "{name}: {}",
                            scrubbed(plan, &replayed.sent, v.as_bytes(), 200)
                        ),
                    );
                }
            }
            if !response.body.is_empty() {
                line(
                    &mut out,
                    "body",
                    scrubbed(plan, &replayed.sent, &response.body, BODY_SHOWN)
                        .replace(['\r', '\n'], " "),
                );
            }
            let now = reports::finding::status_class(Some(response.status), None);
            line(&mut out, "then / now", compare(f, &now));
        }
        Err(e) => {
            line(&mut out, "no answer", format!("{e} (after {ms} ms)"));
            let now = reports::finding::status_class(None, Some(&e.to_string()));
            line(&mut out, "then / now", compare(f, &now));
        }
    }
    out
}

/// The report's answer next to the replay's.
fn compare(f: &Finding, now: &str) -> String {
    let then = &f.status_class;
    if then == "ledger" {
        format!("the report judged the ledger; now {now}")
    } else if then == now {
        format!(
            "{then} → {now}: the same answer as in the report ({})",
            f.level
        )
    } else {
        format!("{then} → {now}: the answer changed since the report")
    }
}

/// The start of `bytes` without any secret the request carried (a
/// receiver that echoes its request must not print the token).
fn scrubbed(plan: &ReplayPlan, sent: &Rebuilt, bytes: &[u8], max: usize) -> String {
    let secrets = crate::secret::authorization_tokens(&sent.headers)
        .chain([plan.secret.expose()])
        .chain(plan.target.credentials.as_ref().map(|c| c.token()));
    let text = crate::secret::scrub(&String::from_utf8_lossy(bytes), secrets);
    reports::excerpt(text.as_bytes(), max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use generators::ProviderId;
    use reports::{Level, RequestSummary};

    fn finding(variant: &str, headers: Vec<(String, String)>, body: &str) -> Finding {
        Finding {
            id: "F1".into(),
            check: "rejects_bad_signature".into(),
            variant: variant.into(),
            level: Level::Fail,
            status_class: "2xx".into(),
            event_types: vec!["message.created".into()],
            probes: 1,
            message: String::new(),
            request: RequestSummary {
                method: "POST".into(),
                url: "http://127.0.0.1:1/hooks".into(),
                headers,
                body_excerpt: String::new(),
                event_type: "message.created".into(),
                body: Some(body.into()),
                body_file: None,
                body_len: body.len(),
            },
            response_status: Some(200),
            response_excerpt: String::new(),
            error: None,
            curl: String::new(),
            expires: None,
            repro: None,
        }
    }

    fn sw() -> (Provider, Secret, Signer) {
        let provider = Provider::builtin(ProviderId::StandardWebhooks);
        let secret = crate::demo::demo_secret(&ProviderId::StandardWebhooks.profile().scheme);
        let signer = Signer::new(provider.scheme(), &secret).unwrap();
        (provider, secret, signer)
    }

    fn verify_at(provider: &Provider, secret: &Secret, r: &Rebuilt, now: i64) -> bool {
        let lookup = |n: &str| header(&r.headers, n);
        generators::verify(provider.scheme(), secret, &lookup, &r.body, now).is_ok()
    }

    const BODY: &str = r#"{"type":"message.created","data":{"n":"abc"}}"#;

    fn recorded_headers(signer: &Signer, at: i64) -> Vec<(String, String)> {
        let mut h = vec![
            ("content-type".to_string(), "text/plain".to_string()),
            ("x-extra".to_string(), "kept".to_string()),
            ("x-token".to_string(), format!("Bearer {REDACTED}")),
        ];
        h.extend(signer.sign(BODY.as_bytes(), "msg_old", at));
        h
    }

    #[test]
    fn a_valid_variant_is_signed_now_with_a_fresh_id_and_keeps_the_other_headers() {
        let (provider, secret, signer) = sw();
        let then = 1_700_000_000;
        let now = then + 3_600;
        let f = finding("unknown-field-top", recorded_headers(&signer, then), BODY);
        let r = rebuild(&f, BODY.as_bytes(), &signer, &secret, "msg_new", now);
        assert_eq!(r.body, BODY.as_bytes());
        assert_eq!(r.case, None);
        assert_eq!(r.dropped, ["x-token"]);
        assert_eq!(
            header(&r.headers, "content-type").as_deref(),
            Some("text/plain")
        );
        assert_eq!(header(&r.headers, "x-extra").as_deref(), Some("kept"));
        assert_eq!(header(&r.headers, "webhook-id").as_deref(), Some("msg_new"));
        assert_eq!(
            header(&r.headers, "webhook-timestamp"),
            Some(now.to_string())
        );
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names.iter().filter(|n| **n == "webhook-signature").count(),
            1
        );
        assert!(verify_at(&provider, &secret, &r, now));
        // The recorded request itself is stale by then.
        let old = Rebuilt {
            headers: f.request.headers.clone(),
            ..r.clone()
        };
        assert!(!verify_at(&provider, &secret, &old, now));
    }

    #[test]
    fn signature_cases_are_the_same_forgery_fresh() {
        let (provider, secret, signer) = sw();
        let now = 1_700_003_600;
        let recorded = recorded_headers(&signer, now - 3_600);
        let stale = rebuild(
            &finding("stale", recorded.clone(), BODY),
            BODY.as_bytes(),
            &signer,
            &secret,
            "m",
            now,
        );
        assert_eq!(stale.case.as_deref(), Some("stale"));
        assert_eq!(
            header(&stale.headers, "webhook-timestamp"),
            Some((now - 305).to_string())
        );
        assert!(!verify_at(&provider, &secret, &stale, now), "stale now");
        assert!(
            verify_at(&provider, &secret, &stale, now - 305),
            "validly signed then"
        );

        // The recorded (tampered) bytes are sent; the signature covers a
        // one-character change of them.
        let tampered = rebuild(
            &finding("tampered-body", recorded.clone(), BODY),
            BODY.as_bytes(),
            &signer,
            &secret,
            "m",
            now,
        );
        assert_eq!(tampered.body, BODY.as_bytes());
        assert!(!verify_at(&provider, &secret, &tampered, now));

        let missing = rebuild(
            &finding("missing", recorded, BODY),
            BODY.as_bytes(),
            &signer,
            &secret,
            "m",
            now,
        );
        assert_eq!(header(&missing.headers, "webhook-signature"), None);
        assert_eq!(
            header(&missing.headers, "webhook-timestamp"),
            Some(now.to_string())
        );
    }
}
