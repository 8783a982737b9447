//! A finding's request: what was sent, with secrets redacted
//! ([`RequestSummary`], [`redact_headers`]), the start of a body or an answer
//! as text ([`excerpt`]), and a `curl` line that re-sends it
//! ([`curl_command`]). Report, findings and load statistics all use these,
//! so they sit below all three.

use serde::{Deserialize, Serialize};

/// What was sent, with secrets redacted: everything a replay needs besides
/// the secret (method, URL, headers as sent, the body or its `repro/` file,
/// the event type and variant; the provider is the run's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSummary {
    /// HTTP method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Headers as sent, with secrets already redacted.
    pub headers: Vec<(String, String)>,
    /// The start of the body.
    pub body_excerpt: String,
    /// The event type the request carried.
    #[serde(default)]
    pub event_type: String,
    /// The whole body, when it is text of at most [`INLINE_BODY_MAX`](crate::INLINE_BODY_MAX) bytes.
    #[serde(default)]
    pub body: Option<String>,
    /// Otherwise the file holding the exact bytes, relative to the report
    /// directory (`repro/F3.body`).
    #[serde(default)]
    pub body_file: Option<String>,
    /// Length of the body in bytes.
    #[serde(default)]
    pub body_len: usize,
}

/// The start of `bytes` as text (invalid UTF-8 replaced), at most `max`
/// bytes of it, ending in `…(N more bytes)` when cut. Never splits a
/// multi-byte character.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut cut = max;
    if let Err(e) = std::str::from_utf8(&bytes[..cut]) {
        // An incomplete sequence at the very end: cut before it. Invalid
        // bytes elsewhere are left for the lossy conversion to replace.
        if e.error_len().is_none() {
            cut = e.valid_up_to();
        }
    }
    format!(
        "{}…({} more bytes)",
        String::from_utf8_lossy(&bytes[..cut]),
        bytes.len() - cut
    )
}

/// Replaces the values of the named headers (case-insensitive) with
/// `<redacted>`. A value that starts with a scheme word keeps it
/// (`Bearer <redacted>`, `Basic <redacted>`); a value of one word, sent
/// verbatim (Okta, Auth0 Log Streams), is the secret as a whole.
///
/// The caller decides what is secret: an `Authorization` bearer token *is*
/// the shared secret, so it is always redacted; an HMAC signature is derived
/// from the secret and the body and reveals nothing, so it is kept and the
/// `curl` line reproduces a signature failure exactly.
pub fn redact_headers(
    headers: &[(String, String)],
    secret_header_names: &[&str],
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let secret = secret_header_names
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name));
            let shown = if secret {
                match value.trim().split_once(char::is_whitespace) {
                    Some((scheme, _)) => format!("{scheme} <redacted>"),
                    None => "<redacted>".to_string(),
                }
            } else {
                value.clone()
            };
            (name.clone(), shown)
        })
        .collect()
}

