//! Realistic value pickers: names, emails, phone numbers, IP addresses,
//! user agents, locales, places, UUIDs and UTC timestamps.
//!
//! Every picker draws from the caller's RNG only, so a seeded run is
//! reproducible. They build strings by hand from small tables instead of
//! using proptest regex strategies, which are far too slow for the
//! generation hot path (a load run pools hundreds of thousands of events
//! before its clock starts).

use proptest::prelude::{Rng, RngExt};
use std::fmt::Write;

const GIVEN: &[&str] = &[
    "Alice",
    "Bob",
    "Chen",
    "Diego",
    "Emma",
    "Fatima",
    "Giulia",
    "Hiroshi",
    "Ingrid",
    "José",
    "Kwame",
    "Léa",
    "Mateo",
    "Nadia",
    "Olga",
    "Priya",
    "Quentin",
    "Rania",
    "Søren",
    "Tomás",
    "Umar",
    "Valentina",
    "Wei",
    "Yuki",
    "Zoë",
    "Ана",
    "Дмитрий",
    "陳",
    "さくら",
    "민준",
];
const FAMILY: &[&str] = &[
    "Smith",
    "García",
    "Müller",
    "Rossi",
    "Nakamura",
    "Kowalski",
    "Okafor",
    "Dubois",
    "Johansson",
    "O'Brien",
    "Nguyen",
    "Silva",
    "Andersen",
    "Haddad",
    "Petrov",
    "Kim",
    "Singh",
    "Fernández",
    "Novák",
    "Wang",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
    "corp.example.io",
    "example.co.uk",
];
const LOCALES: &[&str] = &[
    "en-US", "en-GB", "fr-FR", "de-DE", "es-ES", "pt-BR", "ja-JP", "zh-TW", "zh-HK", "ko-KR",
    "it-IT", "nl-NL", "ar-EG", "he-IL", "ru-RU", "pl-PL", "sv-SE", "tr-TR",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.179 Mobile Safari/537.36",
    "okhttp/4.12.0",
    "MyApp/3.2.1 (com.example.myapp; build:412; iOS 17.4.1) Alamofire/5.9.1",
];
/// (city, region, country code, latitude, longitude, zipcode)
const PLACES: &[(&str, &str, &str, f64, f64, &str)] = &[
    ("Denver", "CO", "US", 39.7392, -104.9903, "80202"),
    ("London", "ENG", "GB", 51.5072, -0.1276, "EC1A 1BB"),
    ("Berlin", "BE", "DE", 52.52, 13.405, "10115"),
    ("São Paulo", "SP", "BR", -23.5558, -46.6396, "01000-000"),
    ("Tokyo", "13", "JP", 35.6764, 139.65, "100-0001"),
    ("Hong Kong", "HCW", "HK", 22.3193, 114.1694, "999077"),
    ("Lagos", "LA", "NG", 6.5244, 3.3792, "100001"),
    ("Sydney", "NSW", "AU", -33.8688, 151.2093, "2000"),
    ("Montréal", "QC", "CA", 45.5019, -73.5674, "H2Y 1C6"),
    ("Mumbai", "MH", "IN", 19.076, 72.8777, "400001"),
];
const WORDS: &[&str] = &[
    "alpha", "blue", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper",
    "kite", "lumen", "maple", "nova", "orbit", "pixel", "quartz", "river", "summit", "tundra",
];
const HEX: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// One of `items`, uniformly.
pub fn pick<'a, T: ?Sized>(rng: &mut impl Rng, items: &'a [&'a T]) -> &'a T {
    items[rng.random_range(0..items.len())]
}

/// A given name (Latin, Cyrillic, CJK and Hangul script, some accented).
pub fn given_name(rng: &mut impl Rng) -> &'static str {
    pick(rng, GIVEN)
}

/// A family name.
pub fn family_name(rng: &mut impl Rng) -> &'static str {
    pick(rng, FAMILY)
}

/// An email address at a reserved example domain, ASCII local part.
pub fn email(rng: &mut impl Rng) -> String {
    let mut s = String::with_capacity(32);
    s.push_str(pick(rng, WORDS));
    s.push(if rng.random_bool(0.5) { '.' } else { '_' });
    s.push_str(pick(rng, WORDS));
    let _ = write!(s, "{}@", rng.random_range(1..10_000u32));
    s.push_str(pick(rng, DOMAINS));
    s
}

/// A username: lowercase ASCII word plus digits.
pub fn username(rng: &mut impl Rng) -> String {
    let mut s = String::with_capacity(16);
    s.push_str(pick(rng, WORDS));
    let _ = write!(s, "{}", rng.random_range(1..100_000u32));
    s
}

/// An E.164 phone number from the fictional/drama ranges of a few countries.
pub fn phone(rng: &mut impl Rng) -> String {
    let prefixes = ["+1555", "+447700", "+85255", "+33612", "+8190"];
    let p = prefixes[rng.random_range(0..prefixes.len())];
    let mut s = String::with_capacity(16);
    s.push_str(p);
    for _ in 0..(13 - p.len()) {
        s.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    s
}

/// A BCP 47 language tag.
pub fn locale(rng: &mut impl Rng) -> &'static str {
    pick(rng, LOCALES)
}

/// A browser or SDK user agent.
pub fn user_agent(rng: &mut impl Rng) -> &'static str {
    pick(rng, USER_AGENTS)
}

/// A place: (city, region, country code, latitude, longitude, zipcode).
pub fn place(
    rng: &mut impl Rng,
) -> (
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    &'static str,
) {
    PLACES[rng.random_range(0..PLACES.len())]
}

/// A lowercase word.
pub fn word(rng: &mut impl Rng) -> &'static str {
    pick(rng, WORDS)
}

