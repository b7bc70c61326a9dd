//! Charts drawn with `plotters`: panels side by side, each with a title, labelled axes
//! (linear, logarithmic or categorical), readable ticks and a legend; lines, dashed lines,
//! markers, grouped bars and error bars. Text is drawn with DejaVu Sans, embedded in the binary
//! (`assets/fonts`, Bitstream Vera licence), so no system fonts are needed. The picture is
//! drawn into an RGB buffer and written as PNG by `image`, atomically. Image grids with row and
//! column labels are in [`image_grid`].

mod draw;
pub mod image_grid;

use crate::error::ModelError;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

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

/// How a series is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// A solid line through the points.
    #[default]
    Line,
    /// A dashed line through the points.
    Dashed,
    /// Markers only, no line.
    Points,
    /// A bar from 0 to each point; several bar series in a panel stand side by side.
    Bars,
}

/// A marker drawn at every point of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A filled dot.
    Dot,
    /// A cross (x).
    Cross,
}

/// One series of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points `(x, y)`; on a logarithmic axis points at or below 0 are left out. On a
    /// categorical axis `x` is the category's index.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Line, dashed line, markers only or bars.
    pub style: Style,
    /// A marker at every point (as well as the line).
    pub marker: Option<Marker>,
    /// Symmetric error bars: one half-width per point (`y ± e`), or empty for none.
    pub errors: Vec<f64>,
}

impl Series {
    /// A solid line of colour [`palette`]`(i)`.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, i: usize) -> Self {
        Series {
            name: name.into(),
            points,
            color: palette(i),
            style: Style::Line,
            marker: None,
            errors: vec![],
        }
    }
    /// With a dot at every point.
    pub fn with_markers(mut self) -> Self {
        self.marker = Some(Marker::Dot);
        self
    }
    /// Drawn in `style`.
    pub fn styled(mut self, style: Style) -> Self {
        self.style = style;
        self
    }
    /// Markers only (`marker` at each point), no line.
    pub fn points_only(mut self, marker: Marker) -> Self {
        self.style = Style::Points;
        self.marker = Some(marker);
        self
    }
    /// With error bars `y ± e`, one `e` per point.
    pub fn with_errors(mut self, errors: Vec<f64>) -> Self {
        self.errors = errors;
        self
    }
    /// In `color` instead of the palette's.
    pub fn colored(mut self, color: RGBColor) -> Self {
        self.color = color;
        self
    }
}

/// Where the legend goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Legend {
    /// Inside the plot, top right.
    #[default]
    UpperRight,
    /// Inside the plot, top left.
    UpperLeft,
    /// Inside the plot, bottom right.
    LowerRight,
    /// Inside the plot, bottom left.
    LowerLeft,
    /// Inside the plot, halfway up the right side.
    MiddleRight,
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
    /// Logarithmic x axis (ignored with `categories`).
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// A categorical x axis: these names at x = 0, 1, ... (for bar charts).
    pub categories: Vec<String>,
    /// Fixed y range instead of the data's (padded) range.
    pub y_range: Option<(f64, f64)>,
    /// No y tick above this value (a range with room above the data for the legend).
    pub y_ticks_up_to: Option<f64>,
    /// Where the legend goes.
    pub legend: Legend,
    /// The series.
    pub series: Vec<Series>,
}

impl Panel {
    /// Whether the y values of `series` span more than a factor `ratio` (all positive): a
    /// hint to draw them on a logarithmic axis.
    pub fn spans(series: &[Series], ratio: f64) -> bool {
        let ys = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|y| y.is_finite());
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for y in ys {
            lo = lo.min(y);
            hi = hi.max(y);
        }
        lo > 0.0 && hi / lo > ratio
    }
}

pub(crate) fn chart_err(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Chart {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The drawing area of a picture being rendered.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Draws a `width` x `height` picture with `f` on a white background and writes it as PNG at
/// `path`, atomically: nothing is written when `f` fails.
pub(crate) fn render(
    path: &Path,
    width: u32,
    height: u32,
    f: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<(), ModelError> {
    register_font();
    if width == 0 || height == 0 {
        return Err(chart_err(path, format!("empty picture ({width}x{height})")));
    }
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(path, e))?;
        f(&root).map_err(|e| chart_err(path, e))?;
        root.present().map_err(|e| chart_err(path, e))?;
    }
    let img = image::RgbImage::from_raw(width, height, buf)
        .ok_or_else(|| chart_err(path, "the picture buffer has the wrong size"))?;
    let mut png = std::io::Cursor::new(vec![]);
    img.write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| chart_err(path, e))?;
    lobes_ppl::io::write_atomic(path, png.get_ref())?;
    Ok(())
}

/// Writes `panels` side by side into a PNG at `path`, each `w` x `h` pixels.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no panel, a panel with no drawable point, or a
/// drawing failure; an I/O error writing the file.
pub fn write_png(path: &Path, panels: &[Panel], w: u32, h: u32) -> Result<(), ModelError> {
    write_grid_png(path, panels, panels.len().max(1), w, h)
}

/// Writes `panels` into a PNG at `path`, `cols` per row, each `w` x `h` pixels.
///
/// # Errors
/// As [`write_png`].
pub fn write_grid_png(
    path: &Path,
    panels: &[Panel],
    cols: usize,
    w: u32,
    h: u32,
) -> Result<(), ModelError> {
    if panels.is_empty() {
        return Err(chart_err(path, "no panel to draw"));
    }
    let cols = cols.clamp(1, panels.len());
    let rows = panels.len().div_ceil(cols);
    render(path, w * cols as u32, h * rows as u32, |root| {
        let areas = root.split_evenly((rows, cols));
        for (panel, area) in panels.iter().zip(&areas) {
            draw::panel(area, panel)?;
        }
        Ok(())
    })
}

pub(crate) use draw::panel as draw_panel;

#[cfg(test)]
mod tests;
