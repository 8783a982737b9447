//! The second pass over a scenario file: the positioned YAML tree (with
//! `--set` overrides applied) checked and turned into a [`Scenario`].
//!
//! Every mistake is collected, never just the first: unknown keys (with
//! "did you mean"), wrong types, bad durations, unknown providers, event
//! types and check ids, missing environment variables, invalid thresholds,
//! impossible rates. The caller gets all of them in one [`Diagnostic`]
//! before a single request is sent.

use std::path::{Path, PathBuf};

use generators::{did_you_mean, Catalog, ProviderId};

use super::diagnostic::{Diagnostic, Problem};
use super::walk::{Fields, Walker};
use super::yaml::{self, Node, Origin, Value};
use super::{
    Arrival, CapacityStep, CheckStep, Ledger, LoadStep, ProviderRef, Scenario, Stage, Step,
    StepKind, Tls,
};
use crate::client::Target;
use crate::ledger::OrderingPolicy;

/// Keys allowed at the top of a scenario file.
pub const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "target",
    "tls",
    "provider",
    "provider_file",
    "secret",
    "ledger",
    "ordering",
    "deadline",
    "seed",
    "thresholds",
    "steps",
];
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
/// Keys of `tls`.
pub const TLS_KEYS: &[&str] = &["ca_cert", "insecure"];
/// Keys of `ledger`.
pub const LEDGER_KEYS: &[&str] = &["url", "cmd"];
/// Ordering policies, as written in files.
pub const ORDERING: &[&str] = &["strict", "last-write-wins", "none"];
/// The secret variable used when a file names none.
pub const DEFAULT_SECRET_ENV: &str = "HOOK_SECRET";

/// What surrounds the file: overrides and the environment.
pub struct Options<'a> {
    /// `--set key=value` overrides, as typed (`steps.1.load.rate=50`).
    pub sets: Vec<String>,
    /// Looks up an environment variable (tests pass a fixed map).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Options<'_> {
    /// No overrides, the process environment.
    pub fn process() -> Options<'static> {
        Options {
            sets: Vec::new(),
            env: &|name| std::env::var(name).ok().filter(|v| !v.is_empty()),
        }
    }
}

/// Reads and checks a scenario file.
pub fn parse_file(path: &Path, options: &Options<'_>) -> Result<Scenario, Diagnostic> {
    parse_file_with(path, options, &Tls::default())
}

/// [`parse_file`] with `--ca-cert`/`--insecure` from the command line:
/// a `ca_cert` given there replaces the file's (which is then not read),
/// `insecure` there turns verification off whatever the file says. The
/// command-line certificate itself is checked by the caller.
pub fn parse_file_with(
    path: &Path,
    options: &Options<'_>,
    cli_tls: &Tls,
) -> Result<Scenario, Diagnostic> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::whole_file(
            &file,
            format!("cannot read the scenario file: {e}"),
            Some("check the path; scenario files are YAML (scenarios/*.yaml)".into()),
        )
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    parse_text(&text, &file, &base, stem.as_deref(), options, cli_tls)
}

/// Checks scenario `text` (named `file` in messages; relative paths resolve
/// against `base`).
pub fn parse_str(
    text: &str,
    file: &str,
    base: &Path,
    stem: Option<&str>,
    options: &Options<'_>,
) -> Result<Scenario, Diagnostic> {
    parse_text(text, file, base, stem, options, &Tls::default())
}

fn parse_text(
    text: &str,
    file: &str,
    base: &Path,
    stem: Option<&str>,
    options: &Options<'_>,
    cli_tls: &Tls,
) -> Result<Scenario, Diagnostic> {
    let mut root = load_tree(text, file)?;
    let mut w = Walker::default();
    for setting in &options.sets {
        apply_set(&mut root, setting, &mut w);
    }
    let mut secret_span = None;
    let scenario = read_scenario(
        &root,
        &mut w,
        base,
        stem,
        options,
        cli_tls,
        &mut secret_span,
    );
    finish(w, text, file, secret_span).map(|()| scenario.expect("complete when no problems"))
}

