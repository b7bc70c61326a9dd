//! p(x | z): how the decoder's brightness in (0, 1) scores the observed pixels.
//!
//! Adding a likelihood: an arm in [`Likelihood`] (its name in `ALL` and [`Likelihood::name`],
//! its parameters in [`Likelihood::param_names`], its distribution in
//! [`PixelLikelihood::distribution`]) and a test below. Nothing else changes: the model, the
//! guide, training, checkpoints and the CLI's `--likelihood` read this enum. A likelihood of
//! one's own, outside this crate, implements [`PixelLikelihood`] and trains with
//! [`model_with`](super::model_with) (examples/custom_likelihood.rs).

use super::PixelLikelihood;
use crate::error::ModelError;
use burn::prelude::*;
use lobes_ppl::prelude::*;
use std::sync::Arc;

/// The pixel likelihood of the VAE and CVAE; `decoded` is the decoder's sigmoid output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Likelihood {
    /// `Bernoulli(probs = decoded)`, the paper's. Not a density on [0, 1]: the test loss is a
    /// cross-entropy.
    #[default]
    Bernoulli,
    /// `ContinuousBernoulli(probs = decoded)` (Loaiza-Ganem & Cunningham 2019): the Bernoulli's
    /// cross-entropy plus the normaliser that makes it a density on [0, 1].
    ContinuousBernoulli,
    /// `Normal(decoded, 0.1)`: −log p is the paper's squared error (its Eq. 7) over 2σ², plus a
    /// constant.
    Normal,
    /// `Normal(decoded, σ)`, one σ for every pixel, learned (parameter `obs.scale`, initially
    /// 0.1).
    NormalLearned,
    /// `Laplace(decoded, b)`, one b for every pixel, learned (parameter `obs.scale`, initially
    /// 0.1): an absolute error.
    Laplace,
    /// `Beta` of mean `decoded` and one learned concentration κ (parameter
    /// `obs.concentration`, initially 10): α = κ·decoded, β = κ·(1 − decoded). A Beta has no
    /// density at 0 or 1, so the observed pixels and the mean are clamped to
    /// [`Likelihood::BETA_EPS`, 1 − `BETA_EPS`].
    Beta,
    /// For sigma-clipped images, whose background is exact zeros: a pixel is 0 with a decoded
    /// probability π, else a [`Likelihood::Beta`] of decoded mean μ and one learned
    /// concentration (`obs.concentration`), `ln p(0) = ln π`, `ln p(x) = ln(1 − π) + ln
    /// Beta(x)` (the PPL's `ZeroInflated` over a continuous base, a hurdle). The decoder gives
    /// two values per pixel (π for every pixel, then μ): [`Likelihood::channels`]. Non-zero
    /// pixels are clamped to [`Likelihood::BETA_EPS`, 1 − `BETA_EPS`]; the image shown is the
    /// mean (1 − π) μ.
    ZeroInflatedBeta,
}

impl Likelihood {
    /// Every choice, by [`Likelihood::name`].
    pub const ALL: [Likelihood; 7] = [
        Likelihood::Bernoulli,
        Likelihood::ContinuousBernoulli,
        Likelihood::Normal,
        Likelihood::NormalLearned,
        Likelihood::Laplace,
        Likelihood::Beta,
        Likelihood::ZeroInflatedBeta,
    ];

    /// Values the decoder gives per pixel: 2 for [`Likelihood::ZeroInflatedBeta`] (the
    /// probability of a zero, then the Beta's mean), else 1.
    pub fn channels(self) -> usize {
        match self {
            Likelihood::ZeroInflatedBeta => 2,
            _ => 1,
        }
    }

    /// The fixed σ of [`Likelihood::Normal`], and the initial scale of the learned ones.
    pub const SCALE: f32 = 0.1;

    /// How far from 0 and 1 [`Likelihood::Beta`] clamps the observed pixels.
    pub const BETA_EPS: f32 = 1e-3;

    /// How far from 0 and 1 [`Likelihood::ZeroInflatedBeta`] clamps its probability of a zero.
    pub const GATE_EPS: f32 = 1e-6;

