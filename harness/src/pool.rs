//! The pre-generated event pool a load run sends from.
//!
//! Events are generated (or read from a `--events` file) into body
//! templates before the clock starts; each send takes the next entry and
//! patches a fresh id, sequence number and timestamp into it, so
//! generation never limits the rate. Entries follow the weighted mix:
//! a type of weight 3 fills three times as many entries as one of weight 1,
//! interleaved so consecutive sends vary.

use anyhow::{bail, Context, Result};
use generators::template::{MemberOrder, SlotKeys, Template};
use generators::{Delivery, EventType, Generator, Provider};
use serde_json::Value;

use crate::verdict::usage;

/// Entries generated per run when the mix does not ask for more.
pub const DEFAULT_POOL_SIZE: usize = 1_024;
/// Attempts at drawing an event that carries every slot key, before an
/// event without some (optional) key is accepted as it is.
const SLOT_ATTEMPTS: usize = 16;

/// One pooled event.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Index into [`Pool::type_names`].
    pub type_index: u16,
    /// The body with its slots.
    pub template: Template,
    /// Headers sent as they are, for `--verbatim` records (no re-signing).
    pub verbatim_headers: Option<Vec<(String, String)>>,
}

/// The pool: type names (the report's per-type rows) and entries.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Event type names; `Entry::type_index` indexes this list.
    pub type_names: Vec<String>,
    entries: Vec<Entry>,
}

impl Pool {
    /// The entry used by request `index` (the pool repeats).
    pub fn entry(&self, index: u64) -> &Entry {
        &self.entries[self.position(index)]
    }

    /// Where in [`entries`](Self::entries) request `index`'s entry is.
    pub fn position(&self, index: u64) -> usize {
        (index % self.entries.len() as u64) as usize
    }

    /// Every entry, in send order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool has no entries (never true for a built pool).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Generates `size` valid events of the weighted `mix` (type, weight),
    /// their members placed per `order`.
    pub fn generate(
        provider: &Provider,
        mix: &[(&EventType, f64)],
        seed: u64,
        now_unix_ms: i64,
        size: usize,
        order: MemberOrder,
    ) -> Result<Pool> {
        if mix.is_empty() {
            bail!("the event mix is empty");
        }
        let keys = slot_keys(provider);
        let counts = apportion(
            &mix.iter().map(|(_, w)| *w).collect::<Vec<_>>(),
            size.max(mix.len()),
        );
        let mut generator = Generator::new(seed, now_unix_ms);
        let mut per_type: Vec<Vec<Template>> = Vec::with_capacity(mix.len());
        for ((ty, _), count) in mix.iter().zip(&counts) {
            let mut templates = Vec::with_capacity(*count);
            for _ in 0..*count {
                templates.push(draw(&mut generator, ty, &keys, order)?);
            }
            per_type.push(templates);
        }
        let type_names = mix.iter().map(|(t, _)| t.name.clone()).collect();
        Ok(Pool {
            type_names,
            entries: interleave(per_type),
        })
    }

