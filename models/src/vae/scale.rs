//! The guide's scale function: how the encoder's second head becomes q(z | x)'s Normal scale.

use crate::error::ModelError;
use burn::prelude::*;
use burn::tensor::activation::softplus;

/// How the guide's encoder head becomes the Normal scale of q(z | x).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GuideScale {
    /// `exp(head)`, the paper's code. Unbounded both ways: a head above ~88 overflows f32, and
    /// one below ~-42 makes `scale²` underflow to 0, so the Normal's gradient is `0 / 0`.
    #[default]
    Exp,
    /// `softplus(head)`: grows linearly, never overflows (a departure from the paper, offered
    /// against diverging runs). Below 0 it is `exp` again, with the same underflow.
    Softplus,
    /// `exp(clamp(head, LOG_SCALE_MIN, LOG_SCALE_MAX))`: the paper's `exp` wherever the head
    /// lies in [`GuideScale::LOG_SCALE_MIN`, `GuideScale::LOG_SCALE_MAX`], bounded outside (a
    /// departure from the paper; the clamped elements pass no gradient, as in torch's
    /// `clamp`). A network trained with `exp` whose heads stay inside the range computes the
    /// same function, so a run can switch to it on `--resume`.
    ExpClamp,
}

impl GuideScale {
    /// Every choice, by [`GuideScale::name`].
    pub const ALL: [GuideScale; 3] = [GuideScale::Exp, GuideScale::Softplus, GuideScale::ExpClamp];

    /// The lowest log-scale [`GuideScale::ExpClamp`] passes: scale 3.1e-7, whose cube (in the
    /// Normal's gradient) is still a normal f32.
    pub const LOG_SCALE_MIN: f64 = -15.0;

    /// The highest log-scale [`GuideScale::ExpClamp`] passes: scale 2.2e4, far wider than a
    /// N(0, I) prior's latent ever needs.
    pub const LOG_SCALE_MAX: f64 = 10.0;

    /// `exp`, `softplus` or `exp-clamp`.
    pub fn name(self) -> &'static str {
        match self {
            GuideScale::Exp => "exp",
            GuideScale::Softplus => "softplus",
            GuideScale::ExpClamp => "exp-clamp",
        }
    }

    /// Parses [`GuideScale::name`]; an unknown name is an error listing the choices.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        Self::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .ok_or_else(|| ModelError::unknown_name("guide scale", s, "exp, softplus, exp-clamp"))
    }

    /// The scale from the encoder's head.
    ///
    /// # Shapes
    /// - head: `[batch, latent]`
    /// - output: `[batch, latent]`
    pub fn apply(self, head: Tensor<2>) -> Tensor<2> {
        match self {
            GuideScale::Exp => head.exp(),
            GuideScale::Softplus => softplus(head, 1.0),
            GuideScale::ExpClamp => head.clamp(Self::LOG_SCALE_MIN, Self::LOG_SCALE_MAX).exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lobes_ppl::prelude::{Distribution, Normal};

    /// The gradient of a reparameterised Normal draw's log-density with respect to the
    /// encoder's scale head, as `Trace_ELBO` takes it for the guide.
    fn head_gradient(scale: GuideScale, head: &[f32]) -> Vec<f32> {
        let dev = Device::flex().autodiff();
        let n = head.len();
        let h = Tensor::<1>::from_floats(head, &dev)
            .reshape([1, n])
            .require_grad();
        let loc = Tensor::<2>::full([1, n], 0.5, &dev);
        let q = Normal::new(loc, scale.apply(h.clone())).unwrap();
        lobes_ppl::rng::set_rng_seed(1);
        let z = q.rsample().unwrap();
        let grads = q.log_prob(&z).unwrap().sum().backward();
        let g: Tensor<2> = h.grad(&grads).unwrap();
        g.try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn an_exp_scale_that_underflows_gives_a_nan_gradient_and_exp_clamp_does_not() {
        // The long run's epoch 29 (docs/reproduction.md): one image's head reached -72 under
        // dropout; exp(-72)² underflows to 0 and the Normal's gradient is 0 / 0.
        let head = [-72.0, -3.0, 0.0, 8.1, 95.0];
        let exp = head_gradient(GuideScale::Exp, &head[..4]);
        assert!(exp[0].is_nan(), "{exp:?}");
        let clamped = head_gradient(GuideScale::ExpClamp, &head);
        assert!(clamped.iter().all(|g| g.is_finite()), "{clamped:?}");
        // Outside the bounds no gradient passes; inside, d/dh of (-ln σ) is -1, as with exp.
        assert_eq!(clamped[0], 0.0);
        assert_eq!(clamped[4], 0.0);
        for (c, e) in clamped[1..4].iter().zip(&exp[1..4]) {
            assert!((c - e).abs() < 1e-6 && (c + 1.0).abs() < 1e-5, "{c} vs {e}");
        }
    }

    #[test]
    fn exp_clamp_is_exp_inside_its_bounds() {
        let dev = Device::flex();
        let h =
            Tensor::<1>::from_floats([-20.0, -15.0, -2.5, 0.0, 10.0, 30.0], &dev).reshape([1, 6]);
        let v = |g: GuideScale| g.apply(h.clone()).try_into_vec_as::<f32>().unwrap();
        let (e, c) = (v(GuideScale::Exp), v(GuideScale::ExpClamp));
        assert_eq!(&c[1..5], &e[1..5]);
        assert_eq!(c[0], (GuideScale::LOG_SCALE_MIN as f32).exp());
        assert_eq!(c[5], (GuideScale::LOG_SCALE_MAX as f32).exp());
        for g in GuideScale::ALL {
            assert_eq!(GuideScale::parse(g.name()).unwrap(), g);
        }
    }
}
