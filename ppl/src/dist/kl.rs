//! The KL-divergence registry: closed forms keyed by the pair of distribution types, as
//! `torch.distributions.kl`. Users may register their own pairs with [`register_kl`].

use super::multivariate_normal::solve_lower;
use super::special::digamma;
use super::{
    Beta, Categorical, Cauchy, Dirichlet, DistError, Distribution, Exponential, Gamma, HalfNormal,
    Independent, MultivariateNormal, Normal, OneHotCategorical, Poisson,
};
use crate::shape::broadcast_shapes;
use crate::tensor::DTensor;
use burn::prelude::Tensor;
use std::any::{Any, TypeId};
use std::sync::RwLock;

type KlFn = fn(&dyn Any, &dyn Any) -> Result<DTensor, DistError>;

static USER_RULES: RwLock<Vec<(TypeId, TypeId, KlFn)>> = RwLock::new(Vec::new());

/// Registers a closed-form `KL(p ‖ q)` for distributions of types `P` and `Q`. `f` receives
/// them as `&dyn Any`, already known to be `P` and `Q`. Later registrations win.
pub fn register_kl<P: 'static, Q: 'static>(f: KlFn) {
    USER_RULES.write().unwrap_or_else(|e| e.into_inner()).push((
        TypeId::of::<P>(),
        TypeId::of::<Q>(),
        f,
    ));
}

fn kl_normal_normal(p: &Normal, q: &Normal) -> DTensor {
    // ln(σq/σp) + (σp² + (μp-μq)²) / (2σq²) - 1/2
    let var_ratio = (&p.scale / &q.scale).square();
    let t1 = ((&p.loc - &q.loc) / &q.scale).square();
    (&var_ratio + t1 - var_ratio.log() - 1.0) * 0.5
}

fn kl_categorical(p: &Categorical, q: &Categorical) -> DTensor {
    let lp = p.log_probs();
    (lp.exp() * (&lp - q.log_probs())).sum_rightmost(1)
}

fn kl_exponential(p: &Exponential, q: &Exponential) -> DTensor {
    // ln(λp/λq) + λq/λp - 1
    let ratio = &q.rate / &p.rate;
    &ratio - ratio.log() - 1.0
}

fn kl_poisson(p: &Poisson, q: &Poisson) -> DTensor {
    // λp ln(λp/λq) - (λp - λq), with 0 ln 0 = 0
    let t = (&p.rate * (p.rate.log() - q.rate.log())).where_zero(&p.rate, 0.0);
    t - (&p.rate - &q.rate)
}

fn kl_half_normal(p: &HalfNormal, q: &HalfNormal) -> DTensor {
    // ln(σq/σp) + (σp²/σq² - 1) / 2
    let var_ratio = (&p.scale / &q.scale).square();
    (&var_ratio - var_ratio.log() - 1.0) * 0.5
}

fn kl_cauchy(p: &Cauchy, q: &Cauchy) -> DTensor {
    // ln((σp + σq)² + (μp - μq)²) - ln(4 σp σq)
    let num = (&p.scale + &q.scale).square() + (&p.loc - &q.loc).square();
    num.log() - (&p.scale * &q.scale * 4.0).log()
}

fn kl_gamma(p: &Gamma, q: &Gamma) -> DTensor {
    // αq ln(βp/βq) + ln Γ(αq) - ln Γ(αp) + (αp - αq) ψ(αp) + (βq - βp) αp/βp
    let (ap, bp, aq, bq) = (&p.concentration, &p.rate, &q.concentration, &q.rate);
    aq * (bp.log() - bq.log())
        + (aq.lgamma() - ap.lgamma())
        + (ap - aq) * digamma(ap)
        + (bq - bp) * (ap / bp)
}

fn kl_beta(p: &Beta, q: &Beta) -> DTensor {
    // ln B(αq, βq) - ln B(αp, βp) + (αp - αq) ψ(αp) + (βp - βq) ψ(βp)
    //   + (αq + βq - αp - βp) ψ(αp + βp)
    let (ap, bp, aq, bq) = (
        &p.concentration1,
        &p.concentration0,
        &q.concentration1,
        &q.concentration0,
    );
    let (sp, sq) = (ap + bp, aq + bq);
    let lbeta = |a: &DTensor, b: &DTensor, s: &DTensor| a.lgamma() + b.lgamma() - s.lgamma();
    lbeta(aq, bq, &sq) - lbeta(ap, bp, &sp)
        + (ap - aq) * digamma(ap)
        + (bp - bq) * digamma(bp)
        + (&sq - &sp) * digamma(&sp)
}

fn kl_dirichlet(p: &Dirichlet, q: &Dirichlet) -> DTensor {
    // ln Γ(Σαp) - ln Γ(Σαq) - Σ (ln Γ(αp) - ln Γ(αq)) + Σ (αp - αq)(ψ(αp) - ψ(Σαp))
    let (ap, aq) = (&p.concentration, &q.concentration);
    let sp = ap.sum_dim_keep(ap.rank() - 1);
    let sq = aq.sum_dim_keep(aq.rank() - 1);
    let norm = (sp.lgamma() - sq.lgamma()).sum_rightmost(1);
    let lg = (ap.lgamma() - aq.lgamma()).sum_rightmost(1);
    let cross = ((ap - aq) * (digamma(ap) - digamma(&sp))).sum_rightmost(1);
    norm - lg + cross
}