    /// The name `--likelihood` takes.
    pub fn name(self) -> &'static str {
        match self {
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::ContinuousBernoulli => "continuous-bernoulli",
            Likelihood::Normal => "normal",
            Likelihood::NormalLearned => "normal-learned",
            Likelihood::Laplace => "laplace",
            Likelihood::Beta => "beta",
            Likelihood::ZeroInflatedBeta => "zero-inflated-beta",
        }
    }

    /// Parses [`Likelihood::name`]; an unknown name is an error listing the choices.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        Self::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|l| l.name()).collect();
                ModelError::unknown_name("likelihood", s, names.join(", "))
            })
    }

    /// The mean of p(x | z), the image a generated or reconstructed source is shown as: the
    /// decoder's output itself, except for the continuous Bernoulli, whose parameter λ is not
    /// its mean (Loaiza-Ganem & Cunningham 2019, Eq. 7): λ / (2λ − 1) + 1 / (2 atanh(1 − 2λ)),
    /// 1/2 + (λ − 1/2) / 3 within 10⁻² of λ = 1/2, where that form cancels.
    ///
    /// # Shapes
    /// - decoded: `[batch, pixels]`
    /// - output: `[batch, pixels]`
    pub fn mean(self, decoded: Tensor<2>) -> Tensor<2> {
        match self {
            Likelihood::ContinuousBernoulli => {
                let l = decoded.clamp(1e-6, 1.0 - 1e-6);
                let c = l.clone() - 0.5;
                let near = c.clone().abs().lower_elem(1e-2);
                let two_l_m1 = l.clone() * 2.0 - 1.0;
                // atanh(u) = ln((1 + u) / (1 − u)) / 2 with u = 1 − 2λ: (1 + u) / (1 − u) = (1 − λ) / λ.
                let atanh = ((l.clone().neg() + 1.0) / l.clone()).log() * 0.5;
                let far = l.clone() / two_l_m1.clone().mask_fill(near.clone(), 1.0)
                    + (atanh * 2.0).mask_fill(near.clone(), 1.0).recip();
                far.mask_where(near, c / 3.0 + 0.5)
            }
            Likelihood::Beta => decoded.clamp(Self::BETA_EPS, 1.0 - Self::BETA_EPS),
            Likelihood::ZeroInflatedBeta => {
                let p = decoded.dims()[1] / 2;
                let gate = decoded.clone().narrow(1, 0, p);
                let mean = decoded
                    .narrow(1, p, p)
                    .clamp(Self::BETA_EPS, 1.0 - Self::BETA_EPS);
                (gate.neg() + 1.0) * mean
            }
            _ => decoded,
        }
    }

    /// The parameters the likelihood makes in the model (beside the networks').
    pub fn param_names(self) -> Vec<&'static str> {
        match self {
            Likelihood::NormalLearned | Likelihood::Laplace => vec!["obs.scale"],
            Likelihood::Beta | Likelihood::ZeroInflatedBeta => vec!["obs.concentration"],
            _ => vec![],
        }
    }
}

impl PixelLikelihood for Likelihood {
    fn distribution(&self, decoded: Tensor<2>) -> Result<Arc<dyn Distribution>> {
        let dev = decoded.device();
        let [b, width] = decoded.dims();
        let p = width / self.channels();
        let learned = |param: &str, init: f32| -> Result<Tensor<2>> {
            let v: Tensor<1> = param_constrained(
                param,
                Tensor::<1>::from_floats([init], &dev),
                Constraint::Positive,
            )?;
            Ok(v.reshape([1, 1]).expand([b, p]))
        };
        Ok(match self {
            Likelihood::Bernoulli => Bernoulli::from_probs(decoded)?.to_event(1).boxed(),
            Likelihood::ContinuousBernoulli => ContinuousBernoulli::from_probs(decoded)?
                .to_event(1)
                .boxed(),
            Likelihood::Normal => {
                let scale = Tensor::<2>::full([b, p], Self::SCALE, &dev);
                Normal::new(decoded, scale)?.to_event(1).boxed()
            }
            Likelihood::NormalLearned => Normal::new(decoded, learned("obs.scale", Self::SCALE)?)?
                .to_event(1)
                .boxed(),
            Likelihood::Laplace => Laplace::new(decoded, learned("obs.scale", Self::SCALE)?)?
                .to_event(1)
                .boxed(),
            Likelihood::Beta => {
                let k = learned("obs.concentration", 10.0)?;
                // A saturated sigmoid would give α or β = 0, outside the Beta's parameters.
                let mean = decoded.clamp(Self::BETA_EPS, 1.0 - Self::BETA_EPS);
                let alpha = mean.clone() * k.clone();
                let beta = (mean.neg() + 1.0) * k;
                Beta::new(alpha, beta)?.to_event(1).boxed()
            }
            Likelihood::ZeroInflatedBeta => {
                let k = learned("obs.concentration", 10.0)?;
                // A saturated sigmoid would give a gate of exactly 0 or 1 (ln 0), or a Beta
                // parameter of 0.
                let gate = decoded
                    .clone()
                    .narrow(1, 0, p)
                    .clamp(Self::GATE_EPS, 1.0 - Self::GATE_EPS);
                let mean = decoded
                    .narrow(1, p, p)
                    .clamp(Self::BETA_EPS, 1.0 - Self::BETA_EPS);
                let alpha = mean.clone() * k.clone();
                let beta = (mean.neg() + 1.0) * k;
                ZeroInflated::new(Beta::new(alpha, beta)?.boxed(), gate)?
                    .to_event(1)
                    .boxed()
            }
        })
    }

