//! Documents people write by hand (scenario files, provider files): YAML or
//! TOML read into a tree where every node keeps its position, walked into
//! typed values while *every* mistake is collected as a [`Diagnostic`]
//! (file, line, column, hint), with `--set` overrides and `${ENV}`
//! references.
//!
//! Typed deserialization stops at the first mistake and loses positions
//! inside untagged enums; walking this tree instead reports each mistake
//! at its exact place. Nothing here knows what a document is for: the
//! readers of scenarios and provider files build on it.

pub mod diagnostic;
pub mod read;
pub mod set;
pub mod tree;
pub mod walk;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Problem};
pub use read::{load_toml, load_yaml, parse_toml, parse_yaml, TomlError};
pub use set::apply_set;
pub use tree::{Node, Origin, Value};
pub use walk::{finish, Fields, Walker};

/// `${NAME}` → `NAME` (a reference to an environment variable).
pub fn env_reference(text: &str) -> Option<&str> {
    let name = text.trim().strip_prefix("${")?.strip_suffix('}')?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then_some(name)
}

/// Where the file lives, for resolving relative paths in it.
pub fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_name_a_variable() {
        assert_eq!(env_reference("${HOOK_SECRET}"), Some("HOOK_SECRET"));
        assert_eq!(env_reference(" ${A_1} "), Some("A_1"));
        assert_eq!(env_reference("${1A}"), None);
        assert_eq!(env_reference("${}"), None);
        assert_eq!(env_reference("hunter2"), None);
    }

    #[test]
    fn base_dir_is_the_parent() {
        assert_eq!(base_dir(Path::new("a/b.yaml")), PathBuf::from("a"));
        assert_eq!(base_dir(Path::new("b.yaml")), PathBuf::new());
    }
}
