//! Drawing one [`Panel`] onto a drawing area: the axes' ranges, the ticks, the series (lines,
//! markers, bars, error bars) and the legend.

use super::{Area, Legend, Marker, Panel, Series, Style};
use plotters::backend::DrawingBackend;
use plotters::coord::ranged1d::{
    AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged, ValueFormatter,
};
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::DrawingErrorKind;

/// Whether a point can be drawn on `panel`'s axes (finite, positive on a log axis).
fn keep(panel: &Panel, p: &(f64, f64)) -> bool {
    p.0.is_finite()
        && p.1.is_finite()
        && (!log_x(panel) || p.0 > 0.0)
        && (!panel.log_y || p.1 > 0.0)
}

fn log_x(panel: &Panel) -> bool {
    panel.log_x && panel.categories.is_empty()
}

/// The range of `v` (finite values, positive ones on a log axis), padded by 5% (linear) or
/// a factor (log); `None` when there is nothing to draw.
pub(super) fn range(v: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
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

/// A tick label: whole numbers without decimals, others with up to three significant digits.
pub(super) fn tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) {
        format!("{v:.0}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
        let s = format!("{v:.digits$}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Ticks for a logarithmic axis over `[lo, hi]`: the sparsest of 1, 1-3, 1-2-5, 1-2-3-5-7 and
/// 1..9 per decade that gives at least four, or evenly spaced round values when the range is
/// too narrow for that (under about half a decade).
pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let sets: [&[f64]; 5] = [
        &[1.0],
        &[1.0, 3.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 2.0, 3.0, 5.0, 7.0],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ];
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    for set in sets {
        let t: Vec<f64> = (d0..=d1)
            .flat_map(|d| set.iter().map(move |m| m * 10f64.powi(d)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect();
        if t.len() >= 4 {
            return t;
        }
    }
    linear_ticks(lo, hi)
}

/// Four to ten round, evenly spaced values in `[lo, hi]` (steps of 1, 2, 2.5 or 5 times a power of
/// ten).
pub(super) fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 8.0;
    let e = raw.log10().floor() as i32;
    let m = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| m * 10f64.powi(e) >= raw)
        .unwrap_or(10.0);
    // k m 10^e, divided rather than multiplied for e < 0 so that 0.6 is 0.6, not 0.6000001.
    let at = |k: i64| {
        if e < 0 {
            k as f64 * m / 10f64.powi(-e)
        } else {
            k as f64 * m * 10f64.powi(e)
        }
    };
    let step = at(1);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(at).collect()
}

/// An axis with the ticks we choose (plotters' `WithKeyPoints` loses the `f64` formatter).
struct Ticked<R: Ranged<ValueType = f64>> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ticked<R> {
    fn new<A: AsRangedCoord<Value = f64, CoordDescType = R> + Into<R>>(
        axis: A,
        ticks: Vec<f64>,
    ) -> Self {
        Ticked {
            inner: axis.into(),
            ticks,
        }
    }
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;
    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Only the labelled ticks: no light lines between them.
        if hint.weight().allow_light_points() {
            vec![]
        } else {
            self.ticks.clone()
        }
    }
}

/// The points of `s` that `panel` can draw, with their error half-widths.
fn drawable(panel: &Panel, s: &Series) -> Vec<((f64, f64), f64)> {
    s.points
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, s.errors.get(i).copied().unwrap_or(0.0)))
        .filter(|(p, _)| keep(panel, p))
        .collect()
}

/// Draws `panel` on `area`.
///
/// # Errors
/// A panel with no drawable point, or a drawing failure, as a message.
pub(crate) fn panel(area: &Area, panel: &Panel) -> Result<(), String> {
    let none = || format!("panel '{}' has no point to draw", panel.title);
    let pts: Vec<((f64, f64), f64)> = panel
        .series
        .iter()
        .flat_map(|s| drawable(panel, s))
        .collect();
    if pts.is_empty() {
        return Err(none());
    }
    let (x0, x1) = if panel.categories.is_empty() {
        range(pts.iter().map(|p| p.0.0), log_x(panel)).ok_or_else(none)?
    } else {
        (-0.5, panel.categories.len() as f64 - 0.5)
    };
    let bars = panel.series.iter().any(|s| s.style == Style::Bars);
    let (y0, y1) = match panel.y_range {
        Some(r) => r,
        None => {
            let ys = pts
                .iter()
                .flat_map(|((_, y), e)| [y - e, y + e])
                .chain(bars.then_some(0.0));
            range(ys, panel.log_y).ok_or_else(none)?
        }
    };
    let y0 = if bars && !panel.log_y {
        y0.max(0.0)
    } else {
        y0
    };
    // Logarithmic axes get their ticks from `log_ticks` (plotters' own label powers of ten
    // only, which leaves a plot spanning less than two decades with one or two labels).
    // Linear ones get `linear_ticks`; a categorical x axis keeps plotters' own steps (see
    // `draw`).
    let top = panel.y_ticks_up_to.unwrap_or(f64::INFINITY);
    let upto = |t: Vec<f64>| -> Vec<f64> { t.into_iter().filter(|v| *v <= top).collect() };
    let lx = || Ticked::new((x0..x1).log_scale(), log_ticks(x0, x1));
    let ly = || Ticked::new((y0..y1).log_scale(), upto(log_ticks(y0, y1)));
    let x = || Ticked::new(x0..x1, linear_ticks(x0, x1));
    let y = || Ticked::new(y0..y1, upto(linear_ticks(y0, y1)));
    match (log_x(panel), panel.log_y) {
        (false, false) if !panel.categories.is_empty() => draw(area, panel, x0..x1, y()),
        (false, false) => draw(area, panel, x(), y()),
        (true, false) => draw(area, panel, lx(), y()),
        (false, true) => draw(area, panel, x(), ly()),
        (true, true) => draw(area, panel, lx(), ly()),
    }
}

