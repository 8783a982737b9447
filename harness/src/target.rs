//! Where requests go: [`Target`], an `http://` or `https://` URL parsed
//! once where the user gives it (a `--target` or `--ledger-url` flag, a
//! scenario's `target:` or `ledger:`), and [`BasicAuth`], the credentials
//! of its `user:password@`.
//!
//! The URL is checked by the `url` crate (WHATWG), plus what the WHATWG
//! parser lets through but a request cannot use: a port above 65535 or 0,
//! one that is not a number, a missing host. The pieces that are sent (the
//! authority in `Host`, the path and query in the request line and in a
//! signer's `{url}`) are kept byte for byte as typed, never normalised:
//! a receiver that checks the signed URL sees exactly what its user wrote.
//! Each is also checked to be sendable by hyper, so a bad character is a
//! usage error here, not a failed request later.

use std::fmt;
use std::str::FromStr;

use hyper::http::uri::{Authority, PathAndQuery};

use crate::secret::redact_url;
use crate::verdict::usage;

/// Where requests go: a parsed `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Whether the target speaks TLS.
    pub https: bool,
    /// Host name (lowercase, IDNA ASCII form) or IP literal (without IPv6
    /// brackets): what is connected to and named in TLS.
    pub host: String,
    /// TCP port, 1-65535 (the scheme's default when the URL has none).
    pub port: u16,
    /// Path and query sent in the request line, as typed (`/` when the URL
    /// has no path; the fragment is never sent).
    pub path_and_query: String,
    /// The value of the `Host` header: host and port as typed, never the
    /// userinfo (RFC 9110 §7.2 has no place for it).
    pub authority: String,
    /// The URL's `user:password@`, sent as `Authorization: Basic`.
    pub credentials: Option<BasicAuth>,
}

/// The `Authorization: Basic` value (RFC 7617) made from a URL's userinfo:
/// a secret, so its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth(String);

impl BasicAuth {
    /// From a URL's userinfo (`user:password`, percent-encoded as RFC
    /// 3986 §3.2.1 writes it): `Basic base64(user ":" password)`; a user
    /// alone has an empty password (RFC 7617 §2 always has the colon, and
    /// curl sends it so). An invalid `%` escape is kept as it is.
    fn from_userinfo(userinfo: &str) -> BasicAuth {
        use base64::Engine;
        let mut decoded: Vec<u8> = percent_encoding::percent_decode_str(userinfo).collect();
        if !userinfo.contains(':') {
            decoded.push(b':');
        }
        BasicAuth(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(decoded)
        ))
    }

    /// The header value, for the code that sends it.
    pub fn header_value(&self) -> &str {
        &self.0
    }

    /// The base64 credentials after `Basic `, for scrubbing echoes of them.
    pub fn token(&self) -> &str {
        self.0.trim_start_matches("Basic ")
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::secret::REDACTED)
    }
}

/// A URL that cannot be a [`Target`]: the input as it may be shown (its
/// credentials redacted) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URL `{shown}`: {problem}")]
pub struct UrlError {
    /// The URL as typed, its `user:password@` redacted.
    pub shown: String,
    /// What is wrong, e.g. `port 99999 is out of range (1-65535)`.
    pub problem: String,
}