/// Parses YAML text into a tree; syntax errors become a diagnostic.
pub fn load_tree(text: &str, file: &str) -> Result<Node, Diagnostic> {
    let root = yaml::parse(text).map_err(|e| syntax_diagnostic(&e, text, file))?;
    if root.value == Value::Null {
        return Err(Diagnostic::whole_file(
            file,
            "the file is empty",
            Some("a scenario starts with `target:`, `provider:`, `secret:` and `steps:`".into()),
        ));
    }
    Ok(root)
}

/// A YAML syntax error as a one-problem diagnostic.
pub fn syntax_diagnostic(err: &serde_saphyr::Error, text: &str, file: &str) -> Diagnostic {
    let inner = err.without_snippet();
    let message = inner.to_string();
    let message = message.lines().next().unwrap_or("invalid YAML").to_string();
    let located = inner
        .location()
        .or_else(|| err.location())
        .filter(|loc| loc.line() > 0)
        .map(|loc| (loc.line() as usize, loc.column() as usize))
        // Some parser errors only name the place in their text.
        .or_else(|| line_column_in(&message));
    let origin = match located {
        Some((line, column)) => Origin::File {
            line,
            column,
            offset: byte_offset(text, line, column),
            len: 0,
        },
        None => Origin::File {
            line: 1,
            column: 1,
            offset: 0,
            len: 0,
        },
    };
    Diagnostic {
        file: file.to_string(),
        source: text.to_string(),
        problems: vec![Problem {
            message: format!("invalid YAML: {message}"),
            hint: Some(
                "check the indentation, the `key: value` spacing and the quoting here".into(),
            ),
            origin,
        }],
    }
}

/// `(line, column)` from a message saying `... at line 6, column 21`.
fn line_column_in(message: &str) -> Option<(usize, usize)> {
    let rest = &message[message.rfind("line ")? + 5..];
    let (line, rest) = rest.split_once(", column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// The byte offset of a 1-based line and character column in `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let in_line = text[start.min(text.len())..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    (start + in_line).min(text.len())
}

/// Turns collected problems into the result: sorted by position, with an
/// inline secret blanked out of the source so snippets never print it.
pub fn finish(
    w: Walker,
    text: &str,
    file: &str,
    secret_span: Option<(usize, usize)>,
) -> Result<(), Diagnostic> {
    if w.problems.is_empty() {
        return Ok(());
    }
    let mut problems = w.problems;
    problems.sort_by_key(|p| match p.origin {
        Origin::Set(_) => (0, 0),
        Origin::File { line, column, .. } => (line, column),
    });
    let mut source = text.to_string();
    if let Some((offset, len)) = secret_span {
        source = redact(&source, offset, len);
    }
    Err(Diagnostic {
        file: file.to_string(),
        source,
        problems,
    })
}

/// `text` with bytes `offset..offset+len` replaced by `*` (same byte length,
/// so every other span stays valid).
fn redact(text: &str, offset: usize, len: usize) -> String {
    let end = (offset + len).min(text.len());
    if offset >= end || !text.is_char_boundary(offset) || !text.is_char_boundary(end) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..offset]);
    out.push_str(&"*".repeat(end - offset));
    out.push_str(&text[end..]);
    out
}

