//! The signed content of one delivery: the [`Values`] a template's
//! placeholders (`{id}`, `{ts}`, `{body}`, ...) stand for, fed piece by
//! piece into a keyed state ([`feed`]) so signing is one pass over the
//! body, or joined into one buffer ([`content`]) for the algorithms that
//! need it whole. The signer, the verifier and the hostile cases all fill
//! templates through here, so they cannot disagree on what is signed.

use crate::scheme::{Part, SignatureTemplate};

/// The method every delivery is sent with, as `{method}` signs it.
pub const DELIVERY_METHOD: &str = "POST";

/// The values a template's placeholders stand for in one delivery, each
/// already written as the bytes that are signed (`ts` and `ts_ms` in
/// decimal, `id` in the scheme's id form): built on the stack per
/// signature, so signing allocates nothing for them.
pub(crate) struct Values<'a> {
    pub(crate) id: &'a [u8],
    pub(crate) ts: &'a [u8],
    pub(crate) ts_ms: &'a [u8],
    pub(crate) body: &'a [u8],
    pub(crate) method: &'a [u8],
    pub(crate) url: &'a [u8],
}

impl Values<'_> {
    /// The bytes `part` stands for (`{sig}` stands for nothing here).
    pub(crate) fn of<'p>(&'p self, part: &'p Part) -> &'p [u8] {
        match part {
            Part::Lit(text) => text.as_bytes(),
            Part::Id => self.id,
            Part::Ts => self.ts,
            Part::TsMs => self.ts_ms,
            Part::Body => self.body,
            Part::Method => self.method,
            Part::Url => self.url,
            Part::Sig => b"",
        }
    }
}

/// Feeds the signed content (`template` with `values` in its
/// placeholders) to `update`, skipping the first `skip` bytes of
/// the body when the template starts with it (a resumed prefix).
pub(crate) fn feed(
    template: &SignatureTemplate,
    values: &Values<'_>,
    skip: usize,
    mut update: impl FnMut(&[u8]),
) {
    for (i, part) in template.parts().iter().enumerate() {
        let bytes = values.of(part);
        if i == 0 && *part == Part::Body {
            update(&bytes[skip.min(bytes.len())..]);
        } else {
            update(bytes);
        }
    }
}

/// The signed content in one piece (the asymmetric algorithms need it so).
pub(crate) fn content(template: &SignatureTemplate, values: &Values<'_>) -> Vec<u8> {
    let mut m = Vec::with_capacity(values.body.len() + 64);
    feed(template, values, 0, |b| m.extend_from_slice(b));
    m
}

/// Writes `item` (a value template or one of its items) with `sig` for
/// `{sig}`.
pub(crate) fn write_item(
    item: &SignatureTemplate,
    values: &Values<'_>,
    sig: &[u8],
    out: &mut Vec<u8>,
) {
    for part in item.parts() {
        match part {
            Part::Sig => out.extend_from_slice(sig),
            other => out.extend_from_slice(values.of(other)),
        }
    }
}