/// A public-looking IPv4 address (documentation and public ranges, never 0.x or loopback).
pub fn ipv4(rng: &mut impl Rng) -> String {
    let first = [203u8, 198, 192, 81, 42, 100, 151, 185][rng.random_range(0..8)];
    format!(
        "{first}.{}.{}.{}",
        rng.random_range(0..=255u8),
        rng.random_range(0..=255u8),
        rng.random_range(1..=254u8)
    )
}

/// An IPv6 address in the documentation prefix 2001:db8::/32, compressed form.
pub fn ipv6(rng: &mut impl Rng) -> String {
    format!(
        "2001:db8:{:x}:{:x}::{:x}",
        rng.random_range(0..=0xffffu32),
        rng.random_range(0..=0xffffu32),
        rng.random_range(1..=0xffffu32)
    )
}

/// An IPv4 address three times out of four, else IPv6, as real traffic mixes them.
pub fn ip(rng: &mut impl Rng) -> String {
    if rng.random_bool(0.75) {
        ipv4(rng)
    } else {
        ipv6(rng)
    }
}

/// `n` random hex digits.
pub fn hex(rng: &mut impl Rng, n: usize) -> String {
    // One random byte gives two digits: a draw per digit was a visible
    // share of generating token-heavy events (Auth0).
    let mut bytes = [0u8; 64];
    let mut s = Vec::with_capacity(n);
    while s.len() < n {
        let take = (n - s.len()).div_ceil(2).min(bytes.len());
        rng.fill_bytes(&mut bytes[..take]);
        for b in &bytes[..take] {
            s.push(HEX[usize::from(b >> 4)]);
            s.push(HEX[usize::from(b & 0x0f)]);
        }
    }
    s.truncate(n);
    String::from_utf8(s).unwrap_or_default()
}

/// `n` random ASCII letters and digits (one random byte per character; the
/// slight modulo bias does not matter for realistic tokens).
pub fn alnum(rng: &mut impl Rng, n: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 64];
    let mut s = Vec::with_capacity(n);
    while s.len() < n {
        let take = (n - s.len()).min(bytes.len());
        rng.fill_bytes(&mut bytes[..take]);
        s.extend(
            bytes[..take]
                .iter()
                .map(|b| ALNUM[usize::from(*b) % ALNUM.len()]),
        );
    }
    String::from_utf8(s).unwrap_or_default()
}

/// Formats 16 bytes as an RFC 4122 version-4 UUID string.
pub fn uuid_from_bytes(mut b: [u8; 16], upper: bool) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let table = if upper { HEX_UPPER } else { HEX };
    let mut s = Vec::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push(b'-');
        }
        s.push(table[usize::from(byte >> 4)]);
        s.push(table[usize::from(byte & 0x0f)]);
    }
    // Only ASCII hex digits and dashes were pushed.
    String::from_utf8(s).unwrap_or_default()
}

/// A random version-4 UUID.
pub fn uuid(rng: &mut impl Rng, upper: bool) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid_from_bytes(b, upper)
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

/// RFC 3339 UTC string of a UNIX time in microseconds, with `digits`
/// fractional digits (0, 3 or 6) and a `Z` suffix, as Authgear (6),
/// Auth0 (3) and Infrahub (6) write them.
pub fn rfc3339_micros(micros: i64, digits: u8) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    if !(0..=9999).contains(&y) {
        // Outside four-digit years (only reachable with edge inputs): the
        // general formatter handles signs and widths.
        return format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
            sod / 3600,
            (sod % 3600) / 60,
            sod % 60
        );
    }
    // Hand-written digits: this runs for every timestamp of every event and
    // `format!` was the largest single cost of generating one.
    let mut b = [0u8; 27];
    let mut put = |at: usize, v: i64, width: usize| {
        let mut v = v;
        for k in (0..width).rev() {
            b[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, i64::from(mo), 2);
    put(8, i64::from(d), 2);
    put(11, sod / 3600, 2);
    put(14, (sod % 3600) / 60, 2);
    put(17, sod % 60, 2);
    let len = match digits {
        0 => 19,
        3 => {
            put(20, frac / 1000, 3);
            23
        }
        _ => {
            put(20, frac, 6);
            26
        }
    };
    b[4] = b'-';
    b[7] = b'-';
    b[10] = b'T';
    b[13] = b':';
    b[16] = b':';
    b[19] = b'.';
    b[len] = b'Z';
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&b[..=len]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::{RngAlgorithm, TestRng};

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339_micros(0, 0), "1970-01-01T00:00:00Z");
        // The Authgear docs' example instant 2006-01-02T03:04:05.123456Z.
        assert_eq!(
            rfc3339_micros(1_136_171_045_123_456, 6),
            "2006-01-02T03:04:05.123456Z"
        );
        assert_eq!(
            rfc3339_micros(1_505_762_615_056_000, 3),
            "2017-09-18T19:23:35.056Z"
        );
        assert_eq!(rfc3339_micros(-1, 6), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn uuid_has_version_and_variant() {
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
        let u = uuid(&mut rng, false);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert!(uuid(&mut rng, true)
            .chars()
            .all(|c| !c.is_ascii_lowercase()));
    }

    #[test]
    fn emails_and_phones_have_their_shape() {
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[9; 32]);
        for _ in 0..100 {
            let e = email(&mut rng);
            assert_eq!(e.matches('@').count(), 1, "{e}");
            let p = phone(&mut rng);
            assert!(
                p.starts_with('+') && p.len() == 13 && p[1..].bytes().all(|b| b.is_ascii_digit()),
                "{p}"
            );
        }
    }
}
