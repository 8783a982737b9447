//! What is secret, and where it comes from.
//!
//! The shared secret comes from an environment variable, never a flag
//! value or a file field, so it stays out of shell history, process lists
//! and reviewed scenario files. Besides it, two other things a user hands
//! the harness are secrets: the `user:password@` of a URL (sent as HTTP
//! Basic credentials, RFC 7617, and never shown) and the value of a
//! scenario's `secret` given with `--set`. Everything that prints or writes
//! a URL or a `--set` the user typed goes through [`redact_url`] or
//! [`redact_setting`] first, and a receiver's answer that is kept goes
//! through [`scrub`]: a receiver that echoes its request (as debugging
//! endpoints do) would otherwise put the token it got into the report.

use generators::Secret;

use crate::verdict::usage;

/// The variable holding the shared secret when none is named: a scenario
/// without `secret:`, and every command's `--secret-env` default.
pub const DEFAULT_SECRET_ENV: &str = "HOOK_SECRET";

/// What replaces a secret in anything printed or written.
pub const REDACTED: &str = "<redacted>";

/// Reads the shared secret from `var`; an unset or empty variable is a
/// usage error that says how to set it.
pub fn from_env(var: &str) -> anyhow::Result<Secret> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => Err(usage(format!(
            "environment variable {var} is not set: export the secret your receiver verifies with \
             (e.g. `export {var}=...`), or name another variable with --secret-env"
        ))),
    }
}

/// `url` with its userinfo (`user:password@`, RFC 3986 §3.2.1) replaced by
/// [`REDACTED`]. Works on text that is not a valid URL too (a mistyped
/// target is echoed in its error message), so it finds the authority by
/// hand: after `://` (or from the start), up to the first `/`, `?` or `#`;
/// the userinfo ends at its last `@`.
pub fn redact_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |at| at + 3);
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{}{REDACTED}{}", &url[..start], &rest[at..]),
        None => url.to_string(),
    }
}

/// A `--set key=value` override as it may be shown: the value of a key
/// named `secret` (anything but a `${VAR}` reference, which names where the
/// secret is, not what it is) is [`REDACTED`], and any URL userinfo in the
/// value is too.
pub fn redact_setting(setting: &str) -> String {
    let Some((path, value)) = setting.split_once('=') else {
        return redact_url(setting);
    };
    let key = path.trim().rsplit('.').next().unwrap_or_default();
    let reference = value.starts_with("${") && value.ends_with('}');
    if key == "secret" && !reference {
        format!("{path}={REDACTED}")
    } else {
        format!("{path}={}", redact_url(value))
    }
}

/// `text` with the userinfo of every URL in it overwritten with `*`, byte
/// for byte (positions into the text stay valid): the file snippets a
/// diagnostic prints never show a URL's password.
pub fn blank_userinfo(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let start = from + found + 3;
        let end = text[start..]
            .find(|c: char| "/?#\"',]} \t\r\n".contains(c))
            .map_or(text.len(), |at| start + at);
        if let Some(at) = text[start..end].rfind('@') {
            bytes[start..start + at].fill(b'*');
        }
        from = end.max(start);
    }
    // Only whole characters were overwritten with ASCII, so this is UTF-8;
    // the fallback keeps the original rather than panic.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}

/// `text` with every occurrence of each of `secrets` replaced by
/// [`REDACTED`]. Values under 4 bytes are left alone: blanking them would
/// blank ordinary text and hide nothing.
pub fn scrub<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut secrets: Vec<&str> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
    // Longest first, so a secret that contains another goes whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.into_iter().fold(text.to_string(), |text, secret| {
        text.replace(secret, REDACTED)
    })
}

/// The credentials of a request's `Authorization` headers (the part after
/// the scheme word, `Bearer`, `Basic`): what a request carries in clear.
pub fn authorization_tokens(headers: &[(String, String)]) -> impl Iterator<Item = &str> {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| {
            value
                .split_once(' ')
                .map_or(value.as_str(), |(_, token)| token)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_userinfo_is_redacted_and_the_rest_kept() {
        for (url, shown) in [
            (
                "http://u:p@127.0.0.1:8080/hooks?x=1",
                "http://<redacted>@127.0.0.1:8080/hooks?x=1",
            ),
            ("https://token@h/", "https://<redacted>@h/"),
            // The userinfo ends at the last `@` of the authority.
            ("http://a@b:c@h/p@q", "http://<redacted>@h/p@q"),
            // Not a URL at all, still no password.
            ("u:p w@h:1/x", "<redacted>@h:1/x"),
            ("http://h/a@b", "http://h/a@b"),
            ("http://127.0.0.1:8080/hooks", "http://127.0.0.1:8080/hooks"),
            ("", ""),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn file_snippets_lose_url_passwords_but_keep_their_length() {
        let text = "target: http://u:pw@h:1/x\nledger: {url: \"https://tök@h/l\"}\nnote: a@b://c\n";
        let blanked = blank_userinfo(text);
        assert_eq!(
            blanked,
            "target: http://****@h:1/x\nledger: {url: \"https://****@h/l\"}\nnote: a@b://c\n"
        );
        assert_eq!(blanked.len(), text.len());
        assert_eq!(blank_userinfo("no urls"), "no urls");
    }

    #[test]
    fn echoed_secrets_are_scrubbed() {
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("Authorization".to_string(), "Bearer tok-123".to_string()),
        ];
        let tokens: Vec<&str> = authorization_tokens(&headers).collect();
        assert_eq!(tokens, ["tok-123"]);
        let echo = "{\"authorization\":\"Bearer tok-123\",\"key\":\"hunter2-x\",\"a\":\"tok\"}";
        assert_eq!(
            scrub(echo, tokens.into_iter().chain(["hunter2-x", "tok"])),
            "{\"authorization\":\"Bearer <redacted>\",\"key\":\"<redacted>\",\"a\":\"tok\"}"
        );
        assert_eq!(
            scrub("ab-secret-cd", ["secret", "ab-secret"]),
            "<redacted>-cd"
        );
    }

    #[test]
    fn settings_hide_secret_values_and_url_passwords() {
        assert_eq!(redact_setting("secret=hunter2"), "secret=<redacted>");
        assert_eq!(redact_setting(" secret =x=y"), " secret =<redacted>");
        assert_eq!(redact_setting("secret=${TOKEN}"), "secret=${TOKEN}");
        assert_eq!(
            redact_setting("target=http://u:pw@h:1/x"),
            "target=http://<redacted>@h:1/x"
        );
        assert_eq!(
            redact_setting("ledger.url=http://u:pw@h/ledger"),
            "ledger.url=http://<redacted>@h/ledger"
        );
        assert_eq!(
            redact_setting("steps.2.load.rate=50"),
            "steps.2.load.rate=50"
        );
        assert_eq!(redact_setting("no-equals"), "no-equals");
    }
}
