//! Figures 4 and 5 of the paper in one picture: the test loss and RAMIS against the latent size
//! d, for the VAE and the CVAE, lobes' rows of `tables-3-4.csv` ([`super::grid`]) beside the
//! paper's Tables 3 and 4.

use crate::error::ModelError;
use crate::plot::{Legend, Marker, Panel, Series, Style, palette, write_png};
use std::collections::BTreeMap;
use std::path::Path;

/// One column of the paper's Tables 3 and 4 (§5.2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaperColumn {
    /// Latent size.
    pub d: usize,
    /// VAE test loss (Table 3).
    pub vae_test: f64,
    /// VAE RAMIS (Table 3).
    pub vae_ramis: f64,
    /// CVAE test loss (Table 4).
    pub cvae_test: f64,
    /// CVAE RAMIS (Table 4).
    pub cvae_ramis: f64,
    /// Generated FRIs classified FRI, % (Table 4).
    pub fri: f64,
    /// Generated FRIIs classified FRII, % (Table 4).
    pub frii: f64,
}

const fn col(d: usize, vae: (f64, f64), cvae: (f64, f64), fri: f64, frii: f64) -> PaperColumn {
    PaperColumn {
        d,
        vae_test: vae.0,
        vae_ramis: vae.1,
        cvae_test: cvae.0,
        cvae_ramis: cvae.1,
        fri,
        frii,
    }
}

/// The paper's Tables 3 and 4, one column per latent size.
pub const PAPER: [PaperColumn; 6] = [
    col(2, (125.7, 1.17), (129.1, 1.18), 57.5, 37.2),
    col(4, (121.0, 1.10), (125.0, 1.14), 75.5, 31.8),
    col(8, (127.6, 1.12), (136.7, 1.18), 53.4, 51.5),
    col(16, (120.6, 1.16), (124.3, 1.11), 37.1, 61.7),
    col(32, (121.2, 1.18), (127.3, 1.17), 65.0, 35.6),
    col(64, (121.1, 1.13), (125.1, 1.10), 75.9, 24.7),
];

/// One of lobes' points: a model at one d, over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct GridPoint {
    /// `vae` or `cvae`.
    pub model: String,
    /// Latent size.
    pub d: usize,
    /// Test −ELBO with dropout on (the paper's protocol) per seed.
    pub test_on: Vec<f64>,
    /// RAMIS from uniform(−4, 4) latents per seed, with each one's 95% interval.
    pub ramis: Vec<(f64, f64, f64)>,
}

/// The paper-recipe rows of a `tables-3-4.csv` (departures `paper`), grouped by model and d.
pub fn read_points(path: &Path) -> Result<Vec<GridPoint>, ModelError> {
    let bad = |e: csv::Error| ModelError::csv(path, None, e);
    let mut r = csv::Reader::from_path(path).map_err(bad)?;
    let header = r.headers().map_err(bad)?.clone();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            ModelError::csv_content(
                path,
                None,
                format!("no column '{name}' (not a lobes grid CSV)"),
            )
        })
    };
    let c: Vec<usize> = [
        "model",
        "d",
        "departures",
        "test_on",
        "ramis_uniform",
        "ramis_uniform_lo",
        "ramis_uniform_hi",
    ]
    .iter()
    .map(|n| col(n))
    .collect::<Result<_, _>>()?;
    let mut points: BTreeMap<(String, usize), GridPoint> = BTreeMap::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(bad)?;
        let f = |k: usize| rec.get(c[k]).unwrap_or("").trim();
        let num = |k: usize| {
            f(k).parse::<f64>().map_err(|_| {
                ModelError::csv_content(
                    path,
                    Some(i + 2),
                    format!("column '{}' is not a number: '{}'", &header[c[k]], f(k)),
                )
            })
        };
        if f(2) != "paper" {
            continue;
        }
        let (model, d) = (f(0).to_string(), num(1)? as usize);
        let p = points.entry((model.clone(), d)).or_insert(GridPoint {
            model,
            d,
            test_on: vec![],
            ramis: vec![],
        });
        p.test_on.push(num(3)?);
        p.ramis.push((num(4)?, num(5)?, num(6)?));
    }
    if points.is_empty() {
        return Err(ModelError::csv_content(
            path,
            None,
            "no rows of the paper's recipe (departures 'paper') to plot",
        ));
    }
    Ok(points.into_values().collect())
}

