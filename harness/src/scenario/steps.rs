//! The steps of a scenario file (`check`, `load`, `capacity`, `wait`),
//! each read from the positioned tree into its [`Step`]; event types a
//! step names are checked against the scenario's provider.

use generators::{did_you_mean, Provider};
use reports::Threshold;

use super::{CapacityStep, CheckStep, LoadStep, Step, StepKind};
use crate::check::{CheckId, DEFAULT_BURST, DEFAULT_CONCURRENCY};
use crate::document::{Fields, Node, Origin, Value, Walker};
use crate::schedule::{Arrival, Stage};
use crate::{capacity, load};

/// Keys of one item of `steps`.
pub const STEP_KEYS: &[&str] = &["name", "check", "load", "capacity", "wait"];
/// Keys of a `check` step.
pub const CHECK_KEYS: &[&str] = &["checks", "exclude", "types", "concurrency", "burst"];
/// Keys of a `load` step.
pub const LOAD_KEYS: &[&str] = &[
    "rate",
    "stages",
    "concurrency",
    "duration",
    "requests",
    "connections",
    "mix",
    "adversarial",
    "thresholds",
];
/// Keys of one load stage.
pub const STAGE_KEYS: &[&str] = &["duration", "rate"];
/// Keys of a `capacity` step.
pub const CAPACITY_KEYS: &[&str] = &[
    "slo",
    "start_rate",
    "max_rate",
    "step_duration",
    "connections",
    "mix",
    "thresholds",
];
/// Keys of a `wait` step written as a mapping.
pub const WAIT_KEYS: &[&str] = &["duration"];

/// The scenario's provider, for checking the event types steps name.
pub struct StepProvider<'a> {
    /// The provider (a file's names the file in hints).
    pub provider: &'a Provider,
}

impl StepProvider<'_> {
    fn check_type(&self, w: &mut Walker, name: &str, node: &Node) {
        let provider = self.provider;
        let Err(unknown) = provider.event_type(name) else {
            return;
        };
        let hint = match (provider.file(), unknown) {
            (
                None,
                generators::Error::UnknownName {
                    suggestion: Some(s),
                    ..
                },
            ) => format!("did you mean `{s}`? `hookstorm events list` prints every type"),
            (None, _) => format!(
                "`hookstorm events list --provider {}` prints every type",
                provider.name()
            ),
            (Some(file), _) => {
                let names = provider.types().into_iter().map(|t| t.name.as_str());
                match did_you_mean(name, names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the types declared in {file} are: {}", type_list(provider)),
                }
            }
        };
        w.error(
            node,
            format!(
                "unknown event type `{name}` for provider {}",
                provider.name()
            ),
            Some(hint),
        );
    }
}

fn type_list(provider: &Provider) -> String {
    provider
        .types()
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn read_steps(node: &Node, w: &mut Walker, ctx: Option<&StepProvider<'_>>) -> Vec<Step> {
    let Value::Seq(items) = &node.value else {
        w.error(
            node,
            format!("`steps` must be a list, found {}", node.value.kind()),
            Some(
                "write each step as a list item: `- check: {}`, `- load: {...}`, `- wait: 5s`"
                    .into(),
            ),
        );
        return Vec::new();
    };
    if items.is_empty() {
        w.error(
            node,
            "`steps` is empty",
            Some("add at least one step, e.g. `- check: {}`".into()),
        );
    }
    let mut steps = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(step) = read_step(item, i + 1, w, ctx) {
            steps.push(step);
        }
    }
    steps
}

fn read_step(
    item: &Node,
    index: usize,
    w: &mut Walker,
    ctx: Option<&StepProvider<'_>>,
) -> Option<Step> {
    let fields = w.map(item, "a step", STEP_KEYS)?;
    let kinds = ["check", "load", "capacity", "wait"];
    let present: Vec<&str> = kinds.iter().copied().filter(|k| fields.has(k)).collect();
    let kind_word = match present.as_slice() {
        [one] => *one,
        [] => {
            w.error(
                item,
                format!("step {index} does not say what to do"),
                Some("give it one of `check:`, `load:`, `capacity:` or `wait:`".into()),
            );
            return None;
        }
        [first, second, ..] => {
            w.error(
                fields.key(second).unwrap_or(item),
                format!("step {index} has both `{first}` and `{second}`"),
                Some("one action per step: split it into two list items".into()),
            );
            return None;
        }
    };
    let name = fields
        .get("name")
        .and_then(|n| w.string(n, "name", "warm-up"))
        .unwrap_or_else(|| format!("{kind_word} #{index}"));
    let body = fields.get(kind_word)?;
    let kind = match kind_word {
        "check" => StepKind::Check(read_check(body, w, ctx)?),
        "load" => StepKind::Load(read_load(body, w, ctx)?),
        "capacity" => StepKind::Capacity(read_capacity(body, w, ctx)?),
        _ => StepKind::Wait(read_wait(body, w)?),
    };
    let line = match item.origin {
        Origin::File { line, .. } => line,
        Origin::Set(_) => 0,
    };
    Some(Step { name, line, kind })
}

