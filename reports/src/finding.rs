//! Findings, not rows (after Schemathesis' unique failures): the probes of
//! one check that share a variant, a level and a status class are one
//! finding, whatever the event types, with one reproduction.
//!
//! A finding's body is inlined only when it is text of at most
//! [`INLINE_BODY_MAX`] bytes; otherwise it is written once to
//! `repro/F<n>.body` in the report directory and the `curl` line reads it.

use serde::{Deserialize, Serialize};

use crate::level::Level;
use crate::request::{curl_command, RequestSummary};

/// The largest body inlined in a report, a `curl` line or a rendering.
pub const INLINE_BODY_MAX: usize = 4 * 1024;

/// One grouped finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// `F1`, `F2`, ... in severity order; what `replay` is given.
    pub id: String,
    /// The check that judged it.
    pub check: String,
    /// The variant or case sent (`valid`, `tampered-body`, ...).
    pub variant: String,
    /// How it was judged.
    pub level: Level,
    /// What came back, as a class: `2xx`, `4xx`, `5xx`, `timeout`,
    /// `dropped`, `no answer`, or `ledger` for what the ledger showed.
    pub status_class: String,
    /// Every event type it was seen for.
    pub event_types: Vec<String>,
    /// How many probes it groups.
    pub probes: u32,
    /// What was observed and why it is at this level.
    pub message: String,
    /// The reproduction: one request, the smallest of the group.
    pub request: RequestSummary,
    /// The status received, if any.
    pub response_status: Option<u16>,
    /// The start of the response body.
    pub response_excerpt: String,
    /// The transport error, if the request got no status.
    pub error: Option<String>,
    /// A `curl` command line reproducing the request (run it in the report
    /// directory when the body is a `repro/` file).
    pub curl: String,
    /// When the reproduction's signature stops being accepted, and what
    /// to use instead (timestamped schemes only).
    #[serde(default)]
    pub expires: Option<String>,
    /// The exact body until the report directory is written
    /// (`repro/F<n>.body`); not part of `report.json`.
    #[serde(skip)]
    pub repro: Option<Vec<u8>>,
}

impl Finding {
    /// The key probes are grouped by: check, variant, level, status class.
    fn key(&self) -> (&str, &str, Level, &str) {
        (&self.check, &self.variant, self.level, &self.status_class)
    }

    /// The event types as one short phrase: `user.created`, or
    /// `user.created and 43 more`.
    pub fn types_phrase(&self) -> String {
        match self.event_types.as_slice() {
            [] => "-".into(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        }
    }
}

/// The status class of an answer: `2xx`..`5xx` from a status, else from
/// the transport error (`timeout`, `dropped`, `no answer`).
pub fn status_class(status: Option<u16>, error: Option<&str>) -> String {
    match (status, error) {
        (Some(s), _) => format!("{}xx", s / 100),
        (None, Some(e)) if e.starts_with("timeout") => "timeout".into(),
        (None, Some(e)) if e.starts_with("reset") || e.starts_with("protocol") => "dropped".into(),
        (None, Some(e)) if e.starts_with("ledger") => "ledger".into(),
        _ => "no answer".into(),
    }
}

/// Groups per-probe findings (ids empty, `repro` holding each body) into
/// findings: same key → one finding listing every event type, keeping the
/// smallest reproduction; sorted most severe first (then in order of first
/// appearance), numbered `F1`.., and each body either inlined or left in
/// `repro` for `repro/F<n>.body` with a `curl` line reading that file.
pub fn group(observed: Vec<Finding>) -> Vec<Finding> {
    let mut grouped: Vec<Finding> = Vec::new();
    for f in observed {
        match grouped.iter_mut().find(|g| g.key() == f.key()) {
            Some(g) => {
                for t in &f.event_types {
                    if !g.event_types.contains(t) {
                        g.event_types.push(t.clone());
                    }
                }
                let probes = g.probes.saturating_add(f.probes);
                if f.request.body_len < g.request.body_len {
                    let types = std::mem::take(&mut g.event_types);
                    *g = f;
                    g.event_types = types;
                }
                g.probes = probes;
            }
            None => grouped.push(f),
        }
    }
    grouped.sort_by_key(|f| std::cmp::Reverse(f.level));
    for (i, f) in grouped.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
        settle_body(f);
    }
    grouped
}

