//! The schedule: every load flag becomes an [`Arrival`] (open constant
//! rate, ramping stages, or closed with N concurrent senders), which becomes
//! one [`Schedule`], a pure function from a request's index to its intended
//! send time. No threads and no clocks: the [pacer](crate::pacer) releases
//! requests at the times this computes.

use std::time::Duration;

/// One ramping stage: the rate moves linearly to `target` over `duration`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Arrival rate (requests/s) reached at the end of the stage.
    pub target: f64,
}

/// How requests arrive: the load model the user chose.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrival {
    /// Open model at a constant rate (requests/s), independent of answers.
    Open {
        /// Requests per second.
        rate: f64,
    },
    /// Open model whose rate ramps through stages, starting at `start`.
    Ramp {
        /// Rate at time 0.
        start: f64,
        /// The stages, in order.
        stages: Vec<Stage>,
    },
    /// Closed model: N senders, each sending its next request when the
    /// previous one is answered.
    Closed {
        /// Number of concurrent senders.
        concurrency: usize,
    },
}

impl Arrival {
    /// The arrival model of a run's `rate`, `stages` and `concurrency`
    /// settings, by the one rule the CLI (`--rate`, `--stage`,
    /// `--concurrency`) and scenario load steps (`rate`, `stages`,
    /// `concurrency`) share: `concurrency` is the closed model; `stages`
    /// ramp from `rate` when it is given and from 0 otherwise (k6's
    /// ramping-arrival-rate `startRate`); `rate` alone is the constant open
    /// model. `None` when no model is given. Conflicts (a rate or stages
    /// with a concurrency) are refused by the edge before this.
    pub fn of(
        rate: Option<f64>,
        stages: Vec<Stage>,
        concurrency: Option<usize>,
    ) -> Option<Arrival> {
        match (rate, stages.is_empty(), concurrency) {
            (_, _, Some(concurrency)) => Some(Arrival::Closed { concurrency }),
            (start, false, None) => Some(Arrival::Ramp {
                start: start.unwrap_or(0.0),
                stages,
            }),
            (Some(rate), true, None) => Some(Arrival::Open { rate }),
            (None, true, None) => None,
        }
    }
}

/// Why settings do not make a schedule (worded without flag names: the
/// CLI and a scenario name theirs).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    /// A rate that is not a positive finite number.
    #[error("rate must be a finite number >= 0, got {0}")]
    BadRate(f64),
    /// Nothing bounds the run.
    #[error("nothing bounds the run: give a duration or a request count (or stages) so it ends")]
    Unbounded,
    /// A closed model without senders.
    #[error("concurrency must be at least 1")]
    NoConcurrency,
    /// The open model never sends anything.
    #[error("the schedule sends no request (all rates are 0)")]
    Empty,
}

/// A piece of the arrival-rate curve where the rate changes linearly.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    /// Start time, seconds.
    t0: f64,
    /// Length, seconds.
    len: f64,
    /// Rate at the start and at the end.
    r0: f64,
    r1: f64,
    /// Arrivals before this segment (the integral of the rate up to `t0`).
    n0: f64,
}

impl Segment {
    /// Arrivals from `t0` to `t0 + tau` (the integral of the rate).
    fn count(&self, tau: f64) -> f64 {
        let a = if self.len > 0.0 {
            (self.r1 - self.r0) / (2.0 * self.len)
        } else {
            0.0
        };
        self.r0 * tau + a * tau * tau
    }

    /// The `tau` at which the integral reaches `c` (inverse of `count`).
    fn time_of(&self, c: f64) -> f64 {
        let a = if self.len > 0.0 {
            (self.r1 - self.r0) / (2.0 * self.len)
        } else {
            0.0
        };
        let b = self.r0;
        // Stable root of a·τ² + b·τ − c = 0 (no cancellation when a → 0).
        let disc = (b * b + 4.0 * a * c).max(0.0);
        let denom = b + disc.sqrt();
        if denom <= 0.0 {
            0.0
        } else {
            (2.0 * c / denom).min(self.len)
        }
    }
}

/// When each request is meant to be sent, and when the run ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Paced (open model) segments; empty for the closed model.
    segments: Vec<Segment>,
    /// Closed model: number of senders.
    concurrency: Option<usize>,
    /// When the run stops sending.
    end: Duration,
    /// How many requests the run sends at most.
    total: u64,
}