fn read_check(body: &Node, w: &mut Walker, ctx: Option<&StepProvider<'_>>) -> Option<CheckStep> {
    // `check: {}` and a bare `check:` both mean "every check".
    if body.value == Value::Null {
        return Some(CheckStep::default());
    }
    let f = w.map(body, "a check step", CHECK_KEYS)?;
    let mut step = CheckStep::default();
    let mut ok = true;
    for key in ["checks", "exclude"] {
        if let Some(n) = f.get(key) {
            let ids = w
                .strings(n, key, "accepts_valid, rejects_bad_signature")
                .unwrap_or_default();
            if key == "checks" && ids.is_empty() && matches!(n.value, Value::Seq(_)) {
                ok = false;
                empty_list(w, n, "checks", "check", "checks: [accepts_valid]");
            }
            for (id, item) in ids {
                match CheckId::parse(&id) {
                    Err(unknown) => {
                        ok = false;
                        let hint = match unknown.suggestion {
                            Some(s) => format!(
                                "did you mean `{s}`? `hookstorm check --list` prints every check"
                            ),
                            None => "`hookstorm check --list` prints every check id".into(),
                        };
                        w.error(&item, format!("unknown check `{id}`"), Some(hint));
                    }
                    Ok(id) if key == "checks" => step.checks.push(id),
                    Ok(id) => step.exclude.push(id),
                }
            }
        }
    }
    if ok && crate::check::select(&step.checks, &step.exclude).is_none() {
        ok = false;
        let at = f.get("exclude").unwrap_or(body);
        w.error(
            at,
            "no check is left to run: the exclusions remove every selected check",
            Some("exclude fewer (see `hookstorm check --list`)".into()),
        );
    }
    if let Some(n) = f.get("types") {
        let types = w.strings(n, "types", "user.created").unwrap_or_default();
        if types.is_empty() && matches!(n.value, Value::Seq(_)) {
            ok = false;
            empty_list(w, n, "types", "event type", "types: [user.created]");
        }
        for (ty, item) in types {
            if let Some(ctx) = ctx {
                ctx.check_type(w, &ty, &item);
            }
            step.types.push(ty);
        }
    }
    step.concurrency = f
        .get("concurrency")
        .and_then(|n| w.at_least_one(n, "concurrency", &DEFAULT_CONCURRENCY.to_string()))
        .map(|n| n as usize);
    step.burst = f
        .get("burst")
        .and_then(|n| w.at_least_one(n, "burst", &DEFAULT_BURST.to_string()))
        .map(|n| n as usize);
    ok.then_some(step)
}

/// An explicitly empty selection (`types: []`) selects nothing, which a
/// run would otherwise read as "everything" or pass having done nothing.
fn empty_list(w: &mut Walker, node: &Node, key: &str, what: &str, example: &str) {
    w.error(
        node,
        format!("`{key}` is empty: it selects no {what}"),
        Some(format!(
            "name at least one, e.g. `{example}`, or leave `{key}` out for every {what}"
        )),
    );
}

fn read_mix(node: &Node, w: &mut Walker, ctx: Option<&StepProvider<'_>>) -> Vec<(String, f64)> {
    let Some(entries) = node.as_map() else {
        w.error(
            node,
            format!(
                "`mix` must map event types to weights, found {}",
                node.value.kind()
            ),
            Some("e.g. `mix: {user.created: 3, user.authenticated: 1}`".into()),
        );
        return Vec::new();
    };
    if entries.is_empty() {
        empty_list(w, node, "mix", "event type", "mix: {user.created: 1}");
        return Vec::new();
    }
    let mut mix = Vec::new();
    for (key, value) in entries {
        let Some(ty) = w.string(key, "mix", "user.created") else {
            continue;
        };
        if let Some(ctx) = ctx {
            ctx.check_type(w, &ty, key);
        }
        if let Some(weight) = w.positive(value, &format!("mix.{ty}"), "1") {
            mix.push((ty, weight));
        }
    }
    mix
}

