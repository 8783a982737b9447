//! Value generation: walks a compiled [`Node`] tree with the runner's seeded
//! RNG and produces one valid event. Realism comes from the `x-gen` hints
//! and from a per-event persona, so the email in `standard_attributes` is
//! the email of the login-ID identity and the IP of the context is the IP
//! of the session; ids are unique per run and `seq` strictly increases.

use proptest::prelude::{Rng, RngExt};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{TestRng, TestRunner};
use serde_json::{Map, Number, Value};

use super::compile::{Hint, IntNode, Node, NumNode, ObjectNode, Prop, StrNode};
use crate::fake;

/// How optional properties are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Each optional property with its `x-presence` probability.
    Random,
    /// Every optional property, every nullable as a value, arrays non-empty.
    Full,
    /// Only required properties, arrays at their minimum length.
    Minimal,
}

/// Per-run state shared by every strategy of one [`Generator`](super::Generator).
#[derive(Debug)]
pub(crate) struct Counters {
    pub seq: i64,
    pub next_id: u64,
    pub id_key: u64,
    pub now_ms: i64,
}

const MASK62: u64 = (1 << 62) - 1;

/// A bijection on 62-bit integers: distinct counters give distinct ids
/// that still look random.
fn permute62(x: u64) -> u64 {
    let mut x = x & MASK62;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK62;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9) & MASK62;
    x ^= x >> 29;
    x
}

impl Counters {
    fn unique62(&mut self) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        permute62(n ^ self.id_key)
    }
}

/// Values drawn once per event so related fields agree.
#[derive(Default)]
struct Persona {
    given: Option<&'static str>,
    family: Option<&'static str>,
    email: Option<String>,
    phone: Option<String>,
    username: Option<String>,
    ip: Option<String>,
    user_agent: Option<&'static str>,
    place: Option<(
        &'static str,
        &'static str,
        &'static str,
        f64,
        f64,
        &'static str,
    )>,
}

/// One event's generation state.
pub(crate) struct Ctx<'a> {
    pub runner: &'a mut TestRunner,
    pub counters: &'a mut Counters,
    pub subject: Option<String>,
    pub mode: Mode,
    persona: Persona,
    event_ms: i64,
}

