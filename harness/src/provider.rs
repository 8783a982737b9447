//! The provider a run uses, from a built-in name or a provider file: the
//! one place the harness turns either into a [`generators::Provider`], so
//! a provider file's catalog is built once per run and then shared.
//!
//! Built-in providers are of two kinds that look the same to everything
//! else: the five whose profiles and schemas are code (`generators`), and
//! the senders shipped as provider files ([`SENDER_FILES`], the YAML in
//! `providers/` embedded in the binary), which a user can print with
//! `hookstorm events provider NAME`, copy and edit.

use std::path::Path;

use generators::{did_you_mean, Provider, ProviderId};

use crate::verdict::usage;

/// The senders shipped as provider files: name and the file's text, in
/// display order (after the five built into the code).
pub const SENDER_FILES: &[(&str, &str)] = &[
    ("svix", include_str!("../../providers/svix.yaml")),
    ("stripe", include_str!("../../providers/stripe.yaml")),
    ("github", include_str!("../../providers/github.yaml")),
    ("shopify", include_str!("../../providers/shopify.yaml")),
    ("slack", include_str!("../../providers/slack.yaml")),
    ("pagerduty", include_str!("../../providers/pagerduty.yaml")),
    ("paddle", include_str!("../../providers/paddle.yaml")),
    ("discord", include_str!("../../providers/discord.yaml")),
    (
        "auth0-log-streams",
        include_str!("../../providers/auth0-log-streams.yaml"),
    ),
    ("zoom", include_str!("../../providers/zoom.yaml")),
    ("okta", include_str!("../../providers/okta.yaml")),
];

/// Every built-in provider's name, in display order.
pub fn names() -> Vec<&'static str> {
    ProviderId::ALL
        .iter()
        .map(|p| p.name())
        .chain(SENDER_FILES.iter().map(|(name, _)| *name))
        .collect()
}

/// The flag help of `--provider`: what it picks and every built-in name,
/// from the registry (so a new sender file is named there at once).
pub fn flag_help(what: &str) -> String {
    format!("{what} (one of: {})", names().join(", "))
}

/// Every built-in provider, in display order.
pub fn all() -> Vec<Provider> {
    names()
        .into_iter()
        .map(|name| lookup(name).expect("every built-in name resolves"))
        .collect()
}

/// The provider file a built-in sender ships as, if `name` is one.
pub fn sender_file(name: &str) -> Option<&'static str> {
    SENDER_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The built-in provider `name`, or `None` when there is none by that
/// name.
///
/// # Panics
/// When an embedded sender file does not read: a build defect, which the
/// unit tests below catch.
pub fn lookup(name: &str) -> Option<Provider> {
    if let Ok(id) = ProviderId::parse(name) {
        return Some(Provider::builtin(id));
    }
    let text = sender_file(name)?;
    let file = format!("{name}.yaml (built in)");
    match crate::provider_file::parse_builtin(text, &file) {
        Ok(provider) => Some(provider),
        Err(diag) => panic!("the built-in provider file {file} does not read:\n{diag}"),
    }
}

/// The message for a name that is not a built-in provider, with a "did
/// you mean" when one is close.
pub fn unknown(name: &str) -> String {
    let names = names();
    match did_you_mean(name, names.iter().copied()) {
        Some(s) => format!("unknown provider `{name}`: did you mean `{s}`?"),
        None => format!(
            "unknown provider `{name}` (built-in providers: {}; declare another one in a provider file)",
            names.join(", ")
        ),
    }
}

/// The built-in provider `name`; an unknown name is a usage error with a
/// "did you mean".
pub fn named(name: &str) -> anyhow::Result<Provider> {
    lookup(name).ok_or_else(|| usage(unknown(name)))
}

/// The provider declared in the YAML or TOML file at `path`; every mistake
/// in it is a usage error with its line and column.
pub fn from_file(path: &Path) -> anyhow::Result<Provider> {
    crate::provider_file::read(path).map_err(|d| usage(d.to_string()))
}

/// `--provider NAME` or `--provider-file FILE`: the file when given,
/// otherwise the name; neither is a usage error.
pub fn resolve(name: Option<&str>, file: Option<&Path>) -> anyhow::Result<Provider> {
    match (name, file) {
        (_, Some(path)) => from_file(path),
        (Some(name), None) => named(name),
        (None, None) => Err(usage(
            "choose a provider: --provider NAME or --provider-file FILE",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_reads_under_its_own_name_with_types() {
        let names = names();
        let mut seen = std::collections::HashSet::new();
        for provider in all() {
            assert!(
                seen.insert(provider.name().to_string()),
                "{} twice",
                provider.name()
            );
            assert!(
                !provider.types().is_empty(),
                "{} has no types",
                provider.name()
            );
        }
        assert_eq!(seen.len(), names.len());
        for (name, _) in SENDER_FILES {
            assert_eq!(
                named(name).unwrap().name(),
                *name,
                "file name and `name:` agree"
            );
        }
    }

    /// Every command's `--provider` help names every built-in provider.
    #[test]
    fn provider_help_names_the_whole_registry() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        let paths: [&[&str]; 6] = [
            &["check"],
            &["load"],
            &["capacity"],
            &["replay"],
            &["receiver"],
            &["events", "list"],
        ];
        for path in paths {
            let cmd = path.iter().fold(&cli, |cmd, sub| {
                cmd.find_subcommand(sub).expect("a subcommand")
            });
            let help = cmd.clone().render_long_help().to_string();
            for name in names() {
                assert!(
                    help.contains(name),
                    "`{path:?} --help` does not name {name}:\n{help}"
                );
            }
        }
    }

    #[test]
    fn unknown_names_suggest_senders_too() {
        let err = named("strpe").unwrap_err().to_string();
        assert!(err.contains("did you mean `stripe`"), "{err}");
        let err = named("nothing-like-it").unwrap_err().to_string();
        assert!(err.contains("svix") && err.contains("authgear"), "{err}");
    }

    /// Paddle documents `h1` only (`other_versions: never-sent`), so its
    /// rotation case carries two `h1` and nothing else; Stripe's also
    /// carries an entry of an unknown version, which receivers must skip.
    #[test]
    fn rotation_cases_carry_other_versions_only_where_senders_send_them() {
        for (name, extra, present) in [("paddle", "h9=", false), ("stripe", "v9=", true)] {
            let provider = named(name).unwrap();
            let scheme = provider.scheme();
            let secret = generators::Secret::new("whsec_test_secret".into());
            let signer = generators::Signer::new(scheme, &secret).unwrap();
            let case = generators::signature_cases(scheme)
                .into_iter()
                .find(|c| c.label == "multiple-one-valid")
                .unwrap();
            let d = generators::apply_case(&case, &signer, &secret, b"{}", "msg_1", 1_700_000_000);
            let value = &d
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(scheme.signature_header()))
                .unwrap()
                .1;
            assert_eq!(value.contains(extra), present, "{name}: {value}");
            let valid = value
                .matches(if name == "paddle" { "h1=" } else { "v1=" })
                .count();
            assert_eq!(valid, 2, "{name}: a wrong and a valid signature: {value}");
        }
    }
}