fn read_load(body: &Node, w: &mut Walker, ctx: Option<&StepProvider<'_>>) -> Option<LoadStep> {
    let f = w.map(body, "a load step", LOAD_KEYS)?;
    let before = w.problems.len();
    // A ramp may start from a `rate` (k6's startRate), so only the closed
    // model excludes the others.
    if let (Some(closed), Some(open)) = (
        f.key("concurrency"),
        ["rate", "stages"].into_iter().find(|k| f.has(k)),
    ) {
        w.error(
            closed,
            format!("a load step sets both `{open}` and `concurrency`"),
            Some(
                "keep `concurrency` (closed model), or `rate` and/or `stages` (open model; \
                 stages ramp from `rate` if given)"
                    .into(),
            ),
        );
    }
    let rate = f.get("rate").and_then(|n| w.positive(n, "rate", "100"));
    let stages = f.get("stages").and_then(|n| read_stages(n, w));
    let concurrency = f
        .get("concurrency")
        .and_then(|n| w.at_least_one(n, "concurrency", "8"))
        .map(|c| c as usize);
    let arrival = if ["rate", "stages", "concurrency"].iter().all(|k| !f.has(k)) {
        w.error(
            body,
            "a load step needs an arrival model",
            Some("add `rate: 100` (open model), `stages: [{duration: 30s, rate: 200}]` (ramping, from `rate` if given, else from 0) or `concurrency: 8` (closed model)".into()),
        );
        None
    } else if w.problems.len() > before {
        None
    } else {
        Arrival::of(rate, stages.unwrap_or_default(), concurrency)
    };
    let duration = f.get("duration").and_then(|n| w.duration(n, "duration"));
    let requests = f
        .get("requests")
        .and_then(|n| w.at_least_one(n, "requests", "10000"));
    match &arrival {
        Some(Arrival::Ramp { .. }) => {
            if let Some(n) = f.get("duration") {
                w.error(
                    n,
                    "a load step with `stages` takes its duration from the stages",
                    Some("remove `duration`, or add a final stage that holds the rate".into()),
                );
            }
        }
        Some(_) if !f.has("duration") && !f.has("requests") => w.error(
            body,
            "a load step needs `duration` or `requests`",
            Some("add e.g. `duration: 30s` or `requests: 10000`".into()),
        ),
        _ => {}
    }
    let (connections, mix, thresholds) = read_sending(&f, w, ctx, load::DEFAULT_LOAD_CONNECTIONS);
    let adversarial = f
        .get("adversarial")
        .and_then(|n| w.share(n, "adversarial"))
        .unwrap_or(0.0);
    if w.problems.len() > before {
        return None;
    }
    Some(LoadStep {
        arrival: arrival?,
        duration,
        requests,
        connections,
        mix,
        adversarial,
        thresholds,
    })
}

/// The keys load and capacity steps share: `connections` (`default` when
/// absent, so the step holds the number it runs with), `mix` and
/// `thresholds` (parsed here, once).
fn read_sending(
    f: &Fields<'_>,
    w: &mut Walker,
    ctx: Option<&StepProvider<'_>>,
    default: usize,
) -> (usize, Vec<(String, f64)>, Vec<Threshold>) {
    let connections = f
        .get("connections")
        .and_then(|n| w.at_least_one(n, "connections", &default.to_string()))
        .map_or(default, |n| n as usize);
    let mix = f
        .get("mix")
        .map(|n| read_mix(n, w, ctx))
        .unwrap_or_default();
    let thresholds = f
        .get("thresholds")
        .map(|n| w.thresholds(n, "thresholds"))
        .unwrap_or_default();
    (connections, mix, thresholds)
}

