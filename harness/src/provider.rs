//! The provider a run uses, from a built-in name or a provider file: the
//! one place the harness turns either into a [`generators::Provider`], so
//! a provider file's catalog is built once per run and then shared.

use std::path::Path;

use generators::Provider;

use crate::verdict::usage;

/// The built-in provider `name`; an unknown name is a usage error with a
/// "did you mean".
pub fn named(name: &str) -> anyhow::Result<Provider> {
    Provider::named(name).map_err(|e| usage(e.to_string()))
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
