use super::draw::{linear_ticks, log_ticks, tick};
use super::*;

fn tmp(name: &str) -> std::path::PathBuf {
    lobes_ppl::io::scratch_dir("lobes-chart", name).unwrap()
}

/// Pixels that are not white in columns `xs` of `img`.
fn ink(img: &image::RgbImage, xs: std::ops::Range<u32>) -> usize {
    let h = img.height();
    xs.flat_map(|x| (0..h).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 != [255, 255, 255])
        .count()
}

#[test]
fn tick_labels_are_short() {
    let t: Vec<String> = [1.0, 10.0, 150.0, 1.25, 0.05, 1.0684, 0.0005]
        .iter()
        .map(tick)
        .collect();
    assert_eq!(t, ["1", "10", "150", "1.25", "0.05", "1.07", "0.0005"]);
}

#[test]
fn a_two_panel_chart_with_log_axes_is_written_and_empty_panels_are_errors() {
    let dir = tmp("two");
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
                Series::new("paper", curve, 1).styled(Style::Dashed),
            ],
            ..Default::default()
        },
        Panel {
            title: "RAMIS".into(),
            x_label: "epoch".into(),
            y_label: "RAMIS".into(),
            series: vec![
                Series::new("ours", vec![(0.0, 1.0), (5.0, 1.07)], 0).with_markers(),
                Series::new("bad", vec![(5.0, 1.07)], 2).points_only(Marker::Cross),
            ],
            ..Default::default()
        },
    ];
    write_png(&p, &panels, 500, 360).unwrap();
    let img = image::open(&p).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1000, 360));
    // Something besides white was drawn in each panel (axes, text, lines).
    for half in [0..500u32, 500..1000] {
        let n = ink(&img, half);
        assert!(n > 2000, "{n}");
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
    let e = write_png(&dir.join("n.png"), &[], 300, 200)
        .unwrap_err()
        .to_string();
    assert!(e.contains("n.png") && e.contains("no panel"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn grouped_bars_with_error_bars_on_categories_are_drawn() {
    let dir = tmp("bars");
    let p = dir.join("b.png");
    let panel = Panel {
        title: "class balance".into(),
        x_label: "latents".into(),
        y_label: "correct (%)".into(),
        categories: vec!["uniform".into(), "prior".into()],
        y_range: Some((0.0, 100.0)),
        series: vec![
            Series::new("FRI", vec![(0.0, 5.0), (1.0, 40.0)], 0)
                .styled(Style::Bars)
                .with_errors(vec![0.7, 1.5]),
            Series::new("FRII", vec![(0.0, 94.0), (1.0, 80.0)], 1)
                .styled(Style::Bars)
                .with_errors(vec![0.8, 1.3]),
        ],
        ..Default::default()
    };
    write_png(&p, &[panel], 600, 400).unwrap();
    let img = image::open(&p).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (600, 400));
    // The FRII bars (orange) cover far more pixels than the short FRI bar at x = 0.
    let orange = img
        .pixels()
        .filter(|px| {
            let [r, g, b] = px.0;
            r > 200 && (100..140).contains(&g) && b < 60
        })
        .count();
    assert!(orange > 5000, "{orange}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unwritable_path_is_an_error_naming_it() {
    let dir = tmp("ro");
    let p = dir.join("missing-folder").join("c.png");
    let panel = Panel {
        title: "t".into(),
        series: vec![Series::new("s", vec![(0.0, 1.0), (1.0, 2.0)], 0)],
        ..Default::default()
    };
    let e = write_png(&p, &[panel], 300, 200).unwrap_err().to_string();
    assert!(e.contains("missing-folder"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spans_tells_when_a_log_axis_is_needed() {
    let s = |ys: &[f64]| {
        vec![Series::new(
            "s",
            ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect(),
            0,
        )]
    };
    assert!(Panel::spans(&s(&[6932.0, 150.0, 140.0]), 10.0));
    assert!(!Panel::spans(&s(&[160.0, 150.0, 140.0]), 10.0));
    assert!(!Panel::spans(&s(&[-1.0, 150.0]), 10.0));
}

#[test]
fn log_axes_get_at_least_four_round_ticks() {
    assert_eq!(
        log_ticks(133.0, 7200.0),
        [200.0, 500.0, 1000.0, 2000.0, 5000.0]
    );
    assert_eq!(log_ticks(0.9, 9000.0), [1.0, 10.0, 100.0, 1000.0]);
    // A narrow range falls back to evenly spaced values.
    assert_eq!(log_ticks(138.0, 162.0), [140.0, 145.0, 150.0, 155.0, 160.0]);
    assert_eq!(linear_ticks(0.0, 1.0), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
}
