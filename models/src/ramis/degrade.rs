//! The degradations of the paper's RAMIS experiments (§4.1, Figure 1): blanking an edge strip,
//! OpenCV's Gaussian blur and clipped Gaussian noise.

use crate::data::Image;
use crate::error::ModelError;

/// Zeroes a strip of `px` pixels along every edge (the paper's blanking experiment).
pub fn blank_edges(img: &Image, px: usize) -> Image {
    let n = img.size;
    let mut out = img.clone();
    for y in 0..n {
        for x in 0..n {
            if y < px || x < px || y + px >= n || x + px >= n {
                out.pixels[y * n + x] = 0.0;
            }
        }
    }
    out
}

/// Gaussian blur with an odd kernel size `k` and OpenCV's default sigma for it,
/// `0.3 ((k - 1) / 2 - 1) + 0.8` (`cv2.GaussianBlur(img, (k, k), 0)`); `k = 1` (or 0) is the
/// identity. An even `k`, or a kernel wider than the image allows, is an error (OpenCV
/// refuses even sizes too).
pub fn gaussian_blur(img: &Image, k: usize) -> Result<Image, ModelError> {
    if k <= 1 {
        return Ok(img.clone());
    }
    if k.is_multiple_of(2) || k / 2 >= img.size {
        return Err(ModelError::invalid_option(
            "--blur",
            k,
            format!(
                "Gaussian blur needs an odd kernel size below twice the image side ({}): got {k}",
                img.size
            ),
        ));
    }
    let sigma = 0.3 * ((k as f64 - 1.0) * 0.5 - 1.0) + 0.8;
    let r = (k / 2) as isize;
    let w: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = w.iter().sum();
    let n = img.size as isize;
    let mut cur: Vec<f64> = img.pixels.iter().map(|&v| v as f64).collect();
    for pass in 0..2 {
        let src = cur.clone();
        for y in 0..n {
            for x in 0..n {
                let mut acc = 0.0;
                for (j, wj) in w.iter().enumerate() {
                    let o = j as isize - r;
                    // Reflect at the border (OpenCV's BORDER_REFLECT_101).
                    let refl = |v: isize| {
                        if v < 0 {
                            -v
                        } else if v >= n {
                            2 * n - 2 - v
                        } else {
                            v
                        }
                    };
                    let (yy, xx) = if pass == 0 {
                        (y, refl(x + o))
                    } else {
                        (refl(y + o), x)
                    };
                    acc += wj * src[(yy * n + xx) as usize];
                }
                cur[(y * n + x) as usize] = acc / s;
            }
        }
    }
    Ok(Image::new(
        img.size,
        cur.iter().map(|&v| v as f32).collect(),
    ))
}

/// Adds Gaussian noise of standard deviation `amplitude` to every pixel, clipped to [0, 1].
/// A negative or non-finite amplitude is an error.
pub fn add_noise(img: &Image, amplitude: f64, seed: u64) -> Result<Image, ModelError> {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let bad = || {
        ModelError::invalid_option(
            "--noise",
            amplitude,
            format!("the noise amplitude must be finite and non-negative, got {amplitude}"),
        )
    };
    if !amplitude.is_finite() {
        return Err(bad());
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let d = rand_distr::Normal::new(0.0, amplitude).map_err(|_| bad())?;
    Ok(Image::new(
        img.size,
        img.pixels
            .iter()
            .map(|&v| (v as f64 + d.sample(&mut rng)).clamp(0.0, 1.0) as f32)
            .collect(),
    ))
}

/// Each image blanked by `blank` edge pixels, blurred with kernel `blur` and given noise of
/// `noise` (image `i` with seed `i`), in that order.
pub fn degrade(
    images: &[Image],
    blank: usize,
    blur: usize,
    noise: f64,
) -> Result<Vec<Image>, ModelError> {
    images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            add_noise(
                &gaussian_blur(&blank_edges(img, blank), blur)?,
                noise,
                i as u64,
            )
        })
        .collect()
}
