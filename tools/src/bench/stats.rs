//! Turning raw samples into the figures of the results table.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::ScenarioResult;
use super::hub_process::RssPoint;
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

/// Least-squares line through the RSS points at or after `from_s` seconds:
/// `(MB per second, MB at t = 0)`. `None` with fewer than two such points or
/// no spread in time.
pub fn rss_fit(points: &[RssPoint], from_s: f64) -> Option<(f64, f64)> {
    let used: Vec<&RssPoint> = points.iter().filter(|p| p.t_s >= from_s).collect();
    if used.len() < 2 {
        return None;
    }
    let n = used.len() as f64;
    let mean_t = used.iter().map(|p| p.t_s).sum::<f64>() / n;
    let mean_m = used.iter().map(|p| p.rss_mb).sum::<f64>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for p in &used {
        cov += (p.t_s - mean_t) * (p.rss_mb - mean_m);
        var += (p.t_s - mean_t) * (p.t_s - mean_t);
    }
    if var <= f64::EPSILON {
        return None;
    }
    let slope = cov / var;
    Some((slope, mean_m - slope * mean_t))
}

/// Slope of RSS over time in MB per minute, counting only the points at or
/// after `from_s`: memory that grows while caches and buffers fill in the
/// first minute is expected; growth after it under a steady load is a leak.
pub fn rss_slope_mb_per_min(points: &[RssPoint], from_s: f64) -> Option<f64> {
    rss_fit(points, from_s).map(|(per_s, _)| per_s * 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(f: impl Fn(f64) -> f64, from: u32, to: u32, every: u32) -> Vec<RssPoint> {
        (from..=to)
            .step_by(every as usize)
            .map(|t| RssPoint {
                t_s: f64::from(t),
                rss_mb: f(f64::from(t)),
            })
            .collect()
    }

    #[test]
    fn slope_of_a_straight_line() {
        // 2 MB per minute on top of 50 MB.
        let s = series(|t| 50.0 + t / 30.0, 0, 600, 10);
        let slope = rss_slope_mb_per_min(&s, 60.0).unwrap();
        assert!((slope - 2.0).abs() < 1e-9, "{slope}");
        let (_, intercept) = rss_fit(&s, 60.0).unwrap();
        assert!((intercept - 50.0).abs() < 1e-9, "{intercept}");
    }

    #[test]
    fn slope_ignores_the_first_minute() {
        // Steep warm-up to 100 MB in the first minute, flat afterwards.
        let s = series(|t| if t < 60.0 { 40.0 + t } else { 100.0 }, 0, 300, 10);
        let slope = rss_slope_mb_per_min(&s, 60.0).unwrap();
        assert!(slope.abs() < 1e-9, "{slope}");
        // Counting the warm-up would report growth (about 6.8 MB/min here).
        assert!(rss_slope_mb_per_min(&s, 0.0).unwrap() > 5.0);
    }

    #[test]
    fn slope_through_noise() {
        // Alternating ±3 MB around a 0.5 MB/min trend: the fit finds the trend.
        let s: Vec<RssPoint> = (0..=180)
            .map(|i| {
                let t = f64::from(i) * 10.0;
                let noise = if i % 2 == 0 { 3.0 } else { -3.0 };
                RssPoint {
                    t_s: t,
                    rss_mb: 80.0 + t / 120.0 + noise,
                }
            })
            .collect();
        let slope = rss_slope_mb_per_min(&s, 60.0).unwrap();
        assert!((slope - 0.5).abs() < 0.05, "{slope}");
    }

    #[test]
    fn too_few_points_give_no_slope() {
        assert_eq!(rss_slope_mb_per_min(&[], 60.0), None);
        let short = series(|t| t, 0, 50, 5);
        assert_eq!(rss_slope_mb_per_min(&short, 60.0), None);
        let one = series(|t| t, 0, 60, 10);
        assert_eq!(rss_slope_mb_per_min(&one, 60.0), None);
        let same_time = [
            RssPoint {
                t_s: 70.0,
                rss_mb: 1.0,
            },
            RssPoint {
                t_s: 70.0,
                rss_mb: 2.0,
            },
        ];
        assert_eq!(rss_slope_mb_per_min(&same_time, 60.0), None);
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 0.5), Some(51.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
