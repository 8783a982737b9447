//! Files of this repository the tests read (never anything outside it, so a
//! clone anywhere passes).

use std::path::{Path, PathBuf};

/// The repository's root directory (the workspace).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The 48 built-in `provider type` pairs as the providers document them
/// (sources in `generators/tests/fixtures/README.md`).
pub fn event_types_txt() -> PathBuf {
    root().join("generators/tests/fixtures/event-types.txt")
}
