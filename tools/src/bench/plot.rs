//! `bench plot`: draws the RSS-over-time curve of soak results as a PNG, so
//! a memory trend can be seen (and committed next to the figures) instead
//! of being read off a column of numbers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};
use plotters::prelude::*;
use serde::Deserialize;

use super::hub_process::RssPoint;
use super::soak::SLOPE_FROM_S;
use super::stats::rss_fit;

#[derive(Debug, Clone, clap::Args)]
pub struct PlotArgs {
    /// Results written by `bench --json`; every result with an RSS series (soak) is drawn.
    #[arg(long, default_value = "bench-results.json")]
    pub json: PathBuf,
    /// The PNG to write.
    #[arg(long, default_value = "soak-rss.png")]
    pub out: PathBuf,
    /// The plot's caption, to say what was measured (e.g. the arm64 hub under qemu).
    #[arg(long, default_value = DEFAULT_TITLE)]
    pub title: String,
}

const DEFAULT_TITLE: &str = "Cradle Hub: hub RSS under steady load";

/// One line of the plot.
#[derive(Debug, Clone)]
pub struct Curve {
    pub label: String,
    pub points: Vec<RssPoint>,
}

/// The part of a scenario result the plot reads; anything else in the file
/// is ignored, so older and newer result files both work.
#[derive(Debug, Deserialize)]
struct SavedResult {
    scenario: String,
    #[serde(default)]
    cradles: usize,
    #[serde(default)]
    viewers: usize,
    #[serde(default)]
    rss_series: Vec<RssPoint>,
}

#[derive(Debug, Deserialize)]
struct SavedReport {
    results: Vec<SavedResult>,
}

pub fn run(args: &PlotArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.json)
        .with_context(|| format!("reading {}", args.json.display()))?;
    let report: SavedReport = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bench result file", args.json.display()))?;
    let curves: Vec<Curve> = report
        .results
        .into_iter()
        .filter(|r| !r.rss_series.is_empty())
        .map(|r| Curve {
            label: format!(
                "{} ({} cradles, {} viewers)",
                r.scenario, r.cradles, r.viewers
            ),
            points: r.rss_series,
        })
        .collect();
    if curves.is_empty() {
        bail!(
            "{} has no RSS series: run `bench --scenario soak` (with the hub's pid known) first",
            args.json.display()
        );
    }
    plot_rss(&curves, &args.title, &args.out)?;
    println!("plot written to {}", args.out.display());
    Ok(())
}

/// plotters' ab_glyph text needs the font registered once per process.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded font could not be loaded"))
    }
}

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 560;

/// Draws the curves (and, where there is one, the least-squares line after
/// the first minute with its slope) into a PNG at `out`.
pub fn plot_rss(curves: &[Curve], title: &str, out: &Path) -> Result<()> {
    register_font()?;
    let all = curves.iter().flat_map(|c| c.points.iter());
    let t_end = all.clone().map(|p| p.t_s).fold(0.0, f64::max);
    let (lo, hi) = all.fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
        (lo.min(p.rss_mb), hi.max(p.rss_mb))
    });
    if !lo.is_finite() {
        bail!("nothing to plot");
    }
    // Minutes read better on a long soak; seconds on a short check.
    let (unit, per) = if t_end > 300.0 {
        ("minutes", 60.0)
    } else {
        ("seconds", 1.0)
    };
    let x_end = (t_end / per).max(1.0 / per) * 1.02;
    let pad = ((hi - lo) * 0.15).max(5.0);
    let y = (lo - pad).max(0.0)..hi + pad;

    let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..x_end, y.clone())?;
        chart
            .configure_mesh()
            .x_desc(format!("{unit} since the load started"))
            .y_desc("RSS (MB)")
            .x_label_formatter(&|x| trim_number(*x))
            .y_label_formatter(&|y| trim_number(*y))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        if t_end > SLOPE_FROM_S {
            let x = SLOPE_FROM_S / per;
            chart.draw_series(LineSeries::new(
                [(x, y.start), (x, y.end)],
                RGBColor(170, 170, 170).stroke_width(1),
            ))?;
        }
        for (i, c) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let pts: Vec<(f64, f64)> = c.points.iter().map(|p| (p.t_s / per, p.rss_mb)).collect();
            let fit = rss_fit(&c.points, SLOPE_FROM_S);
            let label = match fit {
                Some((per_s, _)) => format!("{}: {:+.2} MB/min after 1 min", c.label, per_s * 60.0),
                None => c.label.clone(),
            };
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            // Markers show where the samples are, until there are too many to tell apart.
            if pts.len() <= 60 {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
            if let Some((per_s, at0)) = fit {
                let line = [SLOPE_FROM_S, t_end].map(|t| (t / per, at0 + per_s * t));
                chart.draw_series(DashedLineSeries::new(line, 8, 5, BLACK.stroke_width(2)))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    image::save_buffer_with_format(
        out,
        &pixels,
        WIDTH,
        HEIGHT,
        image::ExtendedColorType::Rgb8,
        image::ImageFormat::Png,
    )
    .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// Axis labels without a needless `.0`: `5`, `2.5`.
fn trim_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(n: u32) -> Curve {
        Curve {
            label: "soak (2 cradles, 3 viewers)".into(),
            points: (0..n)
                .map(|i| RssPoint {
                    t_s: f64::from(i) * 10.0,
                    rss_mb: 40.0 + f64::from(i % 3),
                })
                .collect(),
        }
    }

    #[test]
    fn writes_a_png_of_a_small_series() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rss.png");
        plot_rss(&[curve(12)], DEFAULT_TITLE, &out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
            .unwrap()
            .to_rgb8();
        assert_eq!(img.dimensions(), (WIDTH, HEIGHT));
        // Something besides the white background was drawn: axes, text, the line.
        let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(inked > 5_000, "only {inked} non-white pixels");
    }

    #[test]
    fn plots_from_a_results_file_and_refuses_one_without_series() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("results.json");
        let out = dir.path().join("plot.png");
        let report = serde_json::json!({
            "date": "2026-11-29T00:00:00.000Z",
            "results": [
                {"scenario": "4x8", "cradles": 4, "viewers": 8, "notes": []},
                {"scenario": "soak", "cradles": 2, "viewers": 3,
                 "rss_series": [{"t_s": 0.0, "rss_mb": 30.0}, {"t_s": 5.0, "rss_mb": 31.5}]}
            ]
        });
        std::fs::write(&json, report.to_string()).unwrap();
        let args = PlotArgs {
            json: json.clone(),
            out: out.clone(),
            title: "arm64 hub under qemu-aarch64".into(),
        };
        run(&args).unwrap();
        assert!(std::fs::read(&out).unwrap().starts_with(b"\x89PNG"));

        std::fs::write(&json, r#"{"results": [{"scenario": "burst"}]}"#).unwrap();
        assert!(run(&args).is_err());
    }
}
