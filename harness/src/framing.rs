//! How one load request is put into bytes: the head every request of a
//! run shares (`request_head`), then per request the content type,
//! signature (or a verbatim record's) headers, type header and content
//! length (`write_headers`), into a sender's reusable `Buffers`; and the
//! same head as name/value pairs for hyper (`header_pairs`).
//!
//! Nothing here allocates per request on the lean HTTP/1.1 path: headers
//! are written into buffers a sender reuses.

use std::io::Write as _;

use generators::BodyPrefix;

use crate::target::Target;
use crate::traffic::Traffic;

/// Reusable per-sender buffers: one request is built at a time.
pub(crate) struct Buffers {
    /// The request body.
    pub body: Vec<u8>,
    /// The headers after the shared head, the blank line included.
    pub head: Vec<u8>,
}

impl Buffers {
    /// Buffers sized for a typical event.
    pub(crate) fn new() -> Buffers {
        Buffers {
            body: Vec::with_capacity(4096),
            head: Vec::with_capacity(512),
        }
    }
}

/// `POST <path> HTTP/1.1`, `Host`, hookstorm's `User-Agent` (when
/// `user_agent`) and the URL's Basic credentials, if any: the part of every
/// request that never changes.
pub(crate) fn request_head(target: &Target, user_agent: bool) -> Vec<u8> {
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\n",
        target.path_and_query, target.authority
    );
    if user_agent {
        head.push_str(concat!(
            "User-Agent: hookstorm/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if let Some(credentials) = &target.credentials {
        head.push_str(&format!(
            "Authorization: {}\r\n",
            credentials.header_value()
        ));
    }
    head.into_bytes()
}

/// Headers a verbatim record may not dictate: the transport sets them.
pub(crate) fn transport_header(name: &str) -> bool {
    ["host", "content-length", "transfer-encoding", "connection"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Writes the content type, signature (or `verbatim`) headers, the type
/// header of a provider naming its types in one, the content length and
/// the blank line into `buffers.head`, for the body in `buffers.body`
/// (event `id`, type `type_index`, sent at `unix_secs`; `prefix` resumes
/// the signature after the body's constant prefix).
pub(crate) fn write_headers(
    traffic: &Traffic,
    verbatim: Option<&[(String, String)]>,
    type_index: u16,
    prefix: Option<&BodyPrefix>,
    id: u128,
    unix_secs: i64,
    buffers: &mut Buffers,
) {
    let head = &mut buffers.head;
    match (verbatim, &traffic.signer) {
        (Some(headers), _) => {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                head.extend_from_slice(b"Content-Type: application/json\r\n");
            }
            // The URL's credentials replace a record's own Authorization.
            let replaced = |n: &str| {
                traffic.target.credentials.is_some() && n.eq_ignore_ascii_case("authorization")
            };
            for (name, value) in headers
                .iter()
                .filter(|(n, _)| !transport_header(n) && !replaced(n))
            {
                let _ = write!(head, "{name}: {value}\r\n");
            }
        }
        (None, Some(signer)) => {
            head.extend_from_slice(b"Content-Type: application/json\r\n");
            let mut msg_id = [0u8; 36];
            let msg_id = if signer.uses_message_id() {
                generators::message_id_into(id, &mut msg_id)
            } else {
                ""
            };
            signer.sign_resumed_into(prefix, &buffers.body, msg_id, unix_secs, head);
        }
        (None, None) => head.extend_from_slice(b"Content-Type: application/json\r\n"),
    }
    // A verbatim record carries its own type header, if any.
    if let (None, Some(name)) = (verbatim, traffic.provider.profile().type_header()) {
        let type_name = &traffic.pool.type_names[usize::from(type_index)];
        let _ = write!(head, "{name}: {type_name}\r\n");
    }
    head.extend_from_slice(b"Content-Length: ");
    generators::template::push_i64(head, buffers.body.len() as i64);
    head.extend_from_slice(b"\r\n\r\n");
}

/// The `Name: value` lines of a built head, minus Content-Length (hyper
/// sets it from the body).
pub(crate) fn header_pairs(head: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .filter_map(|line| line.split_once(": "))
        .filter(|(n, _)| !transport_header(n))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_go_on_the_wire_as_basic_auth_not_in_host() {
        let head = |url: &str| {
            String::from_utf8(request_head(&Target::parse(url).unwrap(), true)).unwrap()
        };
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            head("http://u:pw@h:1/x?q"),
            format!(
                "POST /x?q HTTP/1.1\r\nHost: h:1\r\nUser-Agent: hookstorm/{version}\r\n\
                 Authorization: Basic dTpwdw==\r\n"
            )
        );
        assert_eq!(
            head("http://h:1/x"),
            format!("POST /x HTTP/1.1\r\nHost: h:1\r\nUser-Agent: hookstorm/{version}\r\n")
        );
        // A sender sending its own User-Agent gets no second one.
        let bare = request_head(&Target::parse("http://h:1/x").unwrap(), false);
        assert_eq!(bare, b"POST /x HTTP/1.1\r\nHost: h:1\r\n");
    }

    #[test]
    fn header_pairs_drop_transport_headers() {
        let pairs = header_pairs(
            b"Content-Type: application/json\r\nx-sig: abc\r\nContent-Length: 2\r\n\r\n",
        );
        assert_eq!(
            pairs,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("x-sig".to_string(), "abc".to_string())
            ]
        );
    }
}
