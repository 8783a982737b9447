//! The top level of a scenario file: the positioned YAML tree (with
//! `--set` overrides applied) checked and turned into a [`Scenario`]; its
//! steps are read by [`super::steps`].
//!
//! Every mistake is collected, never just the first: unknown keys (with
//! "did you mean"), wrong types, bad durations, unknown providers, event
//! types and check ids, missing environment variables, invalid thresholds,
//! impossible rates. The caller gets all of them in one [`Diagnostic`]
//! before a single request is sent.

use std::path::{Path, PathBuf};

use generators::{did_you_mean, Provider};

use super::steps::{read_steps, StepProvider};
use super::{Scenario, Tls};
use crate::document::{
    apply_set, base_dir, env_reference, finish, load_yaml, Diagnostic, Fields, Node, Origin, Walker,
};
use crate::ledger::{LedgerSource, OrderingPolicy};
use crate::secret::DEFAULT_SECRET_ENV;
use crate::target::Target;

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
    "strict",
    "seed",
    "thresholds",
    "steps",
];
/// Keys of `tls`.
pub const TLS_KEYS: &[&str] = &["ca_cert", "insecure"];
/// Keys of `ledger`.
pub const LEDGER_KEYS: &[&str] = &["url", "cmd"];
/// The example a ledger URL's hint gives.
const LEDGER_EXAMPLE: &str = "http://127.0.0.1:8080/ledger";
/// Ordering policies, as written in files.
pub const ORDERING: &[&str] = &["strict", "last-write-wins", "none", "arrival"];

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
    let base = base_dir(path);
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
    let mut root = load_yaml(
        text,
        file,
        "a scenario starts with `target:`, `provider:`, `secret:` and `steps:`",
    )?;
    let mut w = Walker::default();
    for setting in &options.sets {
        apply_set(&mut root, setting, &mut w);
    }
    let mut secret_spans = Vec::new();
    let scenario = read_scenario(
        &root,
        &mut w,
        base,
        stem,
        options,
        cli_tls,
        &mut secret_spans,
    );
    finish(w, text, file, &secret_spans).map(|()| scenario.expect("complete when no problems"))
}

fn read_scenario(
    root: &Node,
    w: &mut Walker,
    base: &Path,
    stem: Option<&str>,
    options: &Options<'_>,
    cli_tls: &Tls,
    secret_spans: &mut Vec<(usize, usize)>,
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
        .and_then(|n| read_url(n, w, "target", "target URL", "http://127.0.0.1:8080/hooks"));

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
        Some(node) => read_secret(node, w, options, secret_spans),
    };

    let ledger = top
        .get("ledger")
        .and_then(|n| read_ledger(n, w, secret_spans));
    let ordering = top
        .get("ordering")
        .and_then(|n| w.choice(n, "ordering", ORDERING))
        .map(|s| match s {
            "strict" => OrderingPolicy::Strict,
            "last-write-wins" => OrderingPolicy::LastWriteWins,
            "arrival" => OrderingPolicy::Arrival,
            _ => OrderingPolicy::None,
        })
        .unwrap_or(OrderingPolicy::LastWriteWins);
    let deadline = top.get("deadline").and_then(|n| w.duration(n, "deadline"));
    let strict = top
        .get("strict")
        .and_then(|n| w.boolean(n, "strict"))
        .unwrap_or(false);
    let seed = top.get("seed").and_then(|n| w.count(n, "seed", "42"));
    let thresholds = top
        .get("thresholds")
        .map(|n| w.thresholds(n, "thresholds"))
        .unwrap_or_default();

    let step_provider = provider
        .as_ref()
        .map(|(provider, _)| StepProvider { provider });
    let steps = match top.require(w, "steps", "steps: [{check: {}}]") {
        Some(node) => read_steps(node, w, step_provider.as_ref()),
        None => Vec::new(),
    };
    Some(Scenario {
        name,
        description,
        target: target?,
        tls,
        provider: provider?.0,
        secret_env: secret_env?,
        ledger,
        ordering,
        deadline,
        strict,
        seed,
        thresholds,
        steps,
    })
}

