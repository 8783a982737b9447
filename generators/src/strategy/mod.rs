//! Schema-driven property-based generation. A JSON Schema is compiled once
//! per event type (`compile`); a proptest [`Strategy`] ([`EventStrategy`])
//! walks the result with the runner's seeded RNG to produce events
//! (`generate`); [`EventTree`] is its
//! [`ValueTree`](proptest::strategy::ValueTree), shrinking an event towards
//! its smallest still-valid form, and [`shrink()`] drives it against a
//! failing check (`shrink`).
//!
//! Any schema works: custom providers get generation from their schema
//! alone. [`Generator`] owns the runner and the per-run counters, so ids
//! are unique per run and `seq` strictly increases.

pub(crate) mod compile;
pub(crate) mod generate;
mod shrink;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use proptest::strategy::{NewTree, Strategy};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

use crate::catalog::EventType;
use crate::fake;
use crate::seed::SplitMix64;
use compile::{find_subject, CompiledType};
use generate::{Counters, Ctx, Mode};

pub use self::shrink::{shrink, EventTree};

/// A proptest strategy producing valid events of one type, sharing its
/// generator's id and `seq` counters.
#[derive(Clone)]
pub struct EventStrategy {
    compiled: Arc<CompiledType>,
    counters: Arc<Mutex<Counters>>,
    subject: Option<String>,
    mode: Mode,
}

impl fmt::Debug for EventStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStrategy")
            .field("subject", &self.subject)
            .field("mode", &self.mode)
            .finish()
    }
}

impl EventStrategy {
    pub(crate) fn generate(&self, runner: &mut TestRunner) -> Value {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ctx = Ctx::new(runner, &mut counters, self.subject.clone(), self.mode);
        ctx.gen(&self.compiled.root)
    }
}

impl Strategy for EventStrategy {
    type Tree = EventTree;
    type Value = Value;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(EventTree::new(self.compiled.clone(), self.generate(runner)))
    }
}

struct CachedType {
    provider: String,
    name: String,
    compiled: Arc<CompiledType>,
}

/// Produces events for any [`EventType`]: valid ones, shrinkable ones and
/// adversarial variants. All randomness comes from the seed.
pub struct Generator {
    pub(crate) runner: TestRunner,
    pub(crate) counters: Arc<Mutex<Counters>>,
    cache: HashMap<usize, CachedType>,
}

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("counters", &self.counters)
            .finish()
    }
}

impl Generator {
    /// A generator whose every value derives from `seed`, with timestamps near `now_unix_ms`.
    pub fn new(seed: u64, now_unix_ms: i64) -> Generator {
        let mut stream = SplitMix64::new(seed);
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&stream.next_u64().to_le_bytes());
        }
        let id_key = stream.next_u64();
        let seq = (stream.next_u64() % 1_000_000) as i64 + 1;
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let runner = TestRunner::new_with_rng(Config::default(), rng);
        Generator {
            runner,
            counters: Arc::new(Mutex::new(Counters {
                seq,
                next_id: 0,
                id_key,
                now_ms: now_unix_ms,
            })),
            cache: HashMap::new(),
        }
    }

    /// Moves the generator's clock (timestamps are drawn near this instant).
    pub fn set_now(&mut self, now_unix_ms: i64) {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .now_ms = now_unix_ms;
    }

    pub(crate) fn compiled(&mut self, ty: &EventType) -> Arc<CompiledType> {
        // Keyed by the schema's address: built-in types are 'static, so
        // the lookup costs no hashing of the schema on the hot path.
        let key = &ty.schema as *const Value as usize;
        if let Some(c) = self.cache.get(&key) {
            if c.provider == ty.provider && c.name == ty.name {
                return c.compiled.clone();
            }
        }
        let compiled = Arc::new(CompiledType::compile(&ty.schema, &ty.name));
        self.cache.insert(
            key,
            CachedType {
                provider: ty.provider.clone(),
                name: ty.name.clone(),
                compiled: compiled.clone(),
            },
        );
        compiled
    }

    pub(crate) fn strategy_with(
        &mut self,
        ty: &EventType,
        subject: Option<String>,
        mode: Mode,
    ) -> EventStrategy {
        EventStrategy {
            compiled: self.compiled(ty),
            counters: self.counters.clone(),
            subject,
            mode,
        }
    }

    /// The proptest strategy of valid `ty` events (shares this generator's counters).
    pub fn strategy(&mut self, ty: &EventType) -> EventStrategy {
        self.strategy_with(ty, None, Mode::Random)
    }

    /// A valid event: unique id, next `seq`, realistic values.
    pub fn valid(&mut self, ty: &EventType) -> Value {
        let s = self.strategy_with(ty, None, Mode::Random);
        s.generate(&mut self.runner)
    }

    /// A valid event about `subject` (see [`Generator::subject`] for one in the right format).
    pub fn valid_for_subject(&mut self, ty: &EventType, subject: &str) -> Value {
        let s = self.strategy_with(ty, Some(subject.to_string()), Mode::Random);
        s.generate(&mut self.runner)
    }

    /// A fresh subject (user/account id) in the format `ty` uses.
    pub fn subject(&mut self, ty: &EventType) -> String {
        let compiled = self.compiled(ty);
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut ctx = Ctx::new(&mut self.runner, &mut counters, None, Mode::Random);
        find_subject(&compiled.root)
            .map(|s| ctx.gen_str(s))
            .unwrap_or_else(|| fake::uuid(ctx.rng(), false))
    }

    /// A valid event as a shrinkable proptest value tree.
    pub fn tree(&mut self, ty: &EventType) -> EventTree {
        let s = self.strategy_with(ty, None, Mode::Random);
        let v = s.generate(&mut self.runner);
        EventTree::new(s.compiled, v)
    }

    /// Generates with the given mode (variants start from full or minimal events).
    pub(crate) fn generate_mode(
        &mut self,
        ty: &EventType,
        mode: Mode,
    ) -> (Arc<CompiledType>, Value) {
        let s = self.strategy_with(ty, None, mode);
        let v = s.generate(&mut self.runner);
        (s.compiled, v)
    }
}

// The harness moves generators into tasks and threads: checked at compile time.
const _: fn() = || {
    fn check<T: Send + Sync>() {}
    check::<Generator>();
    check::<EventStrategy>();
    check::<EventTree>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A custom provider's event type with `schema` (shared by the submodules' tests).
    pub(super) fn ty(schema: Value) -> EventType {
        EventType {
            provider: "custom".into(),
            name: "thing.happened".into(),
            blocking: false,
            description: String::new(),
            schema,
        }
    }

    #[test]
    fn custom_schema_with_pattern_generates_matching_strings() {
        let t = ty(json!({
            "type": "object",
            "required": ["code", "kind"],
            "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}, "kind": {"const": "thing.happened"}}
        }));
        let mut g = Generator::new(1, 1_700_000_000_000);
        let v = jsonschema::validator_for(&t.schema).unwrap();
        for _ in 0..50 {
            let e = g.valid(&t);
            assert!(v.is_valid(&e), "{e}");
        }
        assert_eq!(g.compiled(&t).type_path, Some(vec!["kind".to_string()]));
    }
}