const DAY_MS: i64 = 86_400_000;
const FREE_FORM_KEYS: &[&str] = &[
    "plan",
    "tier",
    "referrer",
    "newsletter",
    "score",
    "signup_source",
    "beta",
    "team",
];
const DEVICES: &[&str] = &[
    "iPhone 15 Pro",
    "Pixel 8",
    "Chrome 124.0.0",
    "Firefox 126.0",
    "Safari 17.5",
    "Galaxy S24",
];
const ZONES: &[&str] = &[
    "America/Denver",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Asia/Hong_Kong",
    "Australia/Sydney",
];

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        runner: &'a mut TestRunner,
        counters: &'a mut Counters,
        subject: Option<String>,
        mode: Mode,
    ) -> Ctx<'a> {
        let now = counters.now_ms;
        let event_ms = now - runner.rng().random_range(0..1_500i64);
        Ctx {
            runner,
            counters,
            subject,
            mode,
            persona: Persona::default(),
            event_ms,
        }
    }

    pub(crate) fn rng(&mut self) -> &mut TestRng {
        self.runner.rng()
    }

    /// Generates one value of `node`.
    pub(crate) fn gen(&mut self, node: &Node) -> Value {
        match node {
            Node::Object(o) => self.gen_object(o),
            Node::Array(a) => {
                let n = match self.mode {
                    Mode::Minimal => a.min,
                    Mode::Full => a.min.max(2),
                    // Real arrays (roles, identities, languages) are short:
                    // mostly 0-2 elements beyond the minimum, sometimes 3.
                    Mode::Random => {
                        a.min + [0, 0, 1, 1, 1, 2, 2, 3][self.rng().random_range(0..8usize)]
                    }
                };
                let n = a.max.map_or(n, |m| n.min(m));
                Value::Array((0..n).map(|_| self.gen(&a.items)).collect())
            }
            Node::Str(s) => Value::String(self.gen_str(s)),
            Node::Int(i) => Value::Number(self.gen_int(i).into()),
            Node::Num(n) => self.gen_num(n),
            Node::Bool => Value::Bool(self.rng().random_bool(0.5)),
            Node::Null => Value::Null,
            Node::Const(v) => v.clone(),
            Node::Enum(values, fixed) => match fixed {
                Some(i) => values[*i].clone(),
                None if values.is_empty() => Value::Null,
                None => {
                    let i = self.rng().random_range(0..values.len());
                    values[i].clone()
                }
            },
            Node::Any => Value::String(fake::word(self.rng()).to_string()),
            Node::Union(branches, null_p) => {
                let non_null: Vec<&Node> = branches
                    .iter()
                    .filter(|b| !matches!(b, Node::Null))
                    .collect();
                let wants_null = branches.len() != non_null.len()
                    && self.mode == Mode::Random
                    && self.rng().random_bool(*null_p);
                if non_null.is_empty() || wants_null {
                    Value::Null
                } else {
                    let i = self.rng().random_range(0..non_null.len());
                    self.gen(non_null[i])
                }
            }
        }
    }

    fn include(&mut self, p: &Prop) -> bool {
        p.required
            || match self.mode {
                Mode::Full => true,
                Mode::Minimal => false,
                Mode::Random => p.presence >= 1.0 || self.rng().random_bool(p.presence),
            }
    }

    fn gen_object(&mut self, o: &ObjectNode) -> Value {
        // Decide which properties appear first, so the map is allocated at
        // its final size: a map sized for every declared property is often
        // a >1 KiB request, and those make glibc consolidate its fast bins.
        let mut chosen: u128 = 0;
        let mut count = 0;
        for (i, p) in o.props.iter().enumerate().take(128) {
            if self.include(p) {
                chosen |= 1 << i;
                count += 1;
            }
        }
        let mut m = Map::with_capacity(count + usize::from(o.free_form) * 2);
        for (i, p) in o.props.iter().enumerate() {
            let include = if i < 128 {
                chosen & (1 << i) != 0
            } else {
                self.include(p)
            };
            if include {
                let v = self.gen(&p.node);
                m.insert(p.name.clone(), v);
            }
        }
        if o.free_form && self.mode != Mode::Minimal {
            let n = if self.mode == Mode::Full {
                2
            } else {
                self.rng().random_range(0..=2usize)
            };
            for _ in 0..n {
                let key = fake::pick(self.rng(), FREE_FORM_KEYS);
                if m.contains_key(key) {
                    continue;
                }
                let v = match self.rng().random_range(0..3u8) {
                    0 => Value::String(fake::word(self.rng()).to_string()),
                    1 => Value::Number(self.rng().random_range(0..1000i64).into()),
                    _ => Value::Bool(self.rng().random_bool(0.5)),
                };
                m.insert(key.to_string(), v);
            }
        }
        Value::Object(m)
    }

    pub(crate) fn gen_str(&mut self, s: &StrNode) -> String {
        if s.subject {
            if let Some(subject) = &self.subject {
                return subject.clone();
            }
        }
        let mut out = match &s.regex {
            Some(strategy) => match strategy.new_tree(self.runner) {
                Ok(tree) => tree.current(),
                Err(_) => String::new(),
            },
            None => self.gen_hinted(s.hint),
        };
        if s.hint.is_text() && s.regex.is_none() {
            fit_length(&mut out, s.min, s.max);
        }
        if s.subject {
            self.subject = Some(out.clone());
        }
        out
    }

    fn unique_uuid(&mut self, upper: bool) -> String {
        let low = self.counters.unique62();
        let mut b = [0u8; 16];
        self.rng().fill_bytes(&mut b[..8]);
        b[8..].copy_from_slice(&low.to_be_bytes());
        fake::uuid_from_bytes(b, upper)
    }

    fn alnum(&mut self, n: usize) -> String {
        fake::alnum(self.rng(), n)
    }

    fn place(
        &mut self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        f64,
        f64,
        &'static str,
    ) {
        if self.persona.place.is_none() {
            self.persona.place = Some(fake::place(self.rng()));
        }
        self.persona
            .place
            .unwrap_or(("Denver", "CO", "US", 39.7392, -104.9903, "80202"))
    }

    fn given(&mut self) -> &'static str {
        match self.persona.given {
            Some(g) => g,
            None => {
                let g = fake::given_name(self.rng());
                self.persona.given = Some(g);
                g
            }
        }
    }

    fn family(&mut self) -> &'static str {
        match self.persona.family {
            Some(f) => f,
            None => {
                let f = fake::family_name(self.rng());
                self.persona.family = Some(f);
                f
            }
        }
    }

    fn micros(&mut self, hint: Hint) -> i64 {
        let now = self.counters.now_ms;
        let ms = match hint {
            Hint::Iso6Past | Hint::Iso3Past => {
                now - self.rng().random_range(DAY_MS..3 * 365 * DAY_MS)
            }
            Hint::Iso6Recent | Hint::Iso3Recent => now - self.rng().random_range(0..DAY_MS),
            Hint::Iso6Future | Hint::Iso3Future => {
                now + self.rng().random_range(DAY_MS..30 * DAY_MS)
            }
            _ => self.event_ms,
        };
        ms * 1000 + self.rng().random_range(0..1000i64)
    }

    fn gen_hinted(&mut self, hint: Hint) -> String {
        match hint {
            Hint::Uuid => fake::uuid(self.rng(), false),
            Hint::UuidUpper => fake::uuid(self.rng(), true),
            Hint::EventId => self.unique_uuid(false),
            Hint::EventIdUpper => self.unique_uuid(true),
            Hint::EventIdAlnum => {
                let low = self.counters.unique62();
                format!("{}{low:016x}", self.alnum(8))
            }
            Hint::Email => {
                if self.persona.email.is_none() {
                    self.persona.email = Some(fake::email(self.rng()));
                }
                self.persona.email.clone().unwrap_or_default()
            }
            Hint::Phone => {
                if self.persona.phone.is_none() {
                    self.persona.phone = Some(fake::phone(self.rng()));
                }
                self.persona.phone.clone().unwrap_or_default()
            }
            Hint::Username => {
                if self.persona.username.is_none() {
                    self.persona.username = Some(fake::username(self.rng()));
                }
                self.persona.username.clone().unwrap_or_default()
            }
            Hint::GivenName => self.given().to_string(),
            Hint::FamilyName => self.family().to_string(),
            Hint::FullName => concat(&[self.given(), " ", self.family()]),
            Hint::Locale => fake::locale(self.rng()).to_string(),
            Hint::Ip => {
                if self.persona.ip.is_none() {
                    self.persona.ip = Some(fake::ip(self.rng()));
                }
                self.persona.ip.clone().unwrap_or_default()
            }
            Hint::Ipv4 => fake::ipv4(self.rng()),
            Hint::Ipv6 => fake::ipv6(self.rng()),
            Hint::UserAgent => {
                let ua = match self.persona.user_agent {
                    Some(ua) => ua,
                    None => fake::user_agent(self.rng()),
                };
                self.persona.user_agent = Some(ua);
                ua.to_string()
            }
            Hint::City => self.place().0.to_string(),
            Hint::Region => self.place().1.to_string(),
            Hint::Country => self.place().2.to_string(),
            Hint::Country3 => match self.place().2 {
                "US" => "USA",
                "GB" => "GBR",
                "DE" => "DEU",
                "BR" => "BRA",
                "JP" => "JPN",
                "HK" => "HKG",
                "NG" => "NGA",
                "AU" => "AUS",
                "CA" => "CAN",
                _ => "IND",
            }
            .to_string(),
            Hint::CountryName => match self.place().2 {
                "US" => "United States",
                "GB" => "United Kingdom",
                "DE" => "Germany",
                "BR" => "Brazil",
                "JP" => "Japan",
                "HK" => "Hong Kong",
                "NG" => "Nigeria",
                "AU" => "Australia",
                "CA" => "Canada",
                _ => "India",
            }
            .to_string(),
            Hint::Zipcode => self.place().5.to_string(),
            Hint::DisplayString => {
                let p = self.place();
                concat(&[p.0, ", ", p.1, ", ", p.2])
            }
            Hint::Latitude | Hint::Longitude => String::new(),
            Hint::Url => {
                let (a, b) = (fake::word(self.rng()), fake::word(self.rng()));
                concat(&["https://", a, ".example.com/", b])
            }
            Hint::Issuer => concat(&["https://", fake::word(self.rng()), ".authgear.cloud"]),
            Hint::Hostname => concat(&[fake::word(self.rng()), ".example.com"]),
            Hint::AppId => format!(
                "{}-{}",
                fake::word(self.rng()),
                self.rng().random_range(1..1000u32)
            ),
            Hint::AppName => {
                let w = fake::word(self.rng());
                let mut c = w.chars();
                let first = c.next().map(|f| f.to_ascii_uppercase()).unwrap_or('A');
                format!("{first}{} App", c.as_str())
            }
            Hint::Device => fake::pick(self.rng(), DEVICES).to_string(),
            Hint::Sentence => {
                let n = self.rng().random_range(3..8usize);
                let words: Vec<&str> = (0..n).map(|_| fake::word(self.rng())).collect();
                words.join(" ")
            }
            Hint::Word | Hint::Text => fake::word(self.rng()).to_string(),
            Hint::Digits => (0..21)
                .map(|_| char::from(b'0' + self.rng().random_range(0..10u8)))
                .collect(),
            Hint::Hex16 => fake::hex(self.rng(), 16),
            Hint::Hex24 => fake::hex(self.rng(), 24),
            Hint::Hex32 => fake::hex(self.rng(), 32),
            Hint::Alnum32 => self.alnum(32),
            Hint::Auth0ConId => concat(&["con_", &self.alnum(16)]),
            Hint::Auth0OrgId => concat(&["org_", &self.alnum(16)]),
            Hint::Auth0UserId => concat(&["auth0|", &fake::hex(self.rng(), 24)]),
            Hint::Branch => {
                if self.rng().random_bool(0.7) {
                    "main".to_string()
                } else {
                    format!("feature-{}", fake::word(self.rng()))
                }
            }
            Hint::Zoneinfo => fake::pick(self.rng(), ZONES).to_string(),
            Hint::Scope => "openid profile email offline_access".to_string(),
            Hint::Null => String::new(),
            Hint::Iso6Past | Hint::Iso6Recent | Hint::Iso6Future | Hint::Iso6Now => {
                let us = self.micros(hint);
                fake::rfc3339_micros(us, 6)
            }
            Hint::Iso3Past | Hint::Iso3Recent | Hint::Iso3Future | Hint::Iso3Now => {
                let us = self.micros(hint);
                fake::rfc3339_micros(us, 3)
            }
            Hint::Seq
            | Hint::UnixS
            | Hint::UnixSPast
            | Hint::UnixSFuture
            | Hint::UnixMs
            | Hint::UnixMsPast
            | Hint::UnixMsRecent => self.time_int(hint).to_string(),
        }
    }

    fn time_int(&mut self, hint: Hint) -> i64 {
        let now = self.counters.now_ms;
        match hint {
            Hint::Seq => {
                self.counters.seq += 1;
                self.counters.seq
            }
            Hint::UnixS => self.event_ms.div_euclid(1000),
            Hint::UnixSPast => {
                (now - self.rng().random_range(DAY_MS..3 * 365 * DAY_MS)).div_euclid(1000)
            }
            Hint::UnixSFuture => (now + self.rng().random_range(60_000..DAY_MS)).div_euclid(1000),
            Hint::UnixMs => self.event_ms,
            Hint::UnixMsPast => now - self.rng().random_range(DAY_MS..3 * 365 * DAY_MS),
            Hint::UnixMsRecent => now - self.rng().random_range(0..DAY_MS),
            _ => 0,
        }
    }

    pub(crate) fn gen_int(&mut self, i: &IntNode) -> i64 {
        let v = match i.hint {
            Hint::Seq
            | Hint::UnixS
            | Hint::UnixSPast
            | Hint::UnixSFuture
            | Hint::UnixMs
            | Hint::UnixMsPast
            | Hint::UnixMsRecent => self.time_int(i.hint),
            _ => {
                let lo = if i.min <= 0 && i.max >= 0 { 0 } else { i.min };
                let hi = lo.saturating_add(1000).min(i.max);
                self.rng().random_range(lo..=hi)
            }
        };
        v.clamp(i.min, i.max)
    }

    fn gen_num(&mut self, n: &NumNode) -> Value {
        let v = match n.hint {
            Hint::Latitude => self.place().3,
            Hint::Longitude => self.place().4,
            _ => {
                let hi = n.max.min(n.min + 1000.0);
                if hi > n.min {
                    let x = self.rng().random_range(n.min..hi);
                    (x * 10_000.0).round() / 10_000.0
                } else {
                    n.min
                }
            }
        }
        .clamp(n.min, n.max);
        Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// Joins string pieces with one allocation (cheaper than `format!` on the hot path).
fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| s.push_str(p));
    s
}

/// Pads or cuts `s` to `min..=max` characters.
pub(crate) fn fit_length(s: &mut String, min: usize, max: Option<usize>) {
    let count = s.chars().count();
    if count < min {
        s.extend(std::iter::repeat_n('x', min - count));
    }
    if let Some(max) = max {
        if count > max {
            *s = s.chars().take(max).collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn permute62_is_injective_on_a_sample() {
        let set: HashSet<u64> = (0..100_000u64).map(permute62).collect();
        assert_eq!(set.len(), 100_000);
        assert!(set.iter().all(|x| *x <= MASK62));
    }
}