    fn observed(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Likelihood::Beta => x.clamp(Self::BETA_EPS, 1.0 - Self::BETA_EPS),
            // Zeros stay zeros (the gate's); the other pixels inside the Beta's support.
            Likelihood::ZeroInflatedBeta => {
                let zero = x.clone().equal_elem(0.0);
                x.clamp(Self::BETA_EPS, 1.0 - Self::BETA_EPS)
                    .mask_fill(zero, 0.0)
            }
            _ => x,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ln p(x | decoded) as the model scores it, with the learned parameters at their start.
    fn log_p(l: Likelihood, decoded: &[f32], x: &[f32]) -> f64 {
        let dev = Device::flex();
        let t = |v: &[f32]| Tensor::<1>::from_floats(v, &dev).reshape([1, v.len()]);
        let mut store = ParamStore::new();
        let (_, mut tr) = with_param_store(&mut store, || {
            trace(|| {
                let dist = l.distribution(t(decoded))?;
                observe("obs", dist, l.observed(t(x)))?;
                Ok(())
            })
        })
        .unwrap();
        tr.log_prob_sum().unwrap().to_vec()[0] as f64
    }

    fn lgamma(x: f64) -> f64 {
        // Stirling's series with a shift: exact to ~1e-10 for x > 0.
        let mut x = x;
        let mut shift = 0.0;
        while x < 7.0 {
            shift -= x.ln();
            x += 1.0;
        }
        let z = 1.0 / (x * x);
        shift + (x - 0.5) * x.ln() - x
            + 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (1.0 / 12.0 - z * (1.0 / 360.0 - z / 1260.0)) / x
    }

    #[test]
    fn each_likelihood_scores_pixels_by_its_closed_form() {
        let m = [0.2f32, 0.5, 0.9];
        let x = [0.0f32, 0.4, 1.0];
        let pairs = || m.iter().zip(&x).map(|(&m, &x)| (m as f64, x as f64));
        let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let s = Likelihood::SCALE as f64;
        let cases: [(Likelihood, f64); 6] = [
            (
                Likelihood::Bernoulli,
                pairs()
                    .map(|(m, x)| x * m.ln() + (1.0 - x) * (1.0 - m).ln())
                    .sum(),
            ),
            (
                Likelihood::ContinuousBernoulli,
                pairs()
                    .map(|(m, x)| {
                        // ln C(λ) = ln(2 atanh(1 - 2λ) / (1 - 2λ)), 2 at λ = 1/2.
                        let c = if (m - 0.5).abs() < 1e-6 {
                            2f64.ln()
                        } else {
                            (2.0 * (1.0 - 2.0 * m).atanh() / (1.0 - 2.0 * m)).ln()
                        };
                        x * m.ln() + (1.0 - x) * (1.0 - m).ln() + c
                    })
                    .sum(),
            ),
            (
                Likelihood::Normal,
                pairs()
                    .map(|(m, x)| -(x - m).powi(2) / (2.0 * s * s) - s.ln() - half_ln_2pi)
                    .sum(),
            ),
            (
                Likelihood::NormalLearned,
                pairs()
                    .map(|(m, x)| -(x - m).powi(2) / (2.0 * s * s) - s.ln() - half_ln_2pi)
                    .sum(),
            ),
            (
                Likelihood::Laplace,
                pairs()
                    .map(|(m, x)| -(x - m).abs() / s - (2.0 * s).ln())
                    .sum(),
            ),
            (
                Likelihood::Beta,
                pairs()
                    .map(|(m, x)| {
                        let e = Likelihood::BETA_EPS as f64;
                        let x = x.clamp(e, 1.0 - e);
                        let (a, b) = (10.0 * m, 10.0 * (1.0 - m));
                        (a - 1.0) * x.ln() + (b - 1.0) * (1.0 - x).ln() + lgamma(a + b)
                            - lgamma(a)
                            - lgamma(b)
                    })
                    .sum(),
            ),
        ];
        for (l, want) in cases {
            assert_eq!(l.channels(), 1);
            let got = log_p(l, &m, &x);
            assert!(
                (got - want).abs() < 1e-3 * want.abs().max(1.0),
                "{}: {got} vs {want}",
                l.name()
            );
        }
    }

    /// The zero-inflated Beta: a zero costs ln π whatever the Beta, another pixel ln(1 − π)
    /// plus the Beta's density at it (clamped as the Beta's); the decoder's two channels are π
    /// then μ, and the image shown is (1 − π) μ. Gradients at zero pixels are finite.
    #[test]
    fn the_zero_inflated_beta_scores_zeros_by_its_gate_and_the_rest_by_the_beta() {
        let l = Likelihood::ZeroInflatedBeta;
        assert_eq!(l.channels(), 2);
        let (gate, m) = ([0.7f32, 0.3, 0.4], [0.2f32, 0.5, 0.9]);
        let x = [0.0f32, 0.4, 1.0];
        let decoded: Vec<f32> = gate.iter().chain(&m).copied().collect();
        let e = Likelihood::BETA_EPS as f64;
        let beta = |m: f64, x: f64| {
            let x = x.clamp(e, 1.0 - e);
            let (a, b) = (10.0 * m, 10.0 * (1.0 - m));
            (a - 1.0) * x.ln() + (b - 1.0) * (1.0 - x).ln() + lgamma(a + b) - lgamma(a) - lgamma(b)
        };
        let want: f64 = (0..3)
            .map(|i| {
                let (g, m, x) = (gate[i] as f64, m[i] as f64, x[i] as f64);
                if x == 0.0 {
                    g.ln()
                } else {
                    (1.0 - g).ln() + beta(m, x)
                }
            })
            .sum();
        let got = log_p(l, &decoded, &x);
        assert!((got - want).abs() < 1e-3 * want.abs(), "{got} vs {want}");

        let dev = Device::flex();
        let shown: Vec<f32> = l
            .mean(Tensor::<1>::from_floats(decoded.as_slice(), &dev).reshape([1, 6]))
            .try_into_vec_as::<f32>()
            .unwrap();
        for i in 0..3 {
            assert!(
                (shown[i] - (1.0 - gate[i]) * m[i]).abs() < 1e-6,
                "{shown:?}"
            );
        }

        // Through autodiff: all-zero pixels with a saturated mean give finite gradients.
        let ad = Device::flex().autodiff();
        let d = DTensor::from_floats(vec![0.5, 0.5, 1.0, 1.0], &[1, 4], &ad)
            .unwrap()
            .require_grad();
        let x = Tensor::<1>::from_floats([0.0f32, 0.0], &ad).reshape([1, 2]);
        let mut store = ParamStore::new();
        let lp = with_param_store(&mut store, || {
            let dist = l.distribution(d.to_tensor::<2>().unwrap()).unwrap();
            dist.log_prob(&DTensor::from(l.observed(x))).unwrap()
        });
        let g = lp.sum().backward();
        let grad = d.grad(&g).unwrap().to_vec();
        assert!(grad.iter().all(|v| v.is_finite()), "{grad:?}");
        assert!((grad[0] - 2.0).abs() < 1e-4, "d ln π / dπ at 1/2: {grad:?}");
    }

    #[test]
    fn the_continuous_bernoullis_mean_is_not_its_parameter() {
        let dev = Device::flex();
        let l = [1e-5f32, 0.1, 0.495, 0.5, 0.505, 0.9];
        let t = Tensor::<1>::from_floats(l, &dev).reshape([1, 6]);
        let m: Vec<f32> = Likelihood::ContinuousBernoulli
            .mean(t.clone())
            .try_into_vec_as::<f32>()
            .unwrap();
        for (&l, &m) in l.iter().zip(&m) {
            let l = l as f64;
            let want = if (l - 0.5).abs() < 1e-9 {
                0.5
            } else {
                l / (2.0 * l - 1.0) + 1.0 / (2.0 * (1.0 - 2.0 * l).atanh())
            };
            assert!((m as f64 - want).abs() < 2e-3, "λ {l}: {m} vs {want}");
        }
        // λ → 0 is a faint but not black pixel; the Bernoulli's mean is its parameter.
        assert!(m[0] > 0.08 && m[0] < 0.09, "{}", m[0]);
        let b: Vec<f32> = Likelihood::Bernoulli
            .mean(t)
            .try_into_vec_as::<f32>()
            .unwrap();
        assert_eq!(b, l.to_vec());
    }

    #[test]
    fn names_parse_back_and_unknown_ones_list_the_choices() {
        for l in Likelihood::ALL {
            assert_eq!(Likelihood::parse(l.name()).unwrap(), l);
        }
        let e = Likelihood::parse("poisson").unwrap_err().to_string();
        assert!(
            e.contains("'poisson'") && e.contains("continuous-bernoulli, normal"),
            "{e}"
        );
    }
}
