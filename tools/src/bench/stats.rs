//! Turning raw samples into the figures of the results table.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::ScenarioResult;
use super::load::ViewerStats;

/// The value at quantile `q` of sorted microseconds, in milliseconds.
fn percentile(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)] as f64 / 1000.0)
}

/// Latency percentiles from per-request or per-frame microseconds.
pub(super) fn fill_latency(r: &mut ScenarioResult, all: &mut [u64]) {
    all.sort_unstable();
    r.latency_ms_p50 = percentile(all, 0.50);
    r.latency_ms_p99 = percentile(all, 0.99);
    r.latency_ms_max = all.last().map(|v| *v as f64 / 1000.0);
}

/// Viewer frame rates over `secs` of measuring, and their latencies.
pub(super) fn fill_viewers(r: &mut ScenarioResult, stats: &[Arc<ViewerStats>], secs: f64) {
    let fps: Vec<f64> = stats
        .iter()
        .map(|s| s.frames.load(Ordering::Relaxed) as f64 / secs)
        .collect();
    r.viewer_fps_min = fps.iter().copied().reduce(f64::min);
    r.viewer_fps_mean = (!fps.is_empty()).then(|| fps.iter().sum::<f64>() / fps.len() as f64);
    let mut all: Vec<u64> = stats
        .iter()
        .flat_map(|s| s.latencies_us.lock().clone())
        .collect();
    fill_latency(r, &mut all);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 0.5), Some(51.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
