//! Reconcile metrics exposed on `/metrics` (OpenMetrics text).

use std::time::Instant;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub reason: String,
}

/// Reconcile counters and durations.
pub struct Metrics {
    pub registry: Registry,
    pub runs: Counter,
    pub failures: Family<ErrorLabels, Counter>,
    pub duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("rocketmq_operator_reconcile");
        let runs = Counter::default();
        let failures = Family::<ErrorLabels, Counter>::default();
        let duration = Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0]);
        registry.register("runs", "reconciliations started", runs.clone());
        registry.register(
            "failures",
            "reconciliations failed, by reason",
            failures.clone(),
        );
        registry.register(
            "duration_seconds",
            "reconcile duration in seconds",
            duration.clone(),
        );
        Self {
            registry,
            runs,
            failures,
            duration,
        }
    }
}

impl Metrics {
    /// Counts a run and returns a guard that records the duration when dropped.
    pub fn count_and_measure(&self) -> Measure<'_> {
        self.runs.inc();
        Measure {
            metrics: self,
            start: Instant::now(),
        }
    }
    pub fn failure(&self, reason: &str) {
        self.failures
            .get_or_create(&ErrorLabels {
                reason: reason.into(),
            })
            .inc();
    }
    /// OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &self.registry).expect("encode metrics");
        s
    }
}

pub struct Measure<'a> {
    metrics: &'a Metrics,
    start: Instant,
}

impl Drop for Measure<'_> {
    fn drop(&mut self) {
        self.metrics
            .duration
            .observe(self.start.elapsed().as_secs_f64());
    }
}