    /// Reads a `--events` JSONL file: `{"headers":{..},"body":".."}` records
    /// as `events gen --signed` writes them, or bare JSON bodies. Unless
    /// `verbatim`, bodies get slots (ids, seq, timestamps are patched and
    /// the signature redone) and members placed per `order`; verbatim
    /// records are sent byte for byte.
    pub fn from_jsonl(
        text: &str,
        provider: &Provider,
        verbatim: bool,
        order: MemberOrder,
    ) -> Result<Pool> {
        let keys = slot_keys(provider);
        let mut type_names: Vec<String> = Vec::new();
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let at = || format!("--events line {}", n + 1);
            let value: Value = serde_json::from_str(line)
                .map_err(|e| usage(format!("{}: not JSON: {e}", at())))?;
            let (headers, body) = if is_delivery(&value) {
                let d: Delivery =
                    serde_json::from_value(value).map_err(|e| usage(format!("{}: {e}", at())))?;
                (Some(d.headers), d.body)
            } else {
                (None, serde_json::to_vec(&value).unwrap_or_default())
            };
            let parsed: Option<Value> = serde_json::from_slice(&body).ok();
            let name = provider
                .type_of(
                    parsed.as_ref().unwrap_or(&Value::Null),
                    generators::header_lookup(headers.as_deref().unwrap_or_default()),
                )
                .map_or_else(|| "event".to_string(), |t| t.name.clone());
            let type_index = match type_names.iter().position(|t| *t == name) {
                Some(i) => i,
                None => {
                    type_names.push(name);
                    type_names.len() - 1
                }
            };
            let type_index = u16::try_from(type_index)
                .map_err(|_| usage("--events holds more than 65536 event types"))?;
            let entry = if verbatim {
                Entry {
                    type_index,
                    template: Template::verbatim(body),
                    verbatim_headers: Some(headers.unwrap_or_default()),
                }
            } else {
                let Some(parsed) = parsed else {
                    return Err(usage(format!(
                        "{}: the body is not JSON; use --verbatim to send it as it is",
                        at()
                    )));
                };
                let template = Template::new(&parsed, &keys, true, order)
                    .map_err(|e| usage(format!("{}: {e}", at())))?;
                Entry {
                    type_index,
                    template,
                    verbatim_headers: None,
                }
            };
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(usage("--events file holds no events"));
        }
        Ok(Pool {
            type_names,
            entries,
        })
    }
}

/// Checks that every line of a `--events` file is an event of `provider`
/// (a bare body, or a record as `events gen --signed` writes them): a JSON
/// object whose type, where the provider names one, is one of the
/// provider's. Anything else (`[1,2,3]`, `{}`, another provider's events)
/// is refused before a run sends it; `--verbatim` skips this check.
pub fn check_events_of(provider: &Provider, text: &str) -> Result<()> {
    let name = provider.name();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = format!("--events line {}", n + 1);
        let value: Value =
            serde_json::from_str(line).map_err(|e| usage(format!("{at}: not JSON: {e}")))?;
        let (headers, body): (Vec<(String, String)>, Value) = if is_delivery(&value) {
            let d: Delivery =
                serde_json::from_value(value).map_err(|e| usage(format!("{at}: {e}")))?;
            let body = serde_json::from_slice(&d.body).map_err(|e| {
                usage(format!(
                    "{at}: the record's body is not JSON ({e}); use --verbatim to send it as it is"
                ))
            })?;
            (d.headers, body)
        } else {
            (Vec::new(), value)
        };
        let refuse = |what: String| {
            usage(format!(
                "{at}: {what}, so it is not a {name} event; give events of the provider \
                 (`hookstorm events gen -p {name}`), or --verbatim to send any JSON as it is"
            ))
        };
        if !body.is_object() {
            return Err(refuse(format!("it is a JSON {}", json_kind(&body))));
        }
        let Some(key) = &provider.profile().type_key else {
            continue;
        };
        let ty = provider
            .profile()
            .type_name(&body, generators::header_lookup(&headers))
            .ok_or_else(|| match provider.profile().type_header() {
                // A bare body cannot carry a header: only a record can.
                Some(header) if headers.is_empty() => usage(format!(
                    "{at}: {name} events name their type in the `{header}` header, which a bare \
                     body has not; give records as `hookstorm events gen -p {name} --signed` \
                     writes them, or --verbatim to send any JSON as it is"
                )),
                _ => refuse(format!("it has no event type at `{key}`")),
            })?;
        provider
            .event_type(&ty)
            .map_err(|e| refuse(format!("its type `{ty}` is unknown ({e})")))?;
    }
    Ok(())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether a JSONL value is a signed delivery record rather than a body.
fn is_delivery(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        o.len() == 2
            && o.get("headers").is_some_and(Value::is_object)
            && o.get("body").is_some_and(Value::is_string)
    })
}

/// The body slots of `provider`'s profile; a profile whose dedupe key is a
/// header gets the body id of the profile as declared patched, if that has
/// one (a scenario's profile override). Standard Webhooks has none: its
/// `webhook-id` header and payload `timestamp` make each request unique.
pub fn slot_keys(provider: &Provider) -> SlotKeys {
    let mut keys = SlotKeys::of_profile(provider.profile());
    if keys.id.is_none() {
        keys.id = SlotKeys::of_profile(provider.declared_profile()).id;
    }
    keys
}