fn kl_mvn(p: &MultivariateNormal, q: &MultivariateNormal) -> Result<DTensor, DistError> {
    // Σ ln diag Lq - Σ ln diag Lp + (‖Lq⁻¹ Lp‖²_F + ‖Lq⁻¹ (μq - μp)‖² - D) / 2
    let d = p.dim;
    if q.dim != d {
        return Err(DistError::ParamShapes {
            dist: "MultivariateNormal",
            source: crate::shape::ShapeError::Broadcast {
                a: vec![d].into(),
                b: vec![q.dim].into(),
            },
        });
    }
    let batch = broadcast_shapes(&p.batch_shape(), &q.batch_shape())?;
    let b: usize = batch.iter().product();
    let mat = |t: &DTensor| -> Result<Tensor<3>, DistError> {
        Ok(t.expand(&[&batch[..], &[d, d]].concat())?
            .reshape(&[b, d, d])?
            .to_tensor()?)
    };
    let (lp, lq) = (mat(&p.scale_tril)?, mat(&q.scale_tril)?);
    // Every column of Lp against Lq: D right-hand sides per batch element.
    let lq_rep = lq
        .clone()
        .unsqueeze_dim::<4>(1)
        .expand([b, d, d, d])
        .reshape([b * d, d, d]);
    let cols = lp.swap_dims(1, 2).reshape([b * d, d]);
    let m = solve_lower(lq_rep, cols)
        .square()
        .reshape([b, d * d])
        .sum_dim(1);
    let diff: Tensor<2> = (&q.loc - &p.loc)
        .expand(&[&batch[..], &[d]].concat())?
        .reshape(&[b, d])?
        .to_tensor()?;
    let maha = solve_lower(lq, diff).square().sum_dim(1);
    let quad = DTensor::from_tensor(m + maha).reshape(&batch)?;
    let log_det = q.diag().log().sum_rightmost(1) - p.diag().log().sum_rightmost(1);
    Ok((quad - d as f64) * 0.5 + log_det)
}

/// `KL(p ‖ q)` of the batch shape, when a closed form is registered for the pair of types
/// (Normal–Normal, Categorical–Categorical, OneHotCategorical–OneHotCategorical,
/// MultivariateNormal–MultivariateNormal, Exponential–Exponential, Poisson–Poisson,
/// HalfNormal–HalfNormal, Cauchy–Cauchy, Gamma–Gamma, Beta–Beta, Dirichlet–Dirichlet,
/// Independent–Independent over a registered pair, and user rules). `None` otherwise.
pub fn kl_divergence(
    p: &dyn Distribution,
    q: &dyn Distribution,
) -> Option<Result<DTensor, DistError>> {
    let (pa, qa) = (p.as_any(), q.as_any());
    let rules = USER_RULES.read().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, f)) = rules
        .iter()
        .rev()
        .find(|(a, b, _)| *a == pa.type_id() && *b == qa.type_id())
    {
        return Some(f(pa, qa));
    }
    drop(rules);
    if let (Some(p), Some(q)) = (pa.downcast_ref::<Normal>(), qa.downcast_ref::<Normal>()) {
        return Some(Ok(kl_normal_normal(p, q)));
    }
    if let (Some(p), Some(q)) = (
        pa.downcast_ref::<Categorical>(),
        qa.downcast_ref::<Categorical>(),
    ) {
        return Some(Ok(kl_categorical(p, q)));
    }
    if let (Some(p), Some(q)) = (
        pa.downcast_ref::<OneHotCategorical>(),
        qa.downcast_ref::<OneHotCategorical>(),
    ) {
        return Some(Ok(kl_categorical(&p.base, &q.base)));
    }
    if let (Some(p), Some(q)) = (
        pa.downcast_ref::<MultivariateNormal>(),
        qa.downcast_ref::<MultivariateNormal>(),
    ) {
        return Some(kl_mvn(p, q));
    }
    if let (Some(p), Some(q)) = (
        pa.downcast_ref::<Exponential>(),
        qa.downcast_ref::<Exponential>(),
    ) {
        return Some(Ok(kl_exponential(p, q)));
    }
    if let (Some(p), Some(q)) = (pa.downcast_ref::<Poisson>(), qa.downcast_ref::<Poisson>()) {
        return Some(Ok(kl_poisson(p, q)));
    }
    if let (Some(p), Some(q)) = (
        pa.downcast_ref::<HalfNormal>(),
        qa.downcast_ref::<HalfNormal>(),
    ) {
        return Some(Ok(kl_half_normal(p, q)));
    }
    if let (Some(p), Some(q)) = (pa.downcast_ref::<Cauchy>(), qa.downcast_ref::<Cauchy>()) {
        return Some(Ok(kl_cauchy(p, q)));
    }
    if let (Some(p), Some(q)) = (pa.downcast_ref::<Gamma>(), qa.downcast_ref::<Gamma>()) {
        return Some(Ok(kl_gamma(p, q)));
    }
    if let (Some(p), Some(q)) = (pa.downcast_ref::<Beta>(), qa.downcast_ref::<Beta>()) {
        return Some(Ok(kl_beta(p, q)));
    }
    if let (Some(p), Some(q)) = (
        pa.downcast_ref::<Dirichlet>(),
        qa.downcast_ref::<Dirichlet>(),
    ) {
        return Some(Ok(kl_dirichlet(p, q)));
    }
    if let (Some(p), Some(q)) = (
        pa.downcast_ref::<Independent>(),
        qa.downcast_ref::<Independent>(),
    ) && p.reinterpreted == q.reinterpreted
    {
        return kl_divergence(&*p.base, &*q.base)
            .map(|r| r.map(|k| k.sum_rightmost(p.reinterpreted)));
    }
    None
}