fn read_stages(node: &Node, w: &mut Walker) -> Option<Vec<Stage>> {
    let Value::Seq(items) = &node.value else {
        w.error(
            node,
            format!("`stages` must be a list, found {}", node.value.kind()),
            Some("e.g. `stages: [{duration: 10s, rate: 50}, {duration: 30s, rate: 500}]`".into()),
        );
        return None;
    };
    if items.is_empty() {
        w.error(
            node,
            "`stages` is empty",
            Some("add at least one `{duration: 10s, rate: 50}`".into()),
        );
        return None;
    }
    let mut stages = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(f) = w.map(item, "a stage", STAGE_KEYS) else {
            ok = false;
            continue;
        };
        let duration = f
            .require(w, "duration", "duration: 10s")
            .and_then(|n| w.duration(n, "duration"));
        let rate = f.require(w, "rate", "rate: 50").and_then(|n| {
            // A stage may ramp down to 0; only negative rates are impossible.
            let r = w.number(n, "rate", "50")?;
            if r < 0.0 {
                w.error(
                    n,
                    format!("`rate` must not be negative, found {r}"),
                    Some("write e.g. `rate: 50`".into()),
                );
                return None;
            }
            Some(r)
        });
        match (duration, rate) {
            (Some(duration), Some(target)) => stages.push(Stage { duration, target }),
            _ => ok = false,
        }
    }
    if ok && stages.iter().all(|s| s.target <= 0.0) {
        w.error(
            node,
            "every stage has rate 0: nothing would be sent",
            Some("give at least one stage a rate above 0".into()),
        );
        return None;
    }
    ok.then_some(stages)
}

fn read_capacity(
    body: &Node,
    w: &mut Walker,
    ctx: Option<&StepProvider<'_>>,
) -> Option<CapacityStep> {
    let f = w.map(body, "a capacity step", CAPACITY_KEYS)?;
    let before = w.problems.len();
    let slo = f
        .require(w, "slo", "slo: [p99<250ms, error_rate<0.1%]")
        .map(|n| w.thresholds(n, "slo"))
        .unwrap_or_default();
    if slo.is_empty() && w.problems.len() == before {
        w.error(
            f.get("slo").unwrap_or(body),
            "`slo` is empty",
            Some("e.g. `slo: [p99<250ms]`".into()),
        );
    }
    let start_rate = f
        .get("start_rate")
        .and_then(|n| w.positive(n, "start_rate", "50"))
        .unwrap_or(50.0);
    let max_rate = f
        .require(w, "max_rate", "max_rate: 5000")
        .and_then(|n| w.positive(n, "max_rate", "5000"));
    if let (Some(max), Some(node)) = (max_rate, f.get("max_rate")) {
        if max < start_rate {
            w.error(
                node,
                format!("`max_rate` ({max}) is below `start_rate` ({start_rate})"),
                Some("raise max_rate or lower start_rate".into()),
            );
        }
    }
    let step_duration = f
        .get("step_duration")
        .and_then(|n| w.duration(n, "step_duration"))
        .unwrap_or(std::time::Duration::from_secs(5));
    let (connections, mix, thresholds) =
        read_sending(&f, w, ctx, capacity::DEFAULT_CAPACITY_CONNECTIONS);
    if w.problems.len() > before {
        return None;
    }
    Some(CapacityStep {
        slo,
        start_rate,
        max_rate: max_rate?,
        step_duration,
        connections,
        mix,
        thresholds,
    })
}

fn read_wait(body: &Node, w: &mut Walker) -> Option<std::time::Duration> {
    if body.as_map().is_some() {
        let f = w.map(body, "a wait step", WAIT_KEYS)?;
        let n = f.require(w, "duration", "duration: 5s")?;
        return w.duration(n, "duration");
    }
    w.duration(body, "wait")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{parse_str, Options, StepKind};
    use super::*;

    fn arrival_of(load: &str) -> Arrival {
        let text = format!(
            "target: http://127.0.0.1:1/\nprovider: authgear\nsecret: ${{HOOK_SECRET}}\n\
             steps:\n  - load: {load}\n"
        );
        let env = |name: &str| (name == "HOOK_SECRET").then(|| "s".to_string());
        let options = Options {
            sets: Vec::new(),
            env: &env,
        };
        let scenario = parse_str(&text, "s.yaml", std::path::Path::new("."), None, &options)
            .unwrap_or_else(|d| panic!("{}", d.render_plain()));
        match &scenario.steps[0].kind {
            StepKind::Load(step) => step.arrival.clone(),
            other => panic!("not a load step: {other:?}"),
        }
    }

    /// A step's `stages` ramp from its `rate` when it has one, from 0
    /// otherwise: the rule `load --rate R --stage ..` follows too.
    #[test]
    fn stages_ramp_from_the_steps_rate_else_from_zero() {
        let stages = vec![Stage {
            duration: Duration::from_secs(2),
            target: 100.0,
        }];
        assert_eq!(
            arrival_of("{rate: 40, stages: [{duration: 2s, rate: 100}]}"),
            Arrival::Ramp {
                start: 40.0,
                stages: stages.clone()
            }
        );
        assert_eq!(
            arrival_of("{stages: [{duration: 2s, rate: 100}]}"),
            Arrival::Ramp { start: 0.0, stages }
        );
    }
}