impl Schedule {
    /// Builds the schedule of `arrival`, bounded by `duration` and/or
    /// `requests`, scaled by `share` (a shard's fraction of the rate).
    pub fn new(
        arrival: &Arrival,
        duration: Option<Duration>,
        requests: Option<u64>,
        share: f64,
    ) -> Result<Schedule, ScheduleError> {
        let check = |r: f64| {
            if r.is_finite() && r >= 0.0 {
                Ok(r * share)
            } else {
                Err(ScheduleError::BadRate(r))
            }
        };
        let mut segments = Vec::new();
        let mut concurrency = None;
        match arrival {
            Arrival::Open { rate } => {
                let rate = check(*rate)?;
                let len = match (duration, requests) {
                    (Some(d), _) => d.as_secs_f64(),
                    // With only a count, the run lasts as long as the count takes.
                    (None, Some(n)) if rate > 0.0 => n as f64 / rate,
                    _ => return Err(ScheduleError::Unbounded),
                };
                segments.push(Segment {
                    t0: 0.0,
                    len,
                    r0: rate,
                    r1: rate,
                    n0: 0.0,
                });
            }
            Arrival::Ramp { start, stages } => {
                let mut r0 = check(*start)?;
                let (mut t0, mut n0) = (0.0, 0.0);
                for stage in stages {
                    let r1 = check(stage.target)?;
                    let seg = Segment {
                        t0,
                        len: stage.duration.as_secs_f64(),
                        r0,
                        r1,
                        n0,
                    };
                    n0 += seg.count(seg.len);
                    t0 += seg.len;
                    r0 = r1;
                    segments.push(seg);
                }
                if segments.is_empty() {
                    return Err(ScheduleError::Unbounded);
                }
            }
            Arrival::Closed { concurrency: n } => {
                if *n == 0 {
                    return Err(ScheduleError::NoConcurrency);
                }
                concurrency = Some(*n);
            }
        }
        let (end, total) = if segments.is_empty() {
            match (duration, requests) {
                (None, None) => return Err(ScheduleError::Unbounded),
                (d, n) => (d.unwrap_or(Duration::MAX), n.unwrap_or(u64::MAX)),
            }
        } else {
            let last = segments[segments.len() - 1];
            let mut end = last.t0 + last.len;
            if let Some(d) = duration {
                end = end.min(d.as_secs_f64());
            }
            let schedule = Schedule {
                segments: segments.clone(),
                concurrency: None,
                end: Duration::ZERO,
                total: u64::MAX,
            };
            // Arrivals strictly before the end: index i is sent at the time
            // the integral of the rate reaches i.
            let arrivals = schedule.integral(end).ceil() as u64;
            let total = requests.map_or(arrivals, |n| n.min(arrivals));
            (Duration::from_secs_f64(end), total)
        };
        if total == 0 {
            return Err(ScheduleError::Empty);
        }
        Ok(Schedule {
            segments,
            concurrency,
            end,
            total,
        })
    }

    /// Closed model: the number of senders; `None` for the open model.
    pub fn concurrency(&self) -> Option<usize> {
        self.concurrency
    }

    /// When the run stops sending (from its start).
    pub fn end(&self) -> Duration {
        self.end
    }

    /// How many requests the run sends at most (`u64::MAX`: unbounded count).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The mean rate the schedule asks for, requests/s (`None`: closed model).
    pub fn target_rate(&self) -> Option<f64> {
        if self.segments.is_empty() || self.end.is_zero() {
            return None;
        }
        Some(self.total as f64 / self.end.as_secs_f64())
    }

    fn integral(&self, t: f64) -> f64 {
        let i = self
            .segments
            .partition_point(|s| s.t0 <= t)
            .saturating_sub(1);
        match self.segments.get(i) {
            Some(s) => s.n0 + s.count((t - s.t0).clamp(0.0, s.len)),
            None => 0.0,
        }
    }