fn draw<X, Y>(area: &Area, panel: &Panel, x: X, y: Y) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(if panel.categories.is_empty() { 48 } else { 56 })
        .y_label_area_size(76)
        .build_cartesian_2d(x, y)
        .map_err(e)?;
    let categorical = !panel.categories.is_empty();
    let category = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            panel
                .categories
                .get(i as usize)
                .cloned()
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .y_label_formatter(&tick)
        .y_labels(8)
        .max_light_lines(1)
        .light_line_style(RGBColor(242, 242, 242));
    if categorical {
        // Nice steps over [-0.5, n - 0.5] with 4n labels land on every whole number.
        mesh.x_label_formatter(&category)
            .x_labels(4 * panel.categories.len())
            .disable_x_mesh();
    } else {
        mesh.x_label_formatter(&tick).x_labels(8);
    }
    mesh.draw().map_err(e)?;

    let n_bars = panel
        .series
        .iter()
        .filter(|s| s.style == Style::Bars)
        .count();
    let mut bar_index = 0;
    for s in &panel.series {
        let pts = drawable(panel, s);
        // Bars of several series stand side by side around their category.
        let width = 0.8 / n_bars.max(1) as f64;
        let off = if s.style == Style::Bars {
            bar_index += 1;
            -0.4 + width * (bar_index as f64 - 0.5)
        } else {
            0.0
        };
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.0.0 + off, p.0.1)).collect();
        let color = s.color;
        let line = color.stroke_width(2);
        let anno = match s.style {
            Style::Line => chart.draw_series(LineSeries::new(xy.clone(), line)),
            Style::Dashed => chart.draw_series(DashedLineSeries::new(xy.clone(), 8, 5, line)),
            Style::Points => chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>()),
            Style::Bars => {
                let base = chart.y_range().start;
                let rects: Vec<_> = xy
                    .iter()
                    .map(|&(x, y)| {
                        let (a, b) = (x - 0.45 * width, x + 0.45 * width);
                        Rectangle::new([(a, base), (b, y)], color.mix(0.85).filled())
                    })
                    .collect();
                chart.draw_series(rects)
            }
        }
        .map_err(e)?;
        let marker = s.marker;
        let style = s.style;
        anno.label(&s.name).legend(move |at| Icon {
            at,
            color,
            style,
            marker,
        });
        if s.errors.iter().any(|e| *e > 0.0) {
            let bars: Vec<_> = pts
                .iter()
                .filter(|(_, err)| *err > 0.0)
                .map(|&((x, y), err)| {
                    ErrorBar::new_vertical(x + off, y - err, y, y + err, BLACK.stroke_width(1), 8)
                })
                .collect();
            chart.draw_series(bars).map_err(e)?;
        }
        match s.marker {
            Some(Marker::Dot) => {
                chart
                    .draw_series(xy.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(e)?;
            }
            Some(Marker::Cross) => {
                chart
                    .draw_series(xy.iter().map(|&p| Cross::new(p, 6, color.stroke_width(2))))
                    .map_err(e)?;
            }
            None => {}
        }
    }
    let position = match panel.legend {
        Legend::UpperRight => SeriesLabelPosition::UpperRight,
        Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
        Legend::LowerRight => SeriesLabelPosition::LowerRight,
        Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
        Legend::MiddleRight => SeriesLabelPosition::MiddleRight,
    };
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(e)?;
    Ok(())
}

/// The legend's sample of a series: its line (solid or dashed), marker or bar, drawn at one
/// backend point.
struct Icon {
    at: (i32, i32),
    color: RGBColor,
    style: Style,
    marker: Option<Marker>,
}

impl<'a> PointCollection<'a, (i32, i32)> for &'a Icon {
    type Point = &'a (i32, i32);
    type IntoIter = std::iter::Once<&'a (i32, i32)>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Icon {
    fn draw<I: Iterator<Item = (i32, i32)>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = pos.next() else {
            return Ok(());
        };
        let line = self.color.stroke_width(2);
        match self.style {
            Style::Line => backend.draw_line((x, y), (x + 20, y), &line)?,
            Style::Dashed => {
                backend.draw_line((x, y), (x + 7, y), &line)?;
                backend.draw_line((x + 13, y), (x + 20, y), &line)?;
            }
            Style::Bars => {
                backend.draw_rect((x + 3, y - 6), (x + 17, y + 6), &self.color.mix(0.85), true)?
            }
            Style::Points => {}
        }
        match self.marker {
            Some(Marker::Dot) => backend.draw_circle((x + 10, y), 3, &self.color, true)?,
            Some(Marker::Cross) => {
                backend.draw_line((x + 6, y - 4), (x + 14, y + 4), &line)?;
                backend.draw_line((x + 6, y + 4), (x + 14, y - 4), &line)?;
            }
            None => {}
        }
        Ok(())
    }
}
