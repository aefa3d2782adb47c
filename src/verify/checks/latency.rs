//! Receive latency (`ts_recv − ts_event`) as a log-linear histogram of signed nanoseconds:
//! exact count, min and max, percentiles to within about 3 %, fixed memory, no allocation
//! per value. Negative values are clock skew (the venue's clock ahead of ours), kept, never
//! "corrected" (docs/VENUES.md §0).

use serde::Serialize;

/// Sub-buckets per power of two: 2⁵ = 32, so a bucket is at most 1/32 of its value wide.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = 64 * SUB;

#[derive(Debug, Clone)]
pub struct Histogram {
    /// Buckets of |v| for v < 0 and for v ≥ 0.
    neg: Vec<u64>,
    pos: Vec<u64>,
    count: u64,
    min: i64,
    max: i64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            neg: vec![0; BUCKETS],
            pos: vec![0; BUCKETS],
            count: 0,
            min: i64::MAX,
            max: i64::MIN,
        }
    }
}

fn index(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    let sub = (v >> (e - SUB_BITS)) as usize & (SUB - 1);
    (e - SUB_BITS + 1) as usize * SUB + sub
}

/// The middle of a bucket.
fn middle(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let e = (i / SUB) as u32 + SUB_BITS - 1;
    let sub = (i % SUB) as u64;
    let width = 1u64 << (e - SUB_BITS);
    ((SUB as u64 + sub) << (e - SUB_BITS)) + width / 2
}

/// Percentiles and extremes of a histogram, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LatencyStats {
    pub count: u64,
    pub p50_ns: i64,
    pub p99_ns: i64,
    pub min_ns: i64,
    pub max_ns: i64,
    /// Values below zero: ts_recv before ts_event (clock skew).
    pub negative: u64,
}

impl Histogram {
    #[inline]
    pub fn record(&mut self, v: i64) {
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v < 0 {
            self.neg[index(v.unsigned_abs())] += 1;
        } else {
            self.pos[index(v as u64)] += 1;
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The value at quantile `q` (0 < q ≤ 1), clamped to the exact min and max.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        let negatives = self.neg.iter().enumerate().rev().map(|(i, n)| (-(middle(i) as i64), *n));
        let positives = self.pos.iter().enumerate().map(|(i, n)| (middle(i) as i64, *n));
        for (value, n) in negatives.chain(positives) {
            seen += n;
            if seen >= rank {
                return Some(value.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    pub fn stats(&self) -> Option<LatencyStats> {
        Some(LatencyStats {
            count: self.count,
            p50_ns: self.quantile(0.5)?,
            p99_ns: self.quantile(0.99)?,
            min_ns: self.min,
            max_ns: self.max,
            negative: self.neg.iter().sum(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_three_percent() {
        // (values, quantile, expected)
        let uniform: Vec<i64> = (1..=10_000).map(|v| v * 1_000).collect();
        let cases: &[(&[i64], f64, i64)] = &[
            (&uniform, 0.5, 5_000_000),
            (&uniform, 0.99, 9_900_000),
            (&[-1_300_000_000; 10], 0.5, -1_300_000_000),
            (&[-5, -3, 7, 9, 11], 0.5, 7),
            (&[42], 0.99, 42),
        ];
        for (values, q, want) in cases {
            let mut h = Histogram::default();
            values.iter().for_each(|v| h.record(*v));
            let got = h.quantile(*q).unwrap();
            let err = (got - want).abs() as f64 / (*want as f64).abs().max(1.0);
            assert!(err <= 0.03, "q{q} of {} values: got {got}, want {want}", values.len());
        }
    }

    #[test]
    fn extremes_and_skew_are_exact() {
        let mut h = Histogram::default();
        for v in [-1_300_000_000, 2_000_000, 3_000_001] {
            h.record(v);
        }
        let s = h.stats().unwrap();
        assert_eq!((s.min_ns, s.max_ns, s.negative, s.count), (-1_300_000_000, 3_000_001, 1, 3));
        assert!(Histogram::default().stats().is_none());
    }

    #[test]
    fn buckets_cover_the_whole_range_in_order() {
        let mut last = 0;
        for v in [0u64, 1, 31, 32, 33, 63, 64, 1 << 40, u64::MAX] {
            let i = index(v);
            assert!(i >= last && i < BUCKETS, "{v}");
            last = i;
        }
    }
}