impl Target {
    /// Parses a target URL; only `http` and `https` are accepted. A
    /// `user:password@` becomes [`Target::credentials`]; messages show the
    /// URL without it. The error is a usage error (exit 2).
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        Target::from_str(url).map_err(|e| usage(e.to_string()))
    }

    /// Fails (usage error) when the URL has credentials and `scheme` puts
    /// its own token in `Authorization` (a bearer token): one header cannot
    /// carry both.
    pub fn check_credentials_fit(&self, scheme: &generators::Scheme) -> anyhow::Result<()> {
        if self.credentials.is_some()
            && scheme
                .signature_header()
                .eq_ignore_ascii_case("authorization")
        {
            return Err(usage(format!(
                "target {self} has a user:password@, but this provider signs in \
                 the Authorization header, where HTTP Basic credentials would go: remove them \
                 from the URL"
            )));
        }
        Ok(())
    }

    /// The signer of deliveries to this target: `scheme` keyed by `secret`,
    /// at this URL (which schemes signing `{url}` cover), once the URL's
    /// credentials are known to leave the signature's header free. The one
    /// way checks, loads and replays build a signer, so the signed URL is
    /// always the one sent to. `source` names where the secret came from
    /// in a key error (`$HOOK_SECRET`), when the caller knows.
    pub fn signer(
        &self,
        scheme: &generators::Scheme,
        secret: &generators::Secret,
        source: Option<&str>,
    ) -> anyhow::Result<generators::Signer> {
        self.check_credentials_fit(scheme)?;
        let signer = generators::Signer::new(scheme, secret).map_err(|e| match source {
            Some(source) => usage(format!("{e} (from {source})")),
            None => usage(e.to_string()),
        })?;
        Ok(signer.at_url(&self.url()))
    }

    /// The same server with another path (e.g. `/ledger`).
    pub fn with_path(&self, path: &str) -> Target {
        Target {
            path_and_query: path.to_string(),
            ..self.clone()
        }
    }

    /// The full URL without credentials, for messages, reports, `curl`
    /// lines and a signer's `{url}`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            if self.https { "https" } else { "http" },
            self.authority,
            self.path_and_query
        )
    }

    /// `host:port` suitable for `TcpStream::connect`.
    pub fn socket_addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for Target {
    type Err = UrlError;

    fn from_str(input: &str) -> Result<Target, UrlError> {
        let fail = |problem: String| UrlError {
            shown: redact_url(input),
            problem,
        };
        let Some((scheme, rest)) = input.split_once("://") else {
            return Err(fail(
                "it has no `http://` or `https://`: write it as http://HOST:PORT/PATH".into(),
            ));
        };
        let https = if scheme.eq_ignore_ascii_case("http") {
            false
        } else if scheme.eq_ignore_ascii_case("https") {
            true
        } else {
            return Err(fail(format!(
                "unsupported scheme `{scheme}`: use http:// or https://"
            )));
        };
        // The authority ends where RFC 3986 §3.2 ends it; the fragment is
        // the client's own and never sent.
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (raw_authority, tail) = rest.split_at(end);
        let tail = &tail[..tail.find('#').unwrap_or(tail.len())];
        let (userinfo, host_port) = match raw_authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, raw_authority),
        };
        let explicit_port = port_of(host_port).map_err(fail)?;
        // What the WHATWG parser would repair but a request line or a
        // `Host` header cannot carry (spaces, `\`, non-ASCII names).
        Authority::from_str(raw_authority)
            .map_err(|e| fail(format!("the host part cannot be sent: {e}")))?;
        let path_and_query = match tail {
            "" => "/".to_string(),
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_string(),
        };
        PathAndQuery::from_str(&path_and_query)
            .map_err(|e| fail(format!("the path or query cannot be sent: {e}")))?;
        let parsed = url::Url::parse(input).map_err(|e| fail(e.to_string()))?;
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(fail("it has no host".into())),
        };
        Ok(Target {
            https,
            host,
            port: explicit_port.unwrap_or(if https { 443 } else { 80 }),
            path_and_query,
            authority: host_port.to_string(),
            credentials: userinfo.map(BasicAuth::from_userinfo),
        })
    }
}

/// The port written in `host_port` (`host`, `host:port`, `[v6]:port`), if
/// any (`host:` has none, as RFC 3986 §3.2.3 allows). Fails on a missing
/// host and on a port that no TCP connection can use.
fn port_of(host_port: &str) -> Result<Option<u16>, String> {
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, after)) => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("`{after}` follows the IPv6 address")),
            },
            None => return Err("the IPv6 address has no closing `]`".into()),
        },
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        return Err("it has no host: write it as http://HOST:PORT/PATH".into());
    }
    let port = match port {
        None | Some("") => return Ok(None),
        Some(port) => port,
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port `{port}` is not a number"));
    }
    if port.bytes().all(|b| b == b'0') {
        return Err(format!(
            "port {port} is not one a receiver can listen on: use 1-65535"
        ));
    }
    // Leading zeros do not make a port larger (the `url` crate reads
    // `:08080` as 8080); too many digits for a u16 do.
    port.trim_start_matches('0')
        .parse::<u16>()
        .map(Some)
        .map_err(|_| format!("port {port} is out of range (1-65535)"))
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

/// A clap value parser for URL flags (`--target`, `--ledger-url`): a bad
/// URL is a usage error (exit 2) before anything runs, worded as
/// [`Target::parse`] words it. clap's own "invalid value" message would
/// repeat the URL with its credentials.
#[derive(Clone, Copy, Debug, Default)]
pub struct TargetParser;

