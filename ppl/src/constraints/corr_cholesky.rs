//! The bijection onto lower Cholesky factors of correlation matrices (Stan's and NumPyro's
//! `CorrCholeskyTransform`): `tanh` of the unconstrained strictly-lower entries gives partial
//! correlations in (-1, 1); stick-breaking along each row gives unit-norm rows with a
//! positive diagonal.
//!
//! The unconstrained value has the factor's own shape `[.., D, D]`; only its strictly-lower
//! entries are used. The others carry an independent standard Normal, whose log-density is
//! added to the log-Jacobian: a sampler or a guide then sees a proper density over every
//! coordinate, and the factor's distribution is unchanged.

use crate::tensor::DTensor;

/// Partial correlations are kept this far inside (-1, 1), as NumPyro clips them.
const EDGE: f64 = 1e-6;

/// The `[d, d]` mask of the strict lower triangle and of the diagonal.
fn masks(d: usize, like: &DTensor) -> (DTensor, DTensor) {
    let lower: Vec<f32> = (0..d * d).map(|k| f32::from(k / d > k % d)).collect();
    let diag: Vec<f32> = (0..d * d).map(|k| f32::from(k / d == k % d)).collect();
    let dev = like.device();
    (
        DTensor::from_floats(lower, &[d, d], &dev).expect("d * d values"),
        DTensor::from_floats(diag, &[d, d], &dev).expect("d * d values"),
    )
}

/// The one-hot row `[1, d]` that places a column at `j`.
fn at_column(j: usize, d: usize, like: &DTensor) -> DTensor {
    let v: Vec<f32> = (0..d).map(|k| f32::from(k == j)).collect();
    DTensor::from_floats(v, &[1, d], &like.device()).expect("d values")
}

fn col(t: &DTensor, j: usize) -> DTensor {
    t.index_select(-1, &[j]).expect("the column exists")
}

/// `L` and `log |dL/du|` laid out per entry (its sum over the last two dims is the log-det).
fn forward(u: &DTensor) -> (DTensor, DTensor) {
    let d = u.shape()[u.rank() - 1];
    let (lower, diag) = masks(d, u);
    // tanh(u) = 2 sigmoid(2u) - 1, kept off ±1.
    let y = ((u * 2.0).sigmoid() * 2.0 - 1.0).clamp(EDGE - 1.0, 1.0 - EDGE) * &lower;
    let mut remaining = col(&y, 0).ones_like();
    let mut l = u.zeros_like();
    let off = 1.0 - &lower;
    let mut logdet = (u.square() * -0.5 - 0.5 * (2.0 * std::f64::consts::PI).ln()) * &off;
    for j in 0..d {
        let (below, on, yj) = (col(&lower, j), col(&diag, j), col(&y, j));
        let z = remaining.sqrt();
        let place = at_column(j, d, u);
        // L_ij = y_ij sqrt(1 - Σ_{k<j} L_ik²) below the diagonal, L_jj = the rest of the row.
        let below_j = &below * &yj * &z;
        l = l + (&below_j + &on * &z) * &place;
        // dL_ij/du_ij = (1 - y_ij²) sqrt(remaining), triangular along the row.
        logdet = logdet + ((1.0 - yj.square()).log() + z.log()) * &below * &place;
        remaining = remaining - below_j.square();
    }
    (l, logdet)
}

/// Maps unconstrained values onto Cholesky factors of correlation matrices.
pub(crate) fn transform(u: &DTensor) -> DTensor {
    forward(u).0
}

/// `log |dL/du|` per entry, the unused entries' standard Normal included.
pub(crate) fn log_abs_det_jacobian(u: &DTensor) -> DTensor {
    forward(u).1
}

/// The inverse: `atanh` of the partial correlations on the strict lower triangle, zero
/// elsewhere.
pub(crate) fn inverse(l: &DTensor) -> DTensor {
    let d = l.shape()[l.rank() - 1];
    let (lower, _) = masks(d, l);
    let mut remaining = col(l, 0).ones_like();
    let mut u = l.zeros_like();
    for j in 0..d {
        let below = col(&lower, j);
        let lj = col(l, j) * &below;
        let y = (&lj / remaining.sqrt()).clamp(EDGE - 1.0, 1.0 - EDGE) * &below;
        u = u + y.atanh() * &below * at_column(j, d, l);
        remaining = remaining - lj.square();
    }
    u
}

/// Lower triangular, positive diagonal, rows of unit norm (within `1e-4`).
pub(crate) fn check(l: &DTensor) -> bool {
    let r = l.rank();
    if r < 2 || l.shape()[r - 1] != l.shape()[r - 2] {
        return false;
    }
    let d = l.shape()[r - 1];
    let (lower, diag) = masks(d, l);
    let upper_zero = (l * (1.0 - &lower - &diag)).all_eq(0.0);
    let diag_positive = (l * &diag).sum_rightmost(1).all_gt(0.0);
    let unit_rows = (l.square().sum_rightmost(1) - 1.0).abs().all_le(1e-4);
    upper_zero && diag_positive && unit_rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::Device;

    #[test]
    fn round_trip_and_unit_rows() {
        let d = Device::flex();
        let u = DTensor::from_floats(
            vec![9.0, 9.0, 9.0, 0.3, 9.0, 9.0, -1.2, 0.7, 9.0],
            &[3, 3],
            &d,
        )
        .unwrap();
        let l = transform(&u);
        assert!(check(&l), "{:?}", l.to_vec());
        let back = inverse(&l).to_vec();
        let want = [0.0, 0.0, 0.0, 0.3, 0.0, 0.0, -1.2, 0.7, 0.0];
        for (b, w) in back.iter().zip(want) {
            assert!((b - w).abs() < 1e-4, "{back:?}");
        }
    }
}
