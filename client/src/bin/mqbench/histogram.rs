//! A log-linear latency histogram in microseconds (about 0.2 % precision), cheap to record
//! into and to merge.

/// Values below this are kept exactly.
const LINEAR: u64 = 1024;
/// Sub-buckets per power of two above `LINEAR`.
const SUB: u64 = 512;

/// Latency counts.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; (LINEAR + 40 * SUB) as usize],
            total: 0,
            max: 0,
            sum: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros() as u64;
    let shift = msb - 9;
    (LINEAR + (shift - 1) * SUB + ((v >> shift) - SUB)) as usize
}

fn upper_value(idx: usize) -> u64 {
    let idx = idx as u64;
    if idx < LINEAR {
        return idx;
    }
    let shift = (idx - LINEAR) / SUB + 1;
    let mantissa = (idx - LINEAR) % SUB + SUB;
    ((mantissa + 1) << shift) - 1
}

impl Histogram {
    /// Records one value (µs).
    pub fn record(&mut self, us: u64) {
        let i = index(us).min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.total += 1;
        self.max = self.max.max(us);
        self.sum += us as u128;
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Largest value.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Mean value.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value below which a fraction `q` of the values lie (upper bucket bound).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let target = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return upper_value(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        let close = |got: u64, want: u64| (got as f64 - want as f64).abs() / want as f64 <= 0.005;
        assert!(close(h.quantile(0.5), 50_000), "{}", h.quantile(0.5));
        assert!(close(h.quantile(0.99), 99_000), "{}", h.quantile(0.99));
        assert!(close(h.quantile(0.999), 99_900), "{}", h.quantile(0.999));
        assert_eq!(h.max(), 100_000);
        assert_eq!(h.count(), 100_000);
        assert!((h.mean() - 50_000.5).abs() < 1e-6);
    }

    #[test]
    fn small_values_are_exact_and_merge_adds() {
        let mut a = Histogram::default();
        a.record(3);
        let mut b = Histogram::default();
        b.record(7);
        b.record(7);
        a.merge(&b);
        assert_eq!(a.quantile(0.34), 7);
        assert_eq!(a.quantile(0.1), 3);
        assert_eq!(a.count(), 3);
        for v in [1023, 1024, 1025, 5_000_000] {
            assert!(upper_value(index(v)) >= v);
        }
    }
}
