//! The noise analysis (§6.2, Figure 9): the share of pixels below 5e-5 and the images
//! saturated at a quantile on a log scale.

use crate::data::Image;

/// The noise threshold of the paper's §6.2.
pub const NOISE_THRESHOLD: f32 = 5e-5;

/// Percentage of pixels below `threshold`.
pub fn percent_below(img: &Image, threshold: f32) -> f64 {
    let k = img.pixels.iter().filter(|&&v| v < threshold).count();
    100.0 * k as f64 / img.pixels.len().max(1) as f64
}

/// The `q`-quantile (0..=1) of the pixel values (nearest rank).
pub fn quantile(img: &Image, q: f64) -> f32 {
    let mut v = img.pixels.clone();
    v.sort_by(f32::total_cmp);
    let i = ((q.clamp(0.0, 1.0) * (v.len() as f64 - 1.0)).round() as usize).min(v.len() - 1);
    v[i]
}

/// Lowest value shown by [`log_saturated`]: pixels at or below it are black.
pub const LOG_FLOOR: f32 = 1e-6;

/// Figure 9's display: saturated at the `q`-quantile, then on a log scale from [`LOG_FLOOR`]
/// (black) to the saturation level (white), so faint noise becomes visible. Images whose
/// quantile is at or below the floor (real FIRST stamps are ~98% exact zeros) saturate at their
/// maximum instead.
pub fn log_saturated(img: &Image, q: f64) -> Image {
    let mut top = quantile(img, q);
    if top <= LOG_FLOOR {
        top = img.pixels.iter().cloned().fold(0.0, f32::max);
    }
    if top <= LOG_FLOOR {
        return Image::zeros(img.size);
    }
    let (lo, hi) = (LOG_FLOOR.log10(), top.log10());
    Image::new(
        img.size,
        img.pixels
            .iter()
            .map(|&v| ((v.clamp(LOG_FLOOR, top).log10() - lo) / (hi - lo)).clamp(0.0, 1.0))
            .collect(),
    )
}

/// The noise table of named images: the CSV `image,percent_below_5e-5,p95,max` (one row per
/// image) and the mean percentage below [`NOISE_THRESHOLD`] over the images (0 for none).
pub fn noise_table(named: &[(String, Image)]) -> (String, f64) {
    let mut csv = String::from("image,percent_below_5e-5,p95,max\n");
    let mut total = 0.0;
    for (name, img) in named {
        let pct = percent_below(img, NOISE_THRESHOLD);
        total += pct;
        let max = img.pixels.iter().cloned().fold(0.0f32, f32::max);
        csv.push_str(&format!(
            "{name},{pct:.3},{:e},{max}\n",
            quantile(img, 0.95)
        ));
    }
    (csv, total / named.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(size: usize, v: f32) -> Image {
        Image::new(size, vec![v; size * size])
    }

    #[test]
    fn noise_statistics() {
        let mut img = flat(10, 0.0);
        for (i, p) in img.pixels.iter_mut().enumerate() {
            *p = i as f32 / 100.0 * 1e-4; // 0 .. 0.99e-4
        }
        assert_eq!(percent_below(&img, NOISE_THRESHOLD), 50.0);
        // Nearest rank: index round(0.95 * 99) = 94.
        assert!((quantile(&img, 0.95) - 0.94e-4).abs() < 1e-9);
        let shown = log_saturated(&img, 0.95);
        assert_eq!(shown.pixels[99], 1.0, "above the quantile saturates");
        assert_eq!(shown.pixels[0], 0.0, "zero is black");
        assert!(shown.pixels.windows(2).all(|w| w[0] <= w[1]), "monotone");
    }

    #[test]
    fn the_noise_table_has_a_row_per_image_and_the_mean() {
        let named = vec![
            ("dark".to_string(), flat(2, 0.0)),
            ("bright".to_string(), flat(2, 0.5)),
        ];
        let (csv, mean) = noise_table(&named);
        assert_eq!(
            csv,
            "image,percent_below_5e-5,p95,max\ndark,100.000,0e0,0\nbright,0.000,5e-1,0.5\n"
        );
        assert_eq!(mean, 50.0);
        assert_eq!(noise_table(&[]).1, 0.0);
    }
}
