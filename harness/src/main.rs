//! `hookstorm`: load-testing and conformance harness for webhook receivers.
use std::process::ExitCode;

fn main() -> ExitCode {
    harness::cli::main()
}