impl clap::builder::TypedValueParser for TargetParser {
    type Value = Target;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Target, clap::Error> {
        let flag = arg
            .and_then(|a| a.get_long())
            .map_or_else(|| "the URL".to_string(), |long| format!("--{long}"));
        let fail = |message: String| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, message + "\n").with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| fail(format!("{flag} is not valid UTF-8")))?;
        Target::from_str(text).map_err(|e| {
            fail(format!(
                "invalid URL `{}` for {flag}: {}",
                e.shown, e.problem
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let t = Target::parse("http://127.0.0.1:8080/hooks?x=1").unwrap();
        assert!(!t.https);
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        assert_eq!(t.path_and_query, "/hooks?x=1");
        let t = Target::parse("https://[::1]/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 443));
        assert_eq!(t.socket_addr(), "[::1]:443");
        assert_eq!(t.authority, "[::1]");
        let t = Target::parse("http://[::1]:8080").unwrap();
        assert_eq!((t.port, t.path_and_query.as_str()), (8080, "/"));
        assert_eq!(t.url(), "http://[::1]:8080/");
        assert!(Target::parse("ftp://x/").is_err());
        assert!(Target::parse("localhost:8080").is_err());
    }

    #[test]
    fn what_is_sent_is_kept_as_typed() {
        // The WHATWG parser would lowercase the host, drop `:80`, resolve
        // `..` and encode `'`; the request and a signed `{url}` must not.
        let t = Target::parse("HTTP://Example.COM:80/a/../b?q='x'&r=%zz#frag").unwrap();
        assert_eq!(t.authority, "Example.COM:80");
        assert_eq!(t.path_and_query, "/a/../b?q='x'&r=%zz");
        assert_eq!(t.url(), "http://Example.COM:80/a/../b?q='x'&r=%zz");
        // Connecting and TLS use the canonical host name.
        assert_eq!((t.host.as_str(), t.port), ("example.com", 80));
        // A query without a path still has the `/` a request line needs.
        assert_eq!(
            Target::parse("http://h?x=1").unwrap().path_and_query,
            "/?x=1"
        );
        // `host:` is the default port (RFC 3986 §3.2.3).
        assert_eq!(Target::parse("https://h:/").unwrap().port, 443);
    }

    #[test]
    fn ports_are_1_to_65535_and_numbers() {
        assert_eq!(Target::parse("http://h:65535/").unwrap().port, 65535);
        assert_eq!(Target::parse("http://h:1/").unwrap().port, 1);
        assert_eq!(Target::parse("http://h:08080/").unwrap().port, 8080);
        let problem = |url: &str| Target::from_str(url).unwrap_err().problem;
        for (url, said) in [
            (
                "http://127.0.0.1:99999/",
                "port 99999 is out of range (1-65535)",
            ),
            (
                "http://127.0.0.1:65536/",
                "port 65536 is out of range (1-65535)",
            ),
            (
                "http://h:99999999999999999999/",
                "port 99999999999999999999 is out of range (1-65535)",
            ),
            ("http://127.0.0.1:99999x/", "port `99999x` is not a number"),
            ("http://h:+1/", "port `+1` is not a number"),
            ("http://[::1]:8o/", "port `8o` is not a number"),
            (
                "http://[::1]:70000/",
                "port 70000 is out of range (1-65535)",
            ),
            (
                "http://h:0/",
                "port 0 is not one a receiver can listen on: use 1-65535",
            ),
            (
                "http://h:000/",
                "port 000 is not one a receiver can listen on: use 1-65535",
            ),
        ] {
            assert_eq!(problem(url), said, "{url}");
        }
        let err = Target::parse("http://127.0.0.1:99999/").unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "invalid URL `http://127.0.0.1:99999/`: port 99999 is out of range (1-65535)"
        );
    }

    #[test]
    fn other_mistakes_say_what_is_wrong() {
        let problem = |url: &str| Target::from_str(url).unwrap_err().problem;
        assert!(problem("ftp://x/").contains("unsupported scheme `ftp`"));
        assert!(problem("localhost:8080").contains("no `http://`"));
        assert!(
            problem("http:///x").contains("no host"),
            "{}",
            problem("http:///x")
        );
        assert!(problem("http://:8080/").contains("no host"));
        assert!(problem("http://u@/").contains("no host"));
        assert!(problem("http://[::1/").contains("closing `]`"));
        assert!(problem("http://[::1]x/").contains("follows the IPv6"));
        assert!(
            problem("http://[zz]/").contains("IPv6"),
            "{}",
            problem("http://[zz]/")
        );
        assert!(problem("http://h/a b").contains("path or query"));
        assert!(problem("http://h\\x/").contains("host part"));
        assert!(problem("http://é.com/").contains("host part"));
    }

    #[test]
    fn url_credentials_become_basic_auth_and_are_never_shown() {
        let t = Target::parse("http://us%3Ar:p%40ss@127.0.0.1:8080/hooks").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.url(), "http://127.0.0.1:8080/hooks");
        assert_eq!(t.to_string(), t.url());
        // RFC 7617 §2: base64 of the decoded `user:password`.
        assert_eq!(
            t.credentials.as_ref().map(BasicAuth::header_value),
            Some("Basic dXM6cjpwQHNz")
        );
        assert!(!format!("{t:?}").contains("dXM6"), "{t:?}");
        assert_eq!(
            Target::parse("https://tok@h/").unwrap().credentials,
            Some(BasicAuth("Basic dG9rOg==".into()))
        );
        // An invalid escape is kept as typed: `u%zz:` → `u%zz:`.
        assert_eq!(
            Target::parse("https://u%zz@h/").unwrap().credentials,
            Some(BasicAuth("Basic dSV6ejo=".into()))
        );
        assert_eq!(Target::parse("http://h/a@b").unwrap().credentials, None);
        let err = Target::parse("http://u:hunter2 x@h/")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`http://<redacted>@h/`"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = Target::parse("http://u:hunter2@h:99999/")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let bearer = Target::parse("http://u:p@h/").unwrap();
        assert!(bearer
            .check_credentials_fit(&generators::Scheme::bearer())
            .is_err());
        assert!(Target::parse("http://h/")
            .unwrap()
            .check_credentials_fit(&generators::Scheme::bearer())
            .is_ok());
    }
}
