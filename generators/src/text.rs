//! The hot-path text writers every module shares: decimal integers
//! ([`fmt_i64`], [`push_i64`]), lowercase hex ([`push_hex`], one table for
//! the crate), base64 into a buffer, UUIDs ([`write_uuid`]), message ids
//! ([`message_id_into`]) and RFC 3339 instants ([`write_rfc3339`]).
//!
//! They are hand-written rather than `format!`/`write!` because they run
//! once or more per request on the load emitter's and the generators' hot
//! paths, where `core::fmt` was the largest single cost; each writes into a
//! caller's buffer and allocates nothing beyond its growth. This module is
//! at the bottom of the crate: it imports nothing from it.

use base64::Engine;
use serde_json::Value;

/// The lowercase hex digits: the crate's one hex table.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// The lowercase hex digit of `nibble` (its low four bits).
pub fn hex_digit(nibble: u8) -> u8 {
    HEX[usize::from(nibble & 0x0f)]
}

/// Appends `bytes` as lowercase hex, two digits per byte.
pub fn push_hex(bytes: &[u8], out: &mut Vec<u8>) {
    for b in bytes {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(*b));
    }
}

/// Appends `input` encoded by `engine` (padded or not, as the engine is).
pub fn push_base64<E: Engine>(engine: &E, input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    // Four output bytes per three input bytes, rounded up, is enough for
    // both padded and unpadded engines.
    out.resize(start + input.len().div_ceil(3) * 4, 0);
    let written = engine.encode_slice(input, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// `msg_<32 lowercase hex>` of `id` (as [`crate::message_id`] writes it)
/// in `buf`, without allocating.
pub fn message_id_into(id: u128, buf: &mut [u8; 36]) -> &str {
    buf[..4].copy_from_slice(b"msg_");
    for (i, digit) in buf[4..].iter_mut().enumerate() {
        *digit = hex_digit((id >> (124 - 4 * i)) as u8);
    }
    // Only ASCII was written.
    std::str::from_utf8(buf).unwrap_or("msg_")
}

/// What kind of JSON value `v` is, in words for messages ("an array").
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Writes `id` as a hyphenated UUID with the version-4 and RFC 4122 variant
/// bits forced, so schemas with `format: uuid` (and strict parsers that
/// check the version) accept it. Forcing those 6 bits keeps ids unique as
/// long as callers vary the other 122 bits, which they do (a counter in
/// the low bits).
pub fn write_uuid(id: u128, out: &mut Vec<u8>) {
    let v =
        (id & !(0xF000u128 << 64) & !(0xC000u128 << 48)) | (0x4000u128 << 64) | (0x8000u128 << 48);
    let mut buf = [0u8; 36];
    let mut pos = 0;
    for i in 0..16 {
        if matches!(i, 4 | 6 | 8 | 10) {
            buf[pos] = b'-';
            pos += 1;
        }
        let byte = (v >> (120 - 8 * i)) as u8;
        buf[pos] = hex_digit(byte >> 4);
        buf[pos + 1] = hex_digit(byte);
        pos += 2;
    }
    out.extend_from_slice(&buf);
}

/// Writes `unix_us` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (RFC 3339, UTC, six
/// fractional digits).
pub fn write_rfc3339(unix_us: i64, out: &mut Vec<u8>) {
    write_rfc3339_digits(unix_us, 6, out);
}

/// Writes `unix_us` as RFC 3339 UTC with `digits` fractional digits (0, 3
/// or 6; anything else is 6) and a `Z` suffix, e.g.
/// `2017-09-18T19:23:35.056Z` for 3. Years outside 0000..=9999 are written
/// as `{y:04}` writes them (a sign, at least four characters).
pub fn write_rfc3339_digits(unix_us: i64, digits: u8, out: &mut Vec<u8>) {
    let secs = unix_us.div_euclid(1_000_000);
    let micros = unix_us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // Digit by digit: this runs once per request on the load hot path.
    push_padded(out, y, 4);
    out.push(b'-');
    push_padded(out, i64::from(m), 2);
    out.push(b'-');
    push_padded(out, i64::from(d), 2);
    out.push(b'T');
    push_padded(out, sod / 3600, 2);
    out.push(b':');
    push_padded(out, (sod / 60) % 60, 2);
    out.push(b':');
    push_padded(out, sod % 60, 2);
    match digits {
        0 => {}
        3 => {
            out.push(b'.');
            push_padded(out, micros / 1000, 3);
        }
        _ => {
            out.push(b'.');
            push_padded(out, micros, 6);
        }
    }
    out.push(b'Z');
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days`, valid for the whole i64 range we use.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `v` in decimal, in the tail of `buf` (no `core::fmt` on the hot path).
pub fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Appends `v` in decimal.
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    out.extend_from_slice(fmt_i64(v, &mut buf));
}

/// Appends `v` in decimal, zero-padded to `width` characters after the
/// sign is counted, as `{v:0width$}` does.
pub fn push_padded(out: &mut Vec<u8>, v: i64, width: usize) {
    let mut buf = [0u8; 20];
    let text = fmt_i64(v, &mut buf);
    let digits = match text.split_first() {
        Some((b'-', rest)) => {
            out.push(b'-');
            rest
        }
        _ => text,
    };
    let width = if v < 0 {
        width.saturating_sub(1)
    } else {
        width
    };
    out.extend(std::iter::repeat_n(
        b'0',
        width.saturating_sub(digits.len()),
    ));
    out.extend_from_slice(digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_writers_match_core_fmt() {
        for v in [0i64, 7, -7, 10, 1194, -1_000_000, i64::MAX, i64::MIN] {
            let mut out = b"x".to_vec();
            push_i64(&mut out, v);
            assert_eq!(out, format!("x{v}").into_bytes());
        }
        // RFC 3339 against the formatting it replaced, across eras, leap
        // days and the micro-second padding.
        for us in [
            0i64,
            1,
            951_782_400_000_000, // 2000-02-29
            1_700_000_000_123_456,
            4_102_444_799_999_999, // 2099-12-31T23:59:59.999999
            -1,
            -62_198_755_200_000_000, // before year 0
        ] {
            let secs = us.div_euclid(1_000_000);
            let sod = secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let expected = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
                sod / 3600,
                (sod / 60) % 60,
                sod % 60,
                us.rem_euclid(1_000_000)
            );
            let mut out = Vec::new();
            write_rfc3339(us, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn rfc3339_matches_known_dates() {
        let cases = [
            (0i64, "1970-01-01T00:00:00.000000Z"),
            (-1, "1969-12-31T23:59:59.999999Z"),
            (1_670_570_552_000_000, "2022-12-09T07:22:32.000000Z"),
            (4_102_444_800_000_000, "2100-01-01T00:00:00.000000Z"),
        ];
        for (us, want) in cases {
            let mut out = Vec::new();
            write_rfc3339(us, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn uuid_has_version_and_variant() {
        let mut out = Vec::new();
        write_uuid(u128::MAX, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
    }

    #[test]
    fn hex_and_message_ids_match_core_fmt() {
        let mut out = Vec::new();
        push_hex(&[0x00, 0x7f, 0xa5, 0xff], &mut out);
        assert_eq!(out, b"007fa5ff");
        for id in [0u128, 1, 0xdead_beef, u128::MAX, 1 << 127] {
            let mut buf = [0u8; 36];
            assert_eq!(message_id_into(id, &mut buf), format!("msg_{id:032x}"));
        }
    }

    #[test]
    fn fractional_digits_are_zero_three_or_six() {
        let us = 1_505_762_615_056_789;
        for (digits, want) in [
            (0, "2017-09-18T19:23:35Z"),
            (3, "2017-09-18T19:23:35.056Z"),
            (6, "2017-09-18T19:23:35.056789Z"),
        ] {
            let mut out = Vec::new();
            write_rfc3339_digits(us, digits, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