    /// How many requests are due by `elapsed` (capped at the total).
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        if self.segments.is_empty() {
            return self.total;
        }
        let t = elapsed.min(self.end).as_secs_f64();
        // Index i is due when the integral reaches i, so i = 0 is due at once.
        // The epsilon absorbs rounding so a request is due at its own time.
        let due = (self.integral(t) + 1e-7).floor() as u64 + 1;
        due.min(self.total)
    }

    /// The intended send time of request `index`, from the run's start
    /// (zero for the closed model, whose requests have no schedule).
    pub fn intended(&self, index: u64) -> Duration {
        if self.segments.is_empty() {
            return Duration::ZERO;
        }
        let c = index as f64;
        // The last segment whose first arrival is at or before `c`; zero-rate
        // segments add no arrivals and are skipped by the partition.
        let i = self
            .segments
            .partition_point(|s| s.n0 <= c)
            .saturating_sub(1);
        let mut seg = self.segments[i];
        // Several segments may start at the same count (zero rates); take
        // the first that still has arrivals left.
        let mut j = i;
        while seg.n0 + seg.count(seg.len) < c && j + 1 < self.segments.len() {
            j += 1;
            seg = self.segments[j];
        }
        // Rounded up to the nanosecond so the request is due at its own time.
        let secs = (seg.t0 + seg.time_of(c - seg.n0)).max(0.0);
        Duration::from_nanos((secs * 1e9).ceil() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_ramp_from_the_rate_given_else_from_zero() {
        let stages = vec![Stage {
            duration: Duration::from_secs(1),
            target: 100.0,
        }];
        assert_eq!(
            Arrival::of(Some(50.0), stages.clone(), None),
            Some(Arrival::Ramp {
                start: 50.0,
                stages: stages.clone()
            })
        );
        assert_eq!(
            Arrival::of(None, stages.clone(), None),
            Some(Arrival::Ramp {
                start: 0.0,
                stages: stages.clone()
            })
        );
        assert_eq!(
            Arrival::of(Some(5.0), Vec::new(), None),
            Some(Arrival::Open { rate: 5.0 })
        );
        assert_eq!(
            Arrival::of(None, stages, Some(3)),
            Some(Arrival::Closed { concurrency: 3 })
        );
        assert_eq!(Arrival::of(None, Vec::new(), None), None);
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn constant_rate_spacing_and_count() {
        let s = Schedule::new(&Arrival::Open { rate: 10.0 }, Some(secs(2.0)), None, 1.0).unwrap();
        assert_eq!(s.total(), 20);
        assert_eq!(s.intended(0), Duration::ZERO);
        assert!((s.intended(5).as_secs_f64() - 0.5).abs() < 1e-9);
        assert_eq!(s.due_by(Duration::ZERO), 1);
        assert_eq!(s.due_by(secs(0.55)), 6);
        assert_eq!(s.due_by(secs(10.0)), 20);
        assert_eq!(s.target_rate(), Some(10.0));
    }

    #[test]
    fn requests_cap_and_count_only_runs() {
        let s = Schedule::new(
            &Arrival::Open { rate: 100.0 },
            Some(secs(10.0)),
            Some(50),
            1.0,
        )
        .unwrap();
        assert_eq!(s.total(), 50);
        let s = Schedule::new(&Arrival::Open { rate: 100.0 }, None, Some(50), 1.0).unwrap();
        assert_eq!(s.total(), 50);
        assert_eq!(s.end(), secs(0.5));
        assert_eq!(
            Schedule::new(&Arrival::Open { rate: 1.0 }, None, None, 1.0),
            Err(ScheduleError::Unbounded)
        );
        assert!(matches!(
            Schedule::new(
                &Arrival::Open { rate: f64::NAN },
                Some(secs(1.0)),
                None,
                1.0
            ),
            Err(ScheduleError::BadRate(_))
        ));
    }

    #[test]
    fn ramp_integrates_the_rate() {
        // 0 → 100/s over 2 s (100 requests), then 100/s for 1 s (100 more),
        // then a pause, then 50/s for 1 s.
        let arrival = Arrival::Ramp {
            start: 0.0,
            stages: vec![
                Stage {
                    duration: secs(2.0),
                    target: 100.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 100.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 0.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 0.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 100.0,
                },
            ],
        };
        let s = Schedule::new(&arrival, None, None, 1.0).unwrap();
        assert_eq!(s.end(), secs(6.0));
        assert_eq!(s.total(), 100 + 100 + 50 + 50);
        // In the ramp, count(t) = 25 t², so request 25 is at 1 s.
        assert!((s.intended(25).as_secs_f64() - 1.0).abs() < 1e-9);
        assert!((s.intended(150).as_secs_f64() - 2.5).abs() < 1e-9);
        // Nothing is scheduled in the pause at 0/s (3.7 s .. 5 s).
        let t = s.intended(249).as_secs_f64();
        assert!((3.8..4.0).contains(&t), "{t}");
        let t = s.intended(250).as_secs_f64();
        assert!((5.0..5.2).contains(&t), "{t}");
        // Intended times never go backwards.
        let mut last = Duration::ZERO;
        for i in 0..s.total() {
            let t = s.intended(i);
            assert!(t >= last, "{i}: {t:?} < {last:?}");
            assert!(s.due_by(t) > i, "{i} not due at its own time");
            last = t;
        }
    }

    #[test]
    fn shard_share_scales_the_rate() {
        let s = Schedule::new(
            &Arrival::Open { rate: 300.0 },
            Some(secs(1.0)),
            None,
            1.0 / 3.0,
        )
        .unwrap();
        assert_eq!(s.total(), 100);
    }

    #[test]
    fn closed_model_has_no_pacing() {
        let s = Schedule::new(&Arrival::Closed { concurrency: 4 }, None, Some(10), 1.0).unwrap();
        assert_eq!(s.concurrency(), Some(4));
        assert_eq!(s.total(), 10);
        assert_eq!(s.due_by(Duration::ZERO), 10);
        assert_eq!(s.intended(7), Duration::ZERO);
        assert_eq!(
            Schedule::new(&Arrival::Closed { concurrency: 0 }, None, Some(1), 1.0),
            Err(ScheduleError::NoConcurrency)
        );
    }
}