/// Applies one `--set path=value` override to the tree.
fn apply_set(root: &mut Node, setting: &str, w: &mut Walker) {
    let set_node = Node::from_set(Value::Null, setting);
    let Some((path, raw)) = setting.split_once('=') else {
        w.error(
            &set_node,
            "an override must be `key=value`",
            Some(
                "e.g. --set target=http://127.0.0.1:8080/hooks or --set steps.2.load.rate=50"
                    .into(),
            ),
        );
        return;
    };
    // The value is read as YAML so `seed=7` is a number, `rate=50` too and
    // `checks=[accepts_valid]` a list; its nodes point at the override.
    let value = match yaml::parse(raw) {
        Ok(mut node) => {
            reorigin(&mut node, setting);
            node.value
        }
        Err(_) => Value::Str(raw.to_string()),
    };
    let value = if raw.is_empty() {
        Value::Str(String::new())
    } else {
        value
    };
    let mut current = root;
    let segments: Vec<&str> = path.trim().split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let next = match &mut current.value {
            Value::Map(entries) => {
                let found = entries
                    .iter()
                    .position(|(k, _)| k.as_str() == Some(segment));
                match (found, last) {
                    (Some(at), _) => &mut entries[at].1,
                    (None, true) => {
                        entries.push((
                            Node::from_set(Value::Str(segment.to_string()), setting),
                            Node::from_set(Value::Null, setting),
                        ));
                        let at = entries.len() - 1;
                        &mut entries[at].1
                    }
                    (None, false) => {
                        let keys: Vec<&str> =
                            entries.iter().filter_map(|(k, _)| k.as_str()).collect();
                        let hint = did_you_mean(segment, keys.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"));
                        w.error(&set_node, format!("`{segment}` is not in the file"), hint);
                        return;
                    }
                }
            }
            Value::Seq(items) => {
                // Step numbers count from 1, as they are printed.
                match segment.parse::<usize>() {
                    Ok(n) if n >= 1 && n <= items.len() => &mut items[n - 1],
                    _ => {
                        w.error(
                            &set_node,
                            format!("`{segment}` is not an item number (1..={})", items.len()),
                            Some(
                                "list items are numbered from 1, e.g. steps.2.load.rate=50".into(),
                            ),
                        );
                        return;
                    }
                }
            }
            _ => {
                w.error(
                    &set_node,
                    format!("cannot set `{segment}` inside a plain value"),
                    None,
                );
                return;
            }
        };
        current = next;
    }
    *current = Node::from_set(value, setting);
}

/// Marks `node` and everything under it as coming from `--set setting`.
fn reorigin(node: &mut Node, setting: &str) {
    node.origin = Origin::Set(setting.to_string());
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| reorigin(n, setting)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            reorigin(k, setting);
            reorigin(v, setting);
        }),
        _ => {}
    }
}

/// `${NAME}` → `NAME`.
fn env_reference(text: &str) -> Option<&str> {
    let name = text.trim().strip_prefix("${")?.strip_suffix('}')?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then_some(name)
}

/// The scenario's provider plus its catalog lookups.
struct ProviderCtx {
    provider: ProviderRef,
}

impl ProviderCtx {
    fn check_type(&self, w: &mut Walker, name: &str, node: &Node) {
        match &self.provider {
            ProviderRef::Builtin(id) => {
                if let Err(e) = Catalog::builtin().get(id.name(), name) {
                    let hint = match e {
                        generators::Error::UnknownName {
                            suggestion: Some(s),
                            ..
                        } => {
                            format!("did you mean `{s}`? `hookstorm events list` prints every type")
                        }
                        _ => "`hookstorm events list` prints every type".to_string(),
                    };
                    w.error(
                        node,
                        format!("unknown event type `{name}` for provider {}", id.name()),
                        Some(hint),
                    );
                }
            }
            ProviderRef::Custom { provider, path } => {
                if !provider.types.iter().any(|t| t.name == name) {
                    let names = provider.types.iter().map(|t| t.name.as_str());
                    let hint = match did_you_mean(name, names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "the types declared in {} are: {}",
                            path.display(),
                            type_list(provider)
                        ),
                    };
                    w.error(
                        node,
                        format!("unknown event type `{name}` for provider {}", provider.name),
                        Some(hint),
                    );
                }
            }
        }
    }
}

