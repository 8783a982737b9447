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

use crate::text::{hex_digit, push_hex, write_rfc3339_digits};

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
/// A place: (city, region, country code, latitude, longitude, zipcode).
pub type Place = (
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    &'static str,
);

const PLACES: &[Place] = &[
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

/// A random place of the table.
pub fn place(rng: &mut impl Rng) -> Place {
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
        push_hex(&bytes[..take], &mut s);
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
    let mut s = Vec::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push(b'-');
        }
        for digit in [hex_digit(byte >> 4), hex_digit(*byte)] {
            s.push(if upper {
                digit.to_ascii_uppercase()
            } else {
                digit
            });
        }
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

/// RFC 3339 UTC string of a UNIX time in microseconds, with `digits`
/// fractional digits (0, 3 or 6) and a `Z` suffix, as Authgear (6),
/// Auth0 (3) and Infrahub (6) write them. Outside four-digit years (only
/// reachable with edge inputs) it is written without fractional digits.
pub fn rfc3339_micros(micros: i64, digits: u8) -> String {
    // 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in microseconds.
    const FOUR_DIGIT_YEARS: std::ops::Range<i64> = -62_167_219_200_000_000..253_402_300_800_000_000;
    let digits = if FOUR_DIGIT_YEARS.contains(&micros) {
        digits
    } else {
        0
    };
    let mut out = Vec::with_capacity(27);
    write_rfc3339_digits(micros, digits, &mut out);
    // Only ASCII digits and separators were written.
    String::from_utf8(out).unwrap_or_default()
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
        // Outside four-digit years: no fraction, a signed or wider year.
        assert_eq!(
            rfc3339_micros(-62_167_219_200_000_001, 6),
            "-001-12-31T23:59:59Z"
        );
        assert_eq!(
            rfc3339_micros(253_402_300_800_000_000, 6),
            "10000-01-01T00:00:00Z"
        );
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