/// A valid event of `ty` as a template, preferring one that has every slot.
fn draw(
    generator: &mut Generator,
    ty: &EventType,
    keys: &SlotKeys,
    order: MemberOrder,
) -> Result<Template> {
    let wanted = [
        keys.id.is_some(),
        keys.seq.is_some(),
        keys.timestamp.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let mut last = None;
    for _ in 0..SLOT_ATTEMPTS {
        let body = generator.valid(ty);
        let template = Template::new(&body, keys, true, order)
            .with_context(|| format!("generated `{}` event", ty.name))?;
        if template.slots().count() == wanted {
            return Ok(template);
        }
        last = Some(template);
    }
    // An optional key (Auth0 `transaction.id`) the generator keeps leaving out.
    last.context("no event generated")
}

/// Splits `total` entries by `weights` (largest remainder), at least one
/// per positive weight.
fn apportion(weights: &[f64], total: usize) -> Vec<usize> {
    let sum: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if sum <= 0.0 {
        return weights.iter().map(|_| 0).collect();
    }
    let exact: Vec<f64> = weights
        .iter()
        .map(|w| w.max(0.0) / sum * total as f64)
        .collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = total.saturating_sub(counts.iter().sum());
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for i in order {
        if left == 0 {
            break;
        }
        if weights[i] > 0.0 {
            counts[i] += 1;
            left -= 1;
        }
    }
    for (c, w) in counts.iter_mut().zip(weights) {
        if *w > 0.0 && *c == 0 {
            *c = 1;
        }
    }
    counts
}

/// Spreads each type's entries evenly over the pool (smooth weighted
/// round-robin), so a weight-1 type is not sent in one burst.
fn interleave(per_type: Vec<Vec<Template>>) -> Vec<Entry> {
    let total: usize = per_type.iter().map(Vec::len).sum();
    let weights: Vec<i64> = per_type.iter().map(|v| v.len() as i64).collect();
    let mut current = vec![0i64; per_type.len()];
    let mut iters: Vec<_> = per_type.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(total);
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(&weights) {
            *c += w;
        }
        let Some(best) = (0..current.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
        else {
            break;
        };
        current[best] -= total as i64;
        if let Some(template) = iters[best].next() {
            out.push(Entry {
                type_index: best as u16,
                template,
                verbatim_headers: None,
            });
        }
    }
    out
}

/// Parses a `--mix` file: one `type: weight` per line (a flat YAML map;
/// `#` starts a comment).
pub fn parse_mix(text: &str) -> Result<Vec<(String, f64)>> {
    let mut mix = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, weight)) = line.rsplit_once(':') else {
            return Err(usage(format!(
                "--mix line {}: expected `type: weight`, got `{line}`",
                n + 1
            )));
        };
        let name = name.trim().trim_matches(|c| c == '"' || c == '\'');
        let weight: f64 = weight
            .trim()
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| {
                usage(format!(
                    "--mix line {}: weight `{}` is not a number >= 0",
                    n + 1,
                    weight.trim()
                ))
            })?;
        mix.push((name.to_string(), weight));
    }
    if !mix.iter().any(|(_, w)| *w > 0.0) {
        return Err(usage("--mix gives no event type a weight above 0"));
    }
    Ok(mix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use generators::template::Patch;
    use generators::{Catalog, ProviderId};

    #[test]
    fn apportion_follows_weights_and_keeps_every_type() {
        assert_eq!(apportion(&[3.0, 1.0], 8), vec![6, 2]);
        assert_eq!(apportion(&[1000.0, 1.0], 10), vec![10, 1]);
        assert_eq!(apportion(&[1.0, 0.0, 1.0], 3).iter().sum::<usize>(), 3);
        assert_eq!(apportion(&[1.0, 0.0, 1.0], 3)[1], 0);
    }

    #[test]
    fn mix_file_parses_and_rejects_nonsense() {
        let mix = parse_mix("# weights\nuser.created: 3\n\"user.deleted\": 1 # rare\n").unwrap();
        assert_eq!(
            mix,
            vec![
                ("user.created".to_string(), 3.0),
                ("user.deleted".to_string(), 1.0)
            ]
        );
        assert!(parse_mix("user.created 3").is_err());
        assert!(parse_mix("user.created: -1").is_err());
        assert!(parse_mix("user.created: 0").is_err());
    }

    #[test]
    fn generated_pool_follows_the_mix_and_renders_valid_events() {
        let catalog = Catalog::builtin();
        let a = catalog.get("authgear", "user.created").unwrap();
        let b = catalog.get("authgear", "user.deleted").unwrap();
        let pool = Pool::generate(
            &Provider::builtin(ProviderId::Authgear),
            &[(a, 3.0), (b, 1.0)],
            7,
            1_700_000_000_000,
            40,
            MemberOrder::SlotsLast,
        )
        .unwrap();
        assert_eq!(pool.len(), 40);
        let firsts: Vec<u16> = (0..40).map(|i| pool.entry(i).type_index).collect();
        assert_eq!(firsts.iter().filter(|t| **t == 0).count(), 30);
        // Interleaved: no more than 3 of the heavy type in a row.
        assert!(
            !firsts.windows(4).any(|w| w.iter().all(|t| *t == 0)),
            "{firsts:?}"
        );
        let patch = Patch {
            id: 42,
            seq: 99,
            now_us: 1_700_000_000_000_000,
        };
        for i in 0..40 {
            let entry = pool.entry(i);
            let body: Value = serde_json::from_slice(&entry.template.render(&patch)).unwrap();
            let ty = [a, b][entry.type_index as usize];
            assert_eq!(catalog.validate(ty, &body), Ok(()), "{body}");
            assert_eq!(body["seq"], 99);
        }
    }

    #[test]
    fn jsonl_reads_records_and_bare_bodies() {
        let authgear = Provider::builtin(ProviderId::Authgear);
        let text = concat!(
            r#"{"headers":{"x-authgear-body-signature":"ab"},"body":"{\"id\":\"a\",\"seq\":1,\"type\":\"user.created\",\"context\":{\"timestamp\":1}}"}"#,
            "\n\n",
            r#"{"id":"b","seq":2,"type":"user.deleted","context":{"timestamp":1}}"#,
            "\n"
        );
        let read = |text: &str, verbatim: bool| {
            Pool::from_jsonl(text, &authgear, verbatim, MemberOrder::Keep)
        };
        let pool = read(text, false).unwrap();
        assert_eq!(pool.type_names, vec!["user.created", "user.deleted"]);
        assert_eq!(pool.entry(0).template.slots().count(), 3);
        let verbatim = read(text, true).unwrap();
        let e = verbatim.entry(0);
        assert_eq!(
            e.verbatim_headers.as_ref().unwrap()[0].0,
            "x-authgear-body-signature"
        );
        assert_eq!(e.template.slots().count(), 0);
        assert!(read("not json\n", false).is_err());
        assert!(read("\n", false).is_err());
    }

    #[test]
    fn events_of_another_provider_or_not_events_are_refused() {
        let authgear = Provider::builtin(ProviderId::Authgear);
        let ok = concat!(
            r#"{"headers":{"x-authgear-body-signature":"ab"},"body":"{\"id\":\"a\",\"type\":\"user.created\"}"}"#,
            "\n",
            r#"{"id":"b","seq":2,"type":"user.deleted","context":{"timestamp":1}}"#,
        );
        check_events_of(&authgear, ok).unwrap();
        for (line, expect) in [
            ("[1,2,3]", "it is a JSON array"),
            ("{}", "it has no event type at `/type`"),
            (r#"{"type":"user.nope"}"#, "its type `user.nope` is unknown"),
            // FusionAuth's shape: its type sits under /event/type.
            (
                r#"{"event":{"type":"user.create","id":"x"}}"#,
                "no event type at `/type`",
            ),
            (r#"{"headers":{},"body":"[1]"}"#, "it is a JSON array"),
        ] {
            let err = check_events_of(&authgear, line).unwrap_err().to_string();
            assert!(err.contains(expect), "{line}: {err}");
            assert!(
                err.contains("--events line 1") && err.contains("--verbatim"),
                "{err}"
            );
        }
    }
}
