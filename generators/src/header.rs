//! Case-insensitive lookup in a header list (HTTP header names are
//! case-insensitive): the one lookup the verifier, the key paths, the
//! challenge recogniser and the harness use. At the bottom of the crate, so
//! a vocabulary module can look a header up without importing envelopes.

/// The first of `headers` called `name`, compared case-insensitively.
pub fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An owned, case-insensitive lookup in `headers`, in the shape the
/// verifier and [`crate::key_value`] take.
pub fn header_lookup(headers: &[(String, String)]) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| header_in(headers, name).map(str::to_owned)
}