fn type_list(provider: &crate::provider_file::CustomProvider) -> String {
    provider
        .types
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_scenario(
    root: &Node,
    w: &mut Walker,
    base: &Path,
    stem: Option<&str>,
    options: &Options<'_>,
    cli_tls: &Tls,
    secret_span: &mut Option<(usize, usize)>,
) -> Option<Scenario> {
    let top = w.map(root, "the scenario", TOP_KEYS)?;
    let name = top
        .get("name")
        .and_then(|n| w.string(n, "name", "signup-burst"))
        .or_else(|| stem.map(str::to_string))
        .unwrap_or_else(|| "scenario".into());
    let description = top
        .get("description")
        .and_then(|n| w.string(n, "description", "..."));

    let target = top
        .require(w, "target", "target: http://127.0.0.1:8080/hooks")
        .and_then(|n| {
            let url = w.string(n, "target", "http://127.0.0.1:8080/hooks")?;
            match Target::parse(&url) {
                Ok(_) => Some(url),
                Err(e) => {
                    w.error(
                        n,
                        format!("{e:#}"),
                        Some(
                            "write an http:// or https:// URL, e.g. http://127.0.0.1:8080/hooks"
                                .into(),
                        ),
                    );
                    None
                }
            }
        });

    let tls = read_tls(top.get("tls"), w, base, cli_tls);
    let provider = read_provider(&top, w, base);

    let secret_env = match top.get("secret") {
        None => {
            if (options.env)(DEFAULT_SECRET_ENV).is_none() {
                w.error(
                    root,
                    format!(
                        "no `secret:` given and the default variable {DEFAULT_SECRET_ENV} is not set"
                    ),
                    Some(format!(
                        "add `secret: ${{{DEFAULT_SECRET_ENV}}}` and `export {DEFAULT_SECRET_ENV}=...` before running"
                    )),
                );
            }
            Some(DEFAULT_SECRET_ENV.to_string())
        }
        Some(node) => read_secret(node, w, options, secret_span),
    };

    let ledger = top.get("ledger").and_then(|n| read_ledger(n, w));
    let ordering = top
        .get("ordering")
        .and_then(|n| w.choice(n, "ordering", ORDERING))
        .map(|s| match s {
            "strict" => OrderingPolicy::Strict,
            "last-write-wins" => OrderingPolicy::LastWriteWins,
            _ => OrderingPolicy::None,
        })
        .unwrap_or(OrderingPolicy::LastWriteWins);
    let deadline = top.get("deadline").and_then(|n| w.duration(n, "deadline"));
    let seed = top.get("seed").and_then(|n| w.count(n, "seed", "42"));
    let thresholds = top
        .get("thresholds")
        .map(|n| w.thresholds(n, "thresholds"))
        .unwrap_or_default();

    let ctx = provider.map(|provider| ProviderCtx { provider });
    let steps = match top.require(w, "steps", "steps: [{check: {}}]") {
        Some(node) => read_steps(node, w, ctx.as_ref()),
        None => Vec::new(),
    };
    Some(Scenario {
        name,
        description,
        target: target?,
        tls,
        provider: ctx?.provider,
        secret_env: secret_env?,
        ledger,
        ordering,
        deadline,
        seed,
        thresholds,
        steps,
    })
}

fn read_provider(top: &Fields<'_>, w: &mut Walker, base: &Path) -> Option<ProviderRef> {
    match (top.get("provider"), top.get("provider_file")) {
        (Some(_), Some(_)) => {
            w.error(
                top.key("provider_file").unwrap_or(top.node),
                "the scenario sets both `provider` and `provider_file`",
                Some("use `provider:` for a built-in provider or `provider_file:` for your own, not both".into()),
            );
            None
        }
        (None, None) => {
            w.error(
                top.node,
                "the scenario is missing `provider`",
                Some(format!(
                    "add `provider: authgear` (one of: {}) or `provider_file: my-provider.yaml`",
                    provider_names()
                )),
            );
            None
        }
        (Some(node), None) => {
            let name = w.string(node, "provider", "authgear")?;
            match ProviderId::parse(&name) {
                Ok(id) => Some(ProviderRef::Builtin(id)),
                Err(_) => {
                    let hint = match did_you_mean(&name, ProviderId::ALL.iter().map(|p| p.name())) {
                        Some(s) => format!(
                            "did you mean `{s}`? built-in providers: {}",
                            provider_names()
                        ),
                        None => format!(
                            "built-in providers: {}; declare another one with `provider_file:`",
                            provider_names()
                        ),
                    };
                    w.error(node, format!("unknown provider `{name}`"), Some(hint));
                    None
                }
            }
        }
        (None, Some(node)) => {
            let rel = w.string(node, "provider_file", "my-provider.yaml")?;
            let path = base.join(&rel);
            match crate::provider_file::load_provider_file(&path) {
                Ok(provider) => Some(ProviderRef::Custom {
                    path,
                    provider: Box::new(provider),
                }),
                Err(diag) => {
                    let first = diag.render_plain();
                    let first = first.lines().next().unwrap_or_default().to_string();
                    let n = diag.problems.len();
                    w.error(
                        node,
                        format!(
                            "provider file `{rel}` has {n} mistake{}: {first}",
                            if n == 1 { "" } else { "s" }
                        ),
                        Some(format!(
                            "`hookstorm validate {}` lists every mistake in it",
                            path.display()
                        )),
                    );
                    None
                }
            }
        }
    }
}

fn provider_names() -> String {
    ProviderId::ALL
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_secret(
    node: &Node,
    w: &mut Walker,
    options: &Options<'_>,
    secret_span: &mut Option<(usize, usize)>,
) -> Option<String> {
    let hint = Some(format!(
        "write `secret: ${{{DEFAULT_SECRET_ENV}}}` and `export {DEFAULT_SECRET_ENV}=...`: the secret is \
         read from the environment so it never lands in version control, logs or reports"
    ));
    let Some(text) = node.as_str() else {
        w.error(
            node,
            "`secret` must name an environment variable like ${HOOK_SECRET}",
            hint,
        );
        return None;
    };
    match env_reference(text) {
        Some(var) => {
            if (options.env)(var).is_none() {
                w.error(
                    node,
                    format!("environment variable {var} is not set (or empty)"),
                    Some(format!("export {var}=... before running: it holds the secret your receiver verifies with")),
                );
            }
            Some(var.to_string())
        }
        None => {
            if let Origin::File { offset, len, .. } = node.origin {
                *secret_span = Some((offset, len));
            }
            // Never echo the value: it is (or looks like) a real secret.
            w.error(
                node,
                "inline secret: `secret` must reference an environment variable",
                hint,
            );
            None
        }
    }
}

/// The file's `tls:` (if any) under the command line's `--ca-cert` and
/// `--insecure`. A `ca_cert` of the file is resolved against its
/// directory and must hold a PEM certificate, reported at its value.
fn read_tls(node: Option<&Node>, w: &mut Walker, base: &Path, cli: &Tls) -> Tls {
    let mut tls = Tls::default();
    if let Some(fields) = node.and_then(|n| w.map(n, "`tls`", TLS_KEYS)) {
        if let Some(n) = fields.get("ca_cert") {
            if let Some(rel) = w.string(n, "ca_cert", "certs/ca.pem") {
                let path = base.join(&rel);
                // Replaced by --ca-cert: the file's path may not exist here.
                if cli.ca_cert.is_none() {
                    if let Err(e) = crate::client::read_ca_certs(&path) {
                        w.error(
                            n,
                            format!("`ca_cert` file `{rel}` {e}"),
                            Some(format!(
                                "give the PEM certificate of the CA that signed the receiver's \
                                 certificate; a relative path is resolved against the scenario \
                                 file's directory (here: {}); `insecure: true` skips \
                                 verification instead",
                                path.display()
                            )),
                        );
                    }
                }
                tls.ca_cert = Some(path);
            }
        }
        if let Some(n) = fields.get("insecure") {
            tls.insecure = w.boolean(n, "insecure").unwrap_or(false);
        }
    }
    Tls {
        ca_cert: cli.ca_cert.clone().or(tls.ca_cert),
        insecure: cli.insecure || tls.insecure,
    }
}

fn read_ledger(node: &Node, w: &mut Walker) -> Option<Ledger> {
    if let Some(url) = node.as_str() {
        return Some(Ledger::Url(url.to_string()));
    }
    let fields = w.map(node, "`ledger`", LEDGER_KEYS)?;
    match w.at_most_one(&fields, LEDGER_KEYS) {
        0 => {
            w.error(
                node,
                "`ledger` needs `url` or `cmd`",
                Some("e.g. `ledger: {url: http://127.0.0.1:8080/ledger}` or `ledger: {cmd: ./print-ledger.sh}`".into()),
            );
            None
        }
        1 => {
            if let Some(n) = fields.get("url") {
                let url = w.string(n, "url", "http://127.0.0.1:8080/ledger")?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    w.error(n, format!("ledger url `{url}` is not an http(s) URL"), None);
                    return None;
                }
                Some(Ledger::Url(url))
            } else {
                let n = fields.get("cmd")?;
                w.string(n, "cmd", "./print-ledger.sh").map(Ledger::Cmd)
            }
        }
        _ => None,
    }
}

fn read_steps(node: &Node, w: &mut Walker, ctx: Option<&ProviderCtx>) -> Vec<Step> {
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

fn read_step(item: &Node, index: usize, w: &mut Walker, ctx: Option<&ProviderCtx>) -> Option<Step> {
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

fn read_check(body: &Node, w: &mut Walker, ctx: Option<&ProviderCtx>) -> Option<CheckStep> {
    // `check: {}` and a bare `check:` both mean "every check".
    if body.value == Value::Null {
        return Some(CheckStep::default());
    }
    let f = w.map(body, "a check step", CHECK_KEYS)?;
    let mut step = CheckStep::default();
    let mut ok = true;
    for key in ["checks", "exclude"] {
        if let Some(n) = f.get(key) {
            for (id, item) in w
                .strings(n, key, "accepts_valid, rejects_bad_signature")
                .unwrap_or_default()
            {
                if crate::check::info(&id).is_none() {
                    ok = false;
                    let ids = crate::check::CATALOG.iter().map(|c| c.id);
                    let hint = match did_you_mean(&id, ids) {
                        Some(s) => format!(
                            "did you mean `{s}`? `hookstorm check --list` prints every check"
                        ),
                        None => "`hookstorm check --list` prints every check id".into(),
                    };
                    w.error(&item, format!("unknown check `{id}`"), Some(hint));
                } else if key == "checks" {
                    step.checks.push(id);
                } else {
                    step.exclude.push(id);
                }
            }
        }
    }
    if let Some(n) = f.get("types") {
        for (ty, item) in w.strings(n, "types", "user.created").unwrap_or_default() {
            if let Some(ctx) = ctx {
                ctx.check_type(w, &ty, &item);
            }
            step.types.push(ty);
        }
    }
    step.concurrency = f
        .get("concurrency")
        .and_then(|n| w.at_least_one(n, "concurrency", "8"))
        .map(|n| n as usize);
    step.burst = f
        .get("burst")
        .and_then(|n| w.at_least_one(n, "burst", "200"))
        .map(|n| n as usize);
    ok.then_some(step)
}

fn read_mix(node: &Node, w: &mut Walker, ctx: Option<&ProviderCtx>) -> Vec<(String, f64)> {
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

fn read_load(body: &Node, w: &mut Walker, ctx: Option<&ProviderCtx>) -> Option<LoadStep> {
    let f = w.map(body, "a load step", LOAD_KEYS)?;
    let before = w.problems.len();
    let models = ["rate", "stages", "concurrency"];
    let arrival = match w.at_most_one(&f, &models) {
        0 => {
            w.error(
                body,
                "a load step needs an arrival model",
                Some("add `rate: 100` (open model), `stages: [{duration: 30s, rate: 200}]` (ramping) or `concurrency: 8` (closed model)".into()),
            );
            None
        }
        1 => {
            if let Some(n) = f.get("rate") {
                w.positive(n, "rate", "100").map(Arrival::Rate)
            } else if let Some(n) = f.get("stages") {
                read_stages(n, w).map(Arrival::Stages)
            } else {
                let n = f.get("concurrency")?;
                w.at_least_one(n, "concurrency", "8")
                    .map(|c| Arrival::Concurrency(c as usize))
            }
        }
        _ => None,
    };
    let duration = f.get("duration").and_then(|n| w.duration(n, "duration"));
    let requests = f
        .get("requests")
        .and_then(|n| w.at_least_one(n, "requests", "10000"));
    match &arrival {
        Some(Arrival::Stages(_)) => {
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
    let connections = f
        .get("connections")
        .and_then(|n| w.at_least_one(n, "connections", "64"))
        .map(|n| n as usize);
    let mix = f
        .get("mix")
        .map(|n| read_mix(n, w, ctx))
        .unwrap_or_default();
    let adversarial = f
        .get("adversarial")
        .and_then(|n| w.share(n, "adversarial"))
        .unwrap_or(0.0);
    let thresholds = f
        .get("thresholds")
        .map(|n| w.thresholds(n, "thresholds"))
        .unwrap_or_default();
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
            (Some(duration), Some(rate)) => stages.push(Stage { duration, rate }),
            _ => ok = false,
        }
    }
    if ok && stages.iter().all(|s| s.rate <= 0.0) {
        w.error(
            node,
            "every stage has rate 0: nothing would be sent",
            Some("give at least one stage a rate above 0".into()),
        );
        return None;
    }
    ok.then_some(stages)
}

fn read_capacity(body: &Node, w: &mut Walker, ctx: Option<&ProviderCtx>) -> Option<CapacityStep> {
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
    let connections = f
        .get("connections")
        .and_then(|n| w.at_least_one(n, "connections", "64"))
        .map(|n| n as usize);
    let mix = f
        .get("mix")
        .map(|n| read_mix(n, w, ctx))
        .unwrap_or_default();
    let thresholds = f
        .get("thresholds")
        .map(|n| w.thresholds(n, "thresholds"))
        .unwrap_or_default();
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

/// Where the file lives, for resolving relative paths in it.
pub fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOOK_SECRET").then(|| "s3cr3t-value".to_string())
    }

    fn parse(text: &str, sets: &[&str]) -> Result<Scenario, Diagnostic> {
        let options = Options {
            sets: sets.iter().map(|s| s.to_string()).collect(),
            env: &env,
        };
        parse_str(text, "t.yaml", Path::new("."), Some("t"), &options)
    }

    const GOOD: &str = "\
target: http://127.0.0.1:8080/hooks
provider: authgear
secret: ${HOOK_SECRET}
ledger: {url: http://127.0.0.1:8080/ledger}
ordering: strict
deadline: 2s
seed: 7
steps:
  - check:
      checks: [accepts_valid]
      types: [user.created]
  - name: ramp
    load:
      stages:
        - {duration: 2s, rate: 10}
        - {duration: 4s, rate: 40}
      mix: {user.pre_create: 3, user.created: 1}
      adversarial: 5%
      thresholds: [p99<5s, error_rate<1%]
  - wait: 1s
  - capacity:
      slo: [p99<250ms]
      max_rate: 400
";

    #[test]
    fn a_good_file_becomes_a_plan() {
        let s = parse(GOOD, &[]).unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.secret_env, "HOOK_SECRET");
        assert_eq!(s.ordering, OrderingPolicy::Strict);
        assert_eq!(s.seed, Some(7));
        assert_eq!(
            s.ledger,
            Some(Ledger::Url("http://127.0.0.1:8080/ledger".into()))
        );
        assert_eq!(s.steps.len(), 4);
        assert_eq!(s.steps[1].name, "ramp");
        assert_eq!(s.steps[1].line, 12);
        let StepKind::Load(load) = &s.steps[1].kind else {
            panic!("not a load step")
        };
        assert_eq!(load.adversarial, 0.05);
        assert_eq!(
            load.mix,
            vec![
                ("user.pre_create".to_string(), 3.0),
                ("user.created".to_string(), 1.0)
            ]
        );
        assert_eq!(load.thresholds.len(), 2);
        let StepKind::Capacity(cap) = &s.steps[3].kind else {
            panic!("not a capacity step")
        };
        assert_eq!(cap.max_rate, 400.0);
    }

    #[test]
    fn every_mistake_is_reported_with_its_position() {
        let text = GOOD
            .replace("deadline: 2s", "deadline: 2 sec")
            .replace("ordering: strict", "ordering: strikt")
            .replace("adversarial: 5%", "adversarail: 5%");
        let err = parse(&text, &[]).unwrap_err();
        let plain = err.render_plain();
        assert!(
            plain.contains("t.yaml:5:11: error: unknown ordering `strikt`"),
            "{plain}"
        );
        assert!(plain.contains("did you mean `strict`"), "{plain}");
        assert!(
            plain.contains("t.yaml:6:11: error: `deadline`: unknown unit"),
            "{plain}"
        );
        assert!(
            plain.contains("t.yaml:18:7: error: unknown key `adversarail` in a load step"),
            "{plain}"
        );
        assert!(plain.contains("did you mean `adversarial`"), "{plain}");
        assert_eq!(err.problems.len(), 3, "{plain}");
    }

    #[test]
    fn set_overrides_scalars_and_nested_values() {
        let s = parse(
            GOOD,
            &[
                "target=http://127.0.0.1:9/x",
                "seed=99",
                "steps.4.capacity.max_rate=800",
                "steps.1.check.checks=[no_loss, ordering]",
            ],
        )
        .unwrap();
        let StepKind::Check(check) = &s.steps[0].kind else {
            panic!()
        };
        assert_eq!(check.checks, ["no_loss", "ordering"]);
        assert_eq!(s.target, "http://127.0.0.1:9/x");
        assert_eq!(s.seed, Some(99));
        let StepKind::Capacity(cap) = &s.steps[3].kind else {
            panic!()
        };
        assert_eq!(cap.max_rate, 800.0);
        let err = parse(
            GOOD,
            &[
                "steps.9.load.rate=1",
                "seed",
                "steps.1.check.checks=[no_los]",
            ],
        )
        .unwrap_err();
        let plain = err.render_plain();
        assert!(
            plain.contains("--set steps.9.load.rate=1: error: `9` is not an item number"),
            "{plain}"
        );
        assert!(
            plain.contains("--set seed: error: an override must be `key=value`"),
            "{plain}"
        );
        assert!(
            plain.contains("--set steps.1.check.checks=[no_los]: error: unknown check `no_los`"),
            "{plain}"
        );
    }

    #[test]
    fn inline_secrets_are_refused_and_never_echoed() {
        let text = GOOD.replace("${HOOK_SECRET}", "hunter2-topsecret");
        let err = parse(&text, &[]).unwrap_err();
        let plain = err.render_plain();
        assert!(
            plain.contains("t.yaml:3:9: error: inline secret"),
            "{plain}"
        );
        let fancy = err.render_fancy(false);
        assert!(!fancy.contains("hunter2"), "{fancy}");
        assert!(!plain.contains("hunter2"), "{plain}");
        assert!(fancy.contains("*****"), "{fancy}");
    }

    #[test]
    fn tls_paths_resolve_against_the_file_and_the_command_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(dir.path().join("ca.pem"), cert.cert.pem()).unwrap();
        let options = Options {
            sets: Vec::new(),
            env: &env,
        };
        let with_tls = |tls: &str| {
            GOOD.replace(
                "provider: authgear\n",
                &format!("{tls}provider: authgear\n"),
            )
        };
        let read =
            |text: &str, cli: &Tls| parse_text(text, "t.yaml", dir.path(), None, &options, cli);

        let s = read(&with_tls("tls: {ca_cert: ca.pem}\n"), &Tls::default()).unwrap();
        assert_eq!(s.tls.ca_cert, Some(dir.path().join("ca.pem")));
        assert!(!s.tls.insecure);
        assert_eq!(parse(GOOD, &[]).unwrap().tls, Tls::default());

        // A missing file is reported at its value; --ca-cert replaces it
        // (and the file's path is then not read), --insecure adds to it.
        let missing = with_tls("tls:\n  ca_cert: nope.pem\n  insecure: false\n");
        let plain = read(&missing, &Tls::default()).unwrap_err().render_plain();
        assert!(
            plain.contains("t.yaml:3:12: error: `ca_cert` file `nope.pem` cannot be read"),
            "{plain}"
        );
        let cli = Tls {
            ca_cert: Some(PathBuf::from("elsewhere/ca.pem")),
            insecure: true,
        };
        let s = read(&missing, &cli).unwrap();
        assert_eq!(s.tls, cli);

        let err = read(
            &with_tls("tls: {insecure: yes please, ca_crt: x}\n"),
            &Tls::default(),
        )
        .unwrap_err();
        let plain = err.render_plain();
        assert!(
            plain.contains("`insecure` must be true or false"),
            "{plain}"
        );
        assert!(plain.contains("unknown key `ca_crt` in `tls`"), "{plain}");
        assert!(plain.contains("did you mean `ca_cert`?"), "{plain}");
    }

    #[test]
    fn scale_multiplies_step_durations_but_not_deadlines() {
        let mut s = parse(GOOD, &[]).unwrap();
        s.scale(0.5);
        assert_eq!(s.deadline, Some(std::time::Duration::from_secs(2)));
        let StepKind::Load(load) = &s.steps[1].kind else {
            panic!()
        };
        let Arrival::Stages(stages) = &load.arrival else {
            panic!()
        };
        assert_eq!(stages[1].duration, std::time::Duration::from_secs(2));
        let StepKind::Wait(d) = s.steps[2].kind else {
            panic!()
        };
        assert_eq!(d, std::time::Duration::from_millis(500));
    }
}