/// Mean, and the error bar: the sd over seeds when there are several, else half the one
/// seed's interval (0 for a test loss).
fn summary(v: &[f64], half: f64) -> (f64, f64) {
    let (mean, sd) = super::grid::mean_sd(v);
    (mean, if v.len() < 2 { half } else { sd })
}

/// Two panels, test −ELBO (dropout on) and RAMIS (uniform latents) against d on a log axis:
/// lobes' points (mean over seeds, ±1 sd, or one seed's 95% RAMIS interval) and the paper's
/// Tables 3 and 4 (dashed), VAE and CVAE.
pub fn grid_figure(path: &Path, points: &[GridPoint]) -> Result<(), ModelError> {
    let mut loss = vec![];
    let mut ramis = vec![];
    for (i, (model, name)) in [("vae", "VAE"), ("cvae", "CVAE")].into_iter().enumerate() {
        let paper = |f: fn(&PaperColumn) -> f64| -> Vec<(f64, f64)> {
            PAPER.iter().map(|c| (c.d as f64, f(c))).collect()
        };
        let (pl, pr) = if model == "vae" {
            (paper(|c| c.vae_test), paper(|c| c.vae_ramis))
        } else {
            (paper(|c| c.cvae_test), paper(|c| c.cvae_ramis))
        };
        loss.push(
            Series::new(format!("{name}, paper"), pl, i)
                .styled(Style::Dashed)
                .colored(palette(i)),
        );
        ramis.push(
            Series::new(format!("{name}, paper"), pr, i)
                .styled(Style::Dashed)
                .colored(palette(i)),
        );
        let mine: Vec<&GridPoint> = points.iter().filter(|p| p.model == model).collect();
        if mine.is_empty() {
            continue;
        }
        let (mut l, mut le, mut r, mut re) = (vec![], vec![], vec![], vec![]);
        for p in mine {
            let (m, e) = summary(&p.test_on, 0.0);
            l.push((p.d as f64, m));
            le.push(e);
            let half = p.ramis.first().map_or(0.0, |(_, lo, hi)| (hi - lo) / 2.0);
            let (m, e) = summary(&p.ramis.iter().map(|x| x.0).collect::<Vec<_>>(), half);
            r.push((p.d as f64, m));
            re.push(e);
        }
        let marker = if i == 0 { Marker::Dot } else { Marker::Cross };
        loss.push(
            Series::new(format!("{name}, lobes"), l, i)
                .points_only(marker)
                .with_errors(le),
        );
        ramis.push(
            Series::new(format!("{name}, lobes"), r, i)
                .points_only(marker)
                .with_errors(re),
        );
    }
    // Room above the data for the legend.
    let room = |series: &[Series]| {
        let ys = series.iter().flat_map(|s| {
            s.points
                .iter()
                .zip(s.errors.iter().chain(std::iter::repeat(&0.0)))
                .map(|(p, e)| (p.1 - e, p.1 + e))
        });
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (l, h)| {
            (a.min(l), b.max(h))
        });
        let span = (hi - lo).max(1e-9);
        (
            Some((lo - 0.05 * span, hi + 0.45 * span)),
            Some(hi + 0.05 * span),
        )
    };
    let panel = |title: &str, y: &str, series: Vec<Series>| {
        let (y_range, y_ticks_up_to) = room(&series);
        Panel {
            title: title.into(),
            x_label: "latent size d".into(),
            y_label: y.into(),
            log_x: true,
            legend: Legend::UpperRight,
            y_range,
            y_ticks_up_to,
            series,
            ..Default::default()
        }
    };
    write_png(
        path,
        &[
            panel(
                "Test loss against d (Tables 3, 4)",
                "test -ELBO per image, dropout on (nats)",
                loss,
            ),
            panel(
                "RAMIS against d (Tables 3, 4)",
                "RAMIS, uniform(-4, 4) latents",
                ramis,
            ),
        ],
        620,
        440,
    )
}
