//! Line charts drawn with `plotters`: panels side by side, each with a title, labelled axes
//! (linear or logarithmic), readable ticks and a legend. Text is drawn with DejaVu Sans,
//! embedded in the binary (`assets/fonts`, Bitstream Vera licence), so no system fonts are
//! needed. The picture is drawn into an RGB buffer and written as PNG by `image`.

use crate::error::ModelError;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a known-good file compiled in: registering it cannot fail at run time.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A colour for the `i`-th series (a colour-blind-safe cycle).
pub fn palette(i: usize) -> RGBColor {
    const C: [RGBColor; 6] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(230, 159, 0),
    ];
    C[i % C.len()]
}

/// One line of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points `(x, y)`; on a logarithmic axis points at or below 0 are left out.
    pub points: Vec<(f64, f64)>,
    /// Line colour.
    pub color: RGBColor,
    /// Draw a dot at every point as well as the line.
    pub markers: bool,
}

impl Series {
    /// A line of colour [`palette`]`(i)`.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, i: usize) -> Self {
        Series {
            name: name.into(),
            points,
            color: palette(i),
            markers: false,
        }
    }
    /// With a dot at every point.
    pub fn with_markers(mut self) -> Self {
        self.markers = true;
        self
    }
}

/// One chart.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// Title above the plot.
    pub title: String,
    /// x-axis label, with its unit.
    pub x_label: String,
    /// y-axis label, with its unit.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// The lines.
    pub series: Vec<Series>,
}

fn chart_err(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Chart {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The range of `v` (finite values, positive ones on a log axis), padded by 5% (linear) or
/// a factor (log); `None` when there is nothing to draw.
fn range(v: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in v.filter(|x| x.is_finite() && (!log || *x > 0.0)) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if lo > hi {
        return None;
    }
    if log {
        let pad = (hi / lo).powf(0.05).max(1.05);
        Some((lo / pad, hi * pad))
    } else {
        let pad = ((hi - lo) * 0.05).max(hi.abs().max(1e-9) * 1e-3);
        Some((lo - pad, hi + pad))
    }
}

/// Writes `panels` side by side into a PNG at `path`, each `w` x `h` pixels.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for a panel with no drawable point or a drawing
/// failure; an I/O error writing the file.
pub fn write_png(path: &Path, panels: &[Panel], w: u32, h: u32) -> Result<(), ModelError> {
    register_font();
    let width = w * panels.len().max(1) as u32;
    let mut buf = vec![255u8; (width * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(path, e))?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (panel, area) in panels.iter().zip(&areas) {
            let drawn = || {
                panel
                    .series
                    .iter()
                    .flat_map(|s| s.points.iter().filter(|p| keep(panel, p)))
            };
            let xs = drawn().map(|p| p.0);
            let ys = drawn().map(|p| p.1);
            let none = || {
                chart_err(
                    path,
                    format!("panel '{}' has no point to draw", panel.title),
                )
            };
            let (x0, x1) = range(xs, panel.log_x).ok_or_else(none)?;
            let (y0, y1) = range(ys, panel.log_y).ok_or_else(none)?;
            match (panel.log_x, panel.log_y) {
                (false, false) => draw(area, panel, x0..x1, y0..y1),
                (true, false) => draw(area, panel, (x0..x1).log_scale(), y0..y1),
                (false, true) => draw(area, panel, x0..x1, (y0..y1).log_scale()),
                (true, true) => draw(area, panel, (x0..x1).log_scale(), (y0..y1).log_scale()),
            }
            .map_err(|e| chart_err(path, e))?;
        }
        root.present().map_err(|e| chart_err(path, e))?;
    }
    let img = image::RgbImage::from_raw(width, h, buf)
        .ok_or_else(|| chart_err(path, "the picture buffer has the wrong size"))?;
    let mut png = std::io::Cursor::new(vec![]);
    img.write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| chart_err(path, e))?;
    lobes_ppl::io::write_atomic(path, png.get_ref())?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Whether a point can be drawn on `panel`'s axes (finite, positive on a log axis).
fn keep(panel: &Panel, p: &(f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite() && (!panel.log_x || p.0 > 0.0) && (!panel.log_y || p.1 > 0.0)
}

/// A tick label: whole numbers without decimals, others with up to three significant digits.
fn tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) {
        format!("{v:.0}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.digits$}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn draw<X, Y>(area: &Area, panel: &Panel, x: X, y: Y) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .x_labels(8)
        .y_labels(8)
        .max_light_lines(1)
        .light_line_style(RGBColor(242, 242, 242))
        .draw()
        .map_err(|e| e.to_string())?;
    for s in &panel.series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| keep(panel, p))
            .copied()
            .collect();
        let color = s.color;
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(&s.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        if s.markers {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        let t: Vec<String> = [1.0, 10.0, 150.0, 1.25, 0.05, 1.0684]
            .iter()
            .map(tick)
            .collect();
        assert_eq!(t, ["1", "10", "150", "1.25", "0.05", "1.07"]);
    }

    #[test]
    fn a_two_panel_chart_with_log_axes_is_written_and_empty_panels_are_errors() {
        let dir = std::env::temp_dir().join(format!("lobes-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.png");
        let curve: Vec<(f64, f64)> = (0..50)
            .map(|e| (e as f64, 150.0 + 6000.0 / (1.0 + e as f64)))
            .collect();
        let panels = [
            Panel {
                title: "Test loss".into(),
                x_label: "epoch".into(),
                y_label: "-ELBO per image (nats)".into(),
                log_x: true,
                log_y: true,
                series: vec![
                    Series::new("ours", curve.clone(), 0),
                    Series::new("paper", curve, 1),
                ],
            },
            Panel {
                title: "RAMIS".into(),
                x_label: "epoch".into(),
                y_label: "RAMIS".into(),
                series: vec![Series::new("ours", vec![(0.0, 1.0), (5.0, 1.07)], 0).with_markers()],
                ..Default::default()
            },
        ];
        write_png(&p, &panels, 500, 360).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (1000, 360));
        // Something besides white was drawn in each panel (axes, text, lines).
        for half in [0..500u32, 500..1000] {
            let ink = half
                .flat_map(|x| (0..360).map(move |y| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y).0 != [255, 255, 255])
                .count();
            assert!(ink > 2000, "{ink}");
        }
        let empty = Panel {
            title: "nothing".into(),
            log_y: true,
            series: vec![Series::new("zeros", vec![(1.0, 0.0)], 0)],
            ..Default::default()
        };
        let e = write_png(&dir.join("e.png"), &[empty], 300, 200)
            .unwrap_err()
            .to_string();
        assert!(e.contains("e.png") && e.contains("'nothing'"), "{e}");
        assert!(!dir.join("e.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