/// Decides where the finding's body lives and writes its `curl` line.
/// Findings without `repro` bytes (read from a file) keep theirs, but a
/// `curl` line longer than any inlined body could make is replaced by a
/// pointer (version-1 reports inlined bodies of any size).
fn settle_body(f: &mut Finding) {
    let Some(body) = &f.repro else {
        if f.curl.len() > 2 * INLINE_BODY_MAX + 2048 {
            f.curl = format!(
                "(a {}-byte curl line from an older report, not shown: re-run the check for a repro/ file)",
                f.curl.len()
            );
        }
        return;
    };
    f.request.body_len = body.len();
    let text = std::str::from_utf8(body).ok().filter(|t| {
        body.len() <= INLINE_BODY_MAX
            && !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    });
    let url = f.request.url.clone();
    match text {
        Some(text) => {
            f.request.body = Some(text.to_string());
            f.request.body_file = None;
            f.curl = curl_command(&f.request.method, &url, &f.request.headers, body);
            f.repro = None;
        }
        None => {
            let file = format!("repro/{}.body", f.id);
            f.curl = curl_with_file(&f.request.method, &url, &f.request.headers, &file);
            f.request.body = None;
            f.request.body_file = Some(file);
        }
    }
}

/// A `curl` line sending the bytes of `file` (relative to the report
/// directory) as the body.
fn curl_with_file(method: &str, url: &str, headers: &[(String, String)], file: &str) -> String {
    let line = curl_command(method, url, headers, b"BODY");
    line.replacen("--data-binary BODY", &format!("--data-binary @{file}"), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(ty: &str, level: Level, status: u16, body: Vec<u8>) -> Finding {
        Finding {
            id: String::new(),
            check: "rejects_invalid".into(),
            variant: "oversized-body".into(),
            level,
            status_class: status_class(Some(status), None),
            event_types: vec![ty.into()],
            probes: 1,
            message: "accepted".into(),
            request: RequestSummary {
                method: "POST".into(),
                url: "http://127.0.0.1:1/hooks".into(),
                headers: vec![("content-type".into(), "application/json".into())],
                body_excerpt: String::new(),
                event_type: ty.into(),
                body: None,
                body_file: None,
                body_len: body.len(),
            },
            response_status: Some(status),
            response_excerpt: String::new(),
            error: None,
            curl: String::new(),
            expires: None,
            repro: Some(body),
        }
    }

    #[test]
    fn groups_across_types_keeps_the_smallest_and_files_big_bodies() {
        let big = vec![b'a'; INLINE_BODY_MAX + 1];
        let found = group(vec![
            observed("a", Level::Info, 200, big.clone()),
            observed("b", Level::Info, 200, vec![b'x'; INLINE_BODY_MAX + 10]),
            observed("c", Level::Fail, 200, b"{}".to_vec()),
            observed("d", Level::Info, 204, big),
        ]);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!((found[0].id.as_str(), found[0].level), ("F1", Level::Fail));
        assert_eq!(found[0].request.body.as_deref(), Some("{}"));
        assert!(found[0].repro.is_none());
        let info = &found[1];
        assert_eq!(info.event_types, ["a", "b", "d"]);
        assert_eq!(info.probes, 3);
        assert_eq!(info.request.body_file.as_deref(), Some("repro/F2.body"));
        assert_eq!(info.repro.as_ref().map(Vec::len), Some(INLINE_BODY_MAX + 1));
        assert!(
            info.curl.contains("--data-binary @repro/F2.body"),
            "{}",
            info.curl
        );
        assert!(info.curl.len() < 512, "{}", info.curl);
    }

    #[test]
    fn binary_bodies_go_to_a_file_too() {
        let found = group(vec![observed("a", Level::NonStrict, 500, vec![0xff, 0xfe])]);
        assert_eq!(found[0].request.body_file.as_deref(), Some("repro/F1.body"));
        assert_eq!(found[0].status_class, "5xx");
    }
}
