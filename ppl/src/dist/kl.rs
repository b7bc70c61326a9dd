//! The KL-divergence registry: closed forms keyed by the pair of distribution types, as
//! `torch.distributions.kl`. Users may register their own pairs with [`register_kl`].

use super::{Categorical, DistError, Distribution, Independent, Normal, OneHotCategorical};
use crate::tensor::DTensor;
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
    let var_ratio = p.scale.div(&q.scale).square();
    let t1 = p.loc.sub(&q.loc).div(&q.scale).square();
    var_ratio
        .add(&t1)
        .sub(&var_ratio.log())
        .add_scalar(-1.0)
        .mul_scalar(0.5)
}

fn kl_categorical(p: &Categorical, q: &Categorical) -> DTensor {
    let lp = p.log_probs();
    lp.exp().mul(&lp.sub(&q.log_probs())).sum_rightmost(1)
}

/// `KL(p ‖ q)` of the batch shape, when a closed form is registered for the pair of types
/// (Normal–Normal, Categorical–Categorical, OneHotCategorical–OneHotCategorical,
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
        pa.downcast_ref::<Independent>(),
        qa.downcast_ref::<Independent>(),
    ) && p.reinterpreted == q.reinterpreted
    {
        return kl_divergence(&*p.base, &*q.base)
            .map(|r| r.map(|k| k.sum_rightmost(p.reinterpreted)));
    }
    None
}
