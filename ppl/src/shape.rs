//! Shapes: broadcasting rules and the `[100, 32]` notation used in every error message.

use std::fmt;

/// A shape printed the way Pyro prints one: `[100, 32]`, `[]` for a scalar.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Dims(pub Vec<usize>);

impl fmt::Display for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl From<&[usize]> for Dims {
    fn from(s: &[usize]) -> Self {
        Dims(s.to_vec())
    }
}

impl From<Vec<usize>> for Dims {
    fn from(s: Vec<usize>) -> Self {
        Dims(s)
    }
}

/// Errors about tensor shapes, independent of any site.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    /// Two shapes that numpy's broadcasting rules cannot combine.
    #[error("shapes {a} and {b} do not broadcast")]
    Broadcast {
        /// The first shape.
        a: Dims,
        /// The second shape.
        b: Dims,
    },
    /// A shape with more dimensions than [`crate::MAX_RANK`].
    #[error("shape {shape} has {} dims; lobes tensors hold at most {max}", shape.0.len())]
    TooManyDims {
        /// The offending shape.
        shape: Dims,
        /// The largest rank supported.
        max: usize,
    },
    /// A tensor asked for at a fixed rank that its shape does not have.
    #[error("expected a rank-{expected} tensor, found shape {shape}")]
    Rank {
        /// The rank asked for.
        expected: usize,
        /// The shape the tensor has.
        shape: Dims,
    },
    /// A buffer whose length is not the product of the shape.
    #[error("{len} values cannot fill shape {shape} ({} elements)", shape.0.iter().product::<usize>())]
    Numel {
        /// The shape asked for.
        shape: Dims,
        /// The number of values given.
        len: usize,
    },
    /// An index past the end of a dim, or a dim the shape does not have.
    #[error("index {index} is out of range for dim {dim} of shape {shape}")]
    Index {
        /// The index asked for.
        index: usize,
        /// The dim (negative, counted from the right).
        dim: isize,
        /// The shape indexed.
        shape: Dims,
    },
    /// A reshape between shapes with different element counts.
    #[error("cannot reshape {from} into {to}")]
    Reshape {
        /// The shape before.
        from: Dims,
        /// The shape asked for.
        to: Dims,
    },
}

/// The shape that `a` and `b` broadcast to (numpy rules: align on the right, a 1 stretches).
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ShapeError> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() {
            1
        } else {
            a[i - (n - a.len())]
        };
        let db = if i < n - b.len() {
            1
        } else {
            b[i - (n - b.len())]
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(ShapeError::Broadcast {
                a: a.into(),
                b: b.into(),
            });
        };
    }
    Ok(out)
}

/// Whether `from` can be broadcast (stretched, never shrunk) to exactly `to`.
pub fn can_expand(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shapes(&[], &[2, 5]).unwrap(), vec![2, 5]);
        assert_eq!(
            broadcast_shapes(&[2, 1, 5], &[7, 1]).unwrap(),
            vec![2, 7, 5]
        );
        let e = broadcast_shapes(&[100, 32], &[100, 16]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shapes [100, 32] and [100, 16] do not broadcast"
        );
    }

    #[test]
    fn expand_only_stretches_ones() {
        assert!(can_expand(&[1, 3], &[4, 3]));
        assert!(can_expand(&[3], &[2, 3]));
        assert!(!can_expand(&[2, 3], &[3]));
        assert!(!can_expand(&[2], &[3]));
    }
}