/// The scenario's provider, resolved once: a built-in one by name, or the
/// one a provider file declares (returned with the file's path).
fn read_provider(
    top: &Fields<'_>,
    w: &mut Walker,
    base: &Path,
) -> Option<(Provider, Option<PathBuf>)> {
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
            match crate::provider::lookup(&name) {
                Some(provider) => Some((provider, None)),
                None => {
                    let hint = match did_you_mean(&name, crate::provider::names()) {
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
            match crate::provider_file::read(&path) {
                Ok(provider) => Some((provider, Some(path))),
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
    crate::provider::names().join(", ")
}

fn read_secret(
    node: &Node,
    w: &mut Walker,
    options: &Options<'_>,
    secret_spans: &mut Vec<(usize, usize)>,
) -> Option<String> {
    let hint = Some(format!(
        "write `secret: ${{{DEFAULT_SECRET_ENV}}}` and `export {DEFAULT_SECRET_ENV}=...`: the secret is \
         read from the environment so it never lands in version control, logs or reports"
    ));
    let Some(text) = node.as_str() else {
        w.error(
            node,
            format!("`secret` must name an environment variable like ${{{DEFAULT_SECRET_ENV}}}"),
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
                secret_spans.push((offset, len));
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
                    if let Err(e) = crate::tls::read_ca_certs(&path) {
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

/// A URL value (`target`, the ledger's `url`), parsed here once; a bad one
/// is a problem at its position: `{what} `URL`: what is wrong`, the URL's
/// credentials redacted.
fn read_url(node: &Node, w: &mut Walker, key: &str, what: &str, example: &str) -> Option<Target> {
    let url = w.string(node, key, example)?;
    match url.parse::<Target>() {
        Ok(target) => Some(target),
        Err(e) => {
            w.error(
                node,
                format!("{what} `{}`: {}", e.shown, e.problem),
                Some(format!("write an http:// or https:// URL, e.g. {example}")),
            );
            None
        }
    }
}

/// The file's `ledger:`; a command's text goes into `secret_spans` (it
/// often holds a database password, so snippets do not print it).
fn read_ledger(
    node: &Node,
    w: &mut Walker,
    secret_spans: &mut Vec<(usize, usize)>,
) -> Option<LedgerSource> {
    if node.as_str().is_some() {
        return read_url(node, w, "ledger", "ledger url", LEDGER_EXAMPLE).map(LedgerSource::Url);
    }
    let fields = w.map(node, "`ledger`", LEDGER_KEYS)?;
    if let Some(Origin::File { offset, len, .. }) = fields.get("cmd").map(|n| &n.origin) {
        secret_spans.push((*offset, *len));
    }
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
                read_url(n, w, "url", "ledger url", LEDGER_EXAMPLE).map(LedgerSource::Url)
            } else {
                let n = fields.get("cmd")?;
                w.string(n, "cmd", "./print-ledger.sh")
                    .map(LedgerSource::Cmd)
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckId;
    use crate::scenario::StepKind;
    use crate::schedule::Arrival;

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
    fn strict_is_off_unless_the_file_says_so() {
        assert!(!parse(GOOD, &[]).unwrap().strict);
        assert!(
            parse(&GOOD.replace("seed: 7", "seed: 7\nstrict: true"), &[])
                .unwrap()
                .strict
        );
        assert!(parse(&GOOD.replace("seed: 7", "seed: 7\nstrict: sometimes"), &[]).is_err());
    }

    #[test]
    fn a_good_file_becomes_a_plan() {
        let s = parse(GOOD, &[]).unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.secret_env, "HOOK_SECRET");
        assert_eq!(s.ordering, OrderingPolicy::Strict);
        assert_eq!(s.seed, Some(7));
        assert_eq!(
            s.ledger,
            Some(LedgerSource::Url(
                Target::parse("http://127.0.0.1:8080/ledger").unwrap()
            ))
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

    /// Check ids are parsed when the file is read and never again: not by
    /// `preflight` (which `run` and `validate` call) and not when the step's
    /// plan is built, since the step holds `CheckId`s.
    #[test]
    fn check_ids_are_parsed_once() {
        let before = crate::check::parses::count();
        let s = parse(
            GOOD,
            &[
                "steps.1.check.checks=[no_loss, ordering]",
                "steps.1.check.exclude=[ordering]",
            ],
        )
        .unwrap();
        assert_eq!(
            crate::check::parses::count() - before,
            3,
            "three ids, three parses"
        );
        crate::scenario::run::preflight(&s, crate::shard::Shard::WHOLE).unwrap();
        assert_eq!(
            crate::check::parses::count() - before,
            3,
            "preflight parses none"
        );
        let StepKind::Check(check) = &s.steps[0].kind else {
            panic!("the first step checks")
        };
        assert_eq!(
            crate::check::select(&check.checks, &check.exclude),
            Some(vec![CheckId::NoLoss])
        );
        let err = parse(
            GOOD,
            &[
                "steps.1.check.checks=[no_loss]",
                "steps.1.check.exclude=[no_loss]",
            ],
        )
        .unwrap_err()
        .render_plain();
        assert!(err.contains("no check is left to run"), "{err}");
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
        assert_eq!(check.checks, [CheckId::NoLoss, CheckId::Ordering]);
        assert_eq!(s.target.url(), "http://127.0.0.1:9/x");
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
    fn snippets_never_show_url_passwords_or_ledger_commands() {
        let text = GOOD
            .replace(
                "http://127.0.0.1:8080/hooks",
                "http://u:hunter2@127.0.0.1:8080/hooks",
            )
            .replace(
                "ledger: {url: http://127.0.0.1:8080/ledger}",
                "ledger: {url: ftp://u:hunter3@h/l, cmd: PGPASSWORD=hunter4 psql}",
            )
            .replace("provider: authgear", "provider: authgeer");
        let err = parse(&text, &["ledger.url=ftp://u:hunter5@h/l"]).unwrap_err();
        for shown in [err.render_plain(), err.render_fancy(false)] {
            assert!(shown.contains("`ledger` sets both"), "{shown}");
            assert!(shown.contains("authgeer"), "{shown}");
            assert!(!shown.contains("hunter"), "{shown}");
        }
        // The snippets still show the lines, blanked.
        let fancy = err.render_fancy(false);
        assert!(fancy.contains("http://*********@127.0.0.1"), "{fancy}");
        assert!(fancy.contains("cmd: ***********************}"), "{fancy}");
        let err = parse(
            &GOOD.replace("ledger: {url: http:", "ledger: {url: ftp:"),
            &[],
        )
        .unwrap_err()
        .render_plain();
        assert!(
            err.contains("ledger url `ftp://127.0.0.1:8080/ledger`"),
            "{err}"
        );
        let err = parse(
            &GOOD.replace("ledger: {url: http:", "ledger: {url: ftp:"),
            &["ledger.url=ftp://u:hunter6@h/l"],
        )
        .unwrap_err()
        .render_plain();
        assert!(err.contains("ledger url `ftp://<redacted>@h/l`"), "{err}");
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
        let Arrival::Ramp { stages, .. } = &load.arrival else {
            panic!()
        };
        assert_eq!(stages[1].duration, std::time::Duration::from_secs(2));
        let StepKind::Wait(d) = s.steps[2].kind else {
            panic!()
        };
        assert_eq!(d, std::time::Duration::from_millis(500));
    }
}