/// A copy-pasteable POSIX shell `curl` command sending this request.
///
/// Text bodies are passed with `--data-binary 'quoted'`; bodies with control
/// characters or invalid UTF-8 are piped through `printf` with octal
/// escapes, so the exact bytes (even NUL) reach the receiver.
pub fn curl_command(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> String {
    let mut args = vec!["curl".to_string(), "-sS".into(), "-i".into()];
    args.push("-X".into());
    args.push(shell_quote(method));
    for (name, value) in headers {
        args.push("-H".into());
        args.push(shell_quote(&format!("{name}: {value}")));
    }
    let text = std::str::from_utf8(body)
        .ok()
        .filter(|t| !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
    let mut prefix = String::new();
    if body.is_empty() && method == "GET" {
        // A GET (Okta's verification challenge) has no body at all.
    } else if body.is_empty() {
        // An explicit empty body, so curl sends Content-Length: 0.
        args.push("--data-binary".into());
        args.push("''".into());
    } else if let Some(text) = text {
        args.push("--data-binary".into());
        args.push(shell_quote(text));
    } else {
        prefix = format!("printf {} | ", shell_quote(&printf_escape(body)));
        args.push("--data-binary".into());
        args.push("@-".into());
    }
    args.push(shell_quote(url));
    format!("{prefix}{}", args.join(" "))
}

/// Quotes `s` for a POSIX shell: bare when it is only safe characters,
/// otherwise in single quotes with each `'` written as `'\''`.
fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A `printf` format string producing exactly `bytes`.
fn printf_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        match b {
            b'%' => out.push_str("%%"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn excerpt_cuts_on_char_boundaries_and_counts_the_rest() {
        assert_eq!(excerpt(b"hello", 10), "hello");
        assert_eq!(excerpt(b"hello world", 5), "hello…(6 more bytes)");
        // "é" is two bytes: a cut after its first byte backs off before it.
        assert_eq!(excerpt("abé".as_bytes(), 3), "ab…(2 more bytes)");
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
    }

    #[test]
    fn redacts_only_named_headers_case_insensitively() {
        let headers = vec![
            ("Authorization".to_string(), "Bearer s3cret".to_string()),
            ("x-authgear-body-signature".to_string(), "abcd".to_string()),
            ("X-Api-Key".to_string(), "k3y".to_string()),
        ];
        let out = redact_headers(&headers, &["authorization", "x-api-key"]);
        assert_eq!(out[0].1, "Bearer <redacted>");
        assert_eq!(out[1].1, "abcd", "signatures are kept so curl reproduces");
        assert_eq!(out[2].1, "<redacted>");
        assert!(!format!("{out:?}").contains("s3cret"));
    }

    #[test]
    fn a_secret_value_keeps_any_scheme_word_and_nothing_else() {
        let headers = |v: &str| vec![("authorization".to_string(), v.to_string())];
        let shown = |v: &str| redact_headers(&headers(v), &["Authorization"])[0].1.clone();
        assert_eq!(shown("Signature s3cret"), "Signature <redacted>");
        assert_eq!(shown("  Bearer\ts3cret more"), "Bearer <redacted>");
        assert_eq!(shown(" s3cret "), "<redacted>");
        assert_eq!(shown(""), "<redacted>");
    }

    /// Runs the generated command line through `sh`, with `curl` replaced by
    /// a function printing its arguments and stdin, to prove the quoting
    /// delivers the exact bytes.
    fn run_in_shell(cmd: &str) -> Vec<u8> {
        let script = format!(
            "curl() {{ for a in \"$@\"; do printf '[%s]' \"$a\"; done; \
             case \"$*\" in *@-*) printf '<'; cat; printf '>';; esac; }}\n{cmd}\n"
        );
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn curl_quoting_survives_single_quotes_and_binary() {
        let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        let body = br#"{"name":"O'Brien \"$HOME\" `id` \\n"}"#;
        let cmd = curl_command(
            "POST",
            "http://127.0.0.1:8080/hooks?a=1&b=2",
            &headers,
            body,
        );
        let out = run_in_shell(&cmd);
        let expected = format!(
            "[-sS][-i][-X][POST][-H][Content-Type: application/json][--data-binary][{}][http://127.0.0.1:8080/hooks?a=1&b=2]",
            String::from_utf8_lossy(body)
        );
        assert_eq!(String::from_utf8_lossy(&out), expected);

        let binary = [b'{', 0, 0xff, b'%', b'\\', b'\'', b'\n', b'}'];
        let cmd = curl_command("POST", "http://127.0.0.1/", &[], &binary);
        assert!(cmd.starts_with("printf "), "{cmd}");
        let out = run_in_shell(&cmd);
        let mut expected = b"[-sS][-i][-X][POST][--data-binary][@-][http://127.0.0.1/]<".to_vec();
        expected.extend_from_slice(&binary);
        expected.push(b'>');
        assert_eq!(out, expected);

        // A GET goes without a body (curl would add a form content type).
        let cmd = curl_command("GET", "http://127.0.0.1/", &[], b"");
        assert_eq!(cmd, "curl -sS -i -X GET http://127.0.0.1/");
    }
}
