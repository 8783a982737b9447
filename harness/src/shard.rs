//! Which part of a distributed run this process is: a [`Shard`] (`K/N`),
//! parsed from `--shard`, and how a run's rates, senders and counts split
//! over the parts so they add up to the whole.
//!
//! A distribution concept, not the emitter's: the commands, the scenario
//! runner, the load plan and the emitter's id spaces all read it.

/// Which of N parts of a distributed run this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This part, counted from 0 (`0..count`).
    pub index: u32,
    /// Number of parts (at least 1).
    pub count: u32,
}

impl Shard {
    /// The whole run in one part.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/N`, K counted from 1 (`1/4` .. `4/4`), as reports show
    /// "shard 1 of 4" (a Kubernetes Indexed Job passes
    /// `$((JOB_COMPLETION_INDEX + 1))/N`).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("invalid shard `{text}`: write K/N with 1 <= K <= N, e.g. 1/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || k == 0 || k > count {
            return Err(bad());
        }
        Ok(Shard {
            index: k - 1,
            count,
        })
    }

    /// `(k, n)` with k counted from 1, as `RunInfo::shard` stores it.
    pub fn one_based(self) -> (u32, u32) {
        (self.index + 1, self.count)
    }

    /// This part's share of the rate (`1/N`).
    pub fn share(self) -> f64 {
        1.0 / f64::from(self.count)
    }

    /// This part's share of `n` whole things (requests, senders): its fair
    /// part, the remainder going to the first parts, so that the parts add
    /// up to `n` exactly.
    pub fn split(self, n: u64) -> u64 {
        let count = u64::from(self.count);
        n / count + u64::from(u64::from(self.index) < n % count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_and_rejects() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 1, count: 3 }));
        assert_eq!(Shard::parse("3/3").map(Shard::one_based), Ok((3, 3)));
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("a/2").is_err());
        assert!(Shard::parse("2").is_err());
    }

    #[test]
    fn split_adds_up() {
        for n in [0u64, 1, 7, 100, 1001] {
            let total: u64 = (0..3).map(|k| Shard { index: k, count: 3 }.split(n)).sum();
            assert_eq!(total, n);
        }
    }
}
