//! Where the shared secret comes from: an environment variable, never a
//! flag value or a file field, so it stays out of shell history, process
//! lists and reviewed scenario files.

use generators::Secret;

use crate::verdict::usage;

/// The variable holding the shared secret when none is named: a scenario
/// without `secret:`, and every command's `--secret-env` default.
pub const DEFAULT_SECRET_ENV: &str = "HOOK_SECRET";

/// Reads the shared secret from `var`; an unset or empty variable is a
/// usage error that says how to set it.
pub fn from_env(var: &str) -> anyhow::Result<Secret> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => Err(usage(format!(
            "environment variable {var} is not set: export the secret your receiver verifies with \
             (e.g. `export {var}=...`), or name another variable with --secret-env"
        ))),
    }
}
