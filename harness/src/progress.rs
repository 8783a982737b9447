//! The live progress line of a load run: elapsed time, current rate, p99
//! latency and failures, redrawn four times a second on a terminal.
//!
//! On anything that is not a terminal, with `CI=true`, or with `--quiet`,
//! nothing is drawn: CI logs get only the final summary.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reports::histogram::format_us;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::measure::Measurements;

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(250);

/// Whether a live display is wanted: not quiet, stderr is a terminal, and
/// not under CI.
pub fn wanted(quiet: bool) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    !quiet && !ci && std::io::stderr().is_terminal()
}

/// A running progress display; [`Progress::finish`] clears it.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    task: JoinHandle<()>,
}

impl Progress {
    /// Starts drawing `live` for a run expected to last `length` (a bar
    /// when known, a spinner otherwise).
    pub fn start(live: Arc<Measurements>, length: Option<Duration>) -> Progress {
        let bar = match length {
            Some(d) if d < Duration::from_secs(86_400) => {
                let bar = ProgressBar::with_draw_target(
                    Some(d.as_millis() as u64),
                    ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar
            }
            _ => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            }
        };
        let drawn = bar.clone();
        let task = tokio::spawn(async move {
            let start = Instant::now();
            let mut last = (start, 0u64);
            let mut ticker = tokio::time::interval(TICK);
            loop {
                ticker.tick().await;
                let now = Instant::now();
                let done = live.completed();
                let secs = now.duration_since(last.0).as_secs_f64();
                let rate = if secs > 0.0 {
                    (done - last.1) as f64 / secs
                } else {
                    0.0
                };
                last = (now, done);
                drawn.set_position(now.duration_since(start).as_millis() as u64);
                drawn.set_message(line(rate, done, live.p99_us(), live.failed(), live.late()));
            }
        });
        Progress { bar, task }
    }

    /// Stops and clears the display.
    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

/// The text of the progress line.
fn line(rate: f64, done: u64, p99_us: u64, failed: u64, late: u64) -> String {
    let mut text = format!(
        "{rate:>8.0} req/s  {done} sent  p99 {}  {failed} failed",
        format_us(p99_us)
    );
    if late > 0 {
        text.push_str(&format!("  {late} late"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_rate_latency_and_failures() {
        let text = line(1234.4, 5000, 2_500, 3, 0);
        assert!(text.contains("1234 req/s"), "{text}");
        assert!(text.contains("5000 sent"), "{text}");
        assert!(text.contains("3 failed"), "{text}");
        assert!(!text.contains("late"), "{text}");
        assert!(line(1.0, 1, 1, 0, 7).contains("7 late"));
    }

    #[test]
    fn quiet_means_no_display() {
        assert!(!wanted(true));
    }
}
