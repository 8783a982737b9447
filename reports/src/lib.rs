//! Latency histograms, the versioned `report.json` model, and the renderers
//! (JUnit, Markdown, HTML, hgrm), plus exact merge and regression diff.
#![deny(missing_docs)]

pub mod record;

pub use record::{ErrorKind, Outcome, Recorder, Sample};
