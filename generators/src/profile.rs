//! A provider's delivery profile ([`Profile`]): how it delivers, as data
//! (signature scheme, success rule, deadlines, redelivery, and where the
//! dedupe, ordering, subject, type and timestamp keys live), so a user's
//! provider file builds one the same way the built-ins (`crate::builtin`)
//! are built.

use crate::batch::Batch;
use crate::challenge::Challenge;
use crate::scheme::Scheme;

/// What counts as a successful answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuccessRule {
    /// 200–299.
    TwoXx,
    /// Anything below 400 (Infrahub).
    Below400,
}

impl SuccessRule {
    /// Whether `status` counts as delivered.
    pub fn is_success(self, status: u16) -> bool {
        match self {
            SuccessRule::TwoXx => (200..300).contains(&status),
            SuccessRule::Below400 => status < 400,
        }
    }
}

/// The redelivery a provider performs, so duplicate checks are realistic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redelivery {
    /// How many more times the same event may be sent.
    pub max_resends: u32,
    /// Whether each re-send carries a fresh message id header
    /// (Infrahub: new `webhook-id`, same body `id`).
    pub fresh_message_id: bool,
}

/// Where a key lives in a delivery: a JSON pointer into the body
/// (`/event/id`) or a header (`header:webhook-id`).
pub type KeyPath = String;

/// The value at `key` in a delivery: `header:NAME` is that header's value
/// (`header` looks it up, in any case), anything else a JSON pointer into
/// `body`.
pub fn key_value(
    key: &str,
    body: &serde_json::Value,
    header: impl Fn(&str) -> Option<String>,
) -> Option<serde_json::Value> {
    match key.strip_prefix("header:") {
        Some(name) => header(name).map(serde_json::Value::String),
        None => body.pointer(key).cloned(),
    }
}

/// How a provider delivers events: everything the checks and the emitter
/// need besides the event bodies themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Provider name.
    pub name: String,
    /// The signature scheme.
    pub scheme: Scheme,
    /// What counts as success.
    pub success: SuccessRule,
    /// Response deadline for a non-blocking delivery, in milliseconds.
    pub deadline_ms: u64,
    /// Per-hook deadline of blocking hooks, in milliseconds (Authgear: 5 s).
    pub blocking_deadline_ms: Option<u64>,
    /// Total budget of all blocking hooks of one operation (Authgear: 10 s).
    pub blocking_total_ms: Option<u64>,
    /// Redelivery behaviour.
    pub redelivery: Redelivery,
    /// Where the dedupe key lives.
    pub dedupe_key: KeyPath,
    /// Where the ordering key lives (`None`: the provider promises no order
    /// and has no sequence to judge by).
    pub ordering_key: Option<KeyPath>,
    /// Where the subject (the user/account the event is about) lives.
    pub subject_key: Option<KeyPath>,
    /// Where the body names its event type (`None`: the provider has one type).
    pub type_key: Option<KeyPath>,
    /// Where the event's own timestamp lives and in which form; the emitter
    /// patches it to "now" on every send.
    pub timestamp_key: Option<(KeyPath, TimeFormat)>,
    /// How the sender verifies the endpoint before (and while) it
    /// delivers (`None`: it does not).
    pub challenge: Option<Challenge>,
    /// Several events per request (Auth0 Log Streams); `None`: one event
    /// is one request body. With a batch, the key paths point into each
    /// event.
    pub batch: Option<Batch>,
    /// One subject's events in the order they happen (Authgear's
    /// `user.created` .. `user.deleted`): the `ordering` check delivers
    /// them shuffled. Empty: the provider's first type, four times.
    pub lifecycle: Vec<String>,
}

/// How a timestamp is written in a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// Signed 64-bit UNIX seconds (Authgear `context.timestamp`).
    UnixSeconds,
    /// Epoch milliseconds (FusionAuth `createInstant`).
    UnixMillis,
    /// RFC 3339 / ISO-8601 UTC string (Infrahub `occured_at`).
    Rfc3339,
}

impl Profile {
    /// The header naming the event type, when the type key is one (GitHub
    /// `X-GitHub-Event`, Shopify `X-Shopify-Topic`): every delivery then
    /// carries its type's name there, and its body need not name it.
    pub fn type_header(&self) -> Option<&str> {
        self.type_key.as_deref()?.strip_prefix("header:")
    }

    /// The event type a delivery names at the type key (`None` when it
    /// names none, or the profile has no type key).
    pub fn type_name(
        &self,
        body: &serde_json::Value,
        header: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        match key_value(self.type_key.as_deref()?, body, header)? {
            serde_json::Value::String(name) => Some(name),
            _ => None,
        }
    }

    /// How many events one request of this provider carries (1 unless it
    /// batches).
    pub fn events_per_request(&self) -> u32 {
        self.batch.map_or(1, |b| b.per_request())
    }
}
