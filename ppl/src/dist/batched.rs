//! The skeleton most distributions share: parameters that broadcast to one batch shape.
//!
//! [`batched_params!`] declares the struct (each parameter a public [`DTensor`] field, plus the
//! batch shape), `from_params` (checking that the shapes broadcast) and `expanded` (every
//! parameter expanded to a larger batch); [`batched_boilerplate!`], inside `impl Distribution`,
//! adds `name`, `batch_shape`, `expand_batch` and `as_any`. A distribution file then holds only
//! its formulas:
//!
//! ```ignore
//! batched_params! {
//!     /// Gumbel(loc, scale).
//!     Gumbel { /// Location. loc, /// Scale (> 0). scale }
//! }
//! impl Distribution for Gumbel {
//!     batched_boilerplate!(Gumbel);
//!     fn sample(&self) -> DTensor { .. }
//!     fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> { .. }
//! }
//! ```

/// See the [module documentation](self).
macro_rules! batched_params {
    ($(#[$meta:meta])* $name:ident { $($(#[$pmeta:meta])* $param:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name {
            $($(#[$pmeta])* pub $param: $crate::tensor::DTensor,)+
            batch: Vec<usize>,
        }

        impl $name {
            fn from_params($($param: $crate::tensor::DTensor),+) -> Result<Self, $crate::dist::DistError> {
                let batch = $crate::dist::broadcast_params(stringify!($name), &[$(&$param),+])?;
                Ok($name { $($param,)+ batch })
            }

            fn expanded(&self, batch: &[usize]) -> Result<Self, $crate::dist::DistError> {
                $crate::dist::check_expand(self, batch)?;
                Self::from_params($(self.$param.expand(batch)?),+)
            }
        }
    };
}

/// See the [module documentation](self).
macro_rules! batched_boilerplate {
    ($name:ident) => {
        fn name(&self) -> String {
            stringify!($name).into()
        }
        fn batch_shape(&self) -> Vec<usize> {
            self.batch.clone()
        }
        fn expand_batch(
            &self,
            batch: &[usize],
        ) -> Result<std::sync::Arc<dyn $crate::dist::Distribution>, $crate::dist::DistError> {
            Ok(std::sync::Arc::new(self.expanded(batch)?))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    };
}

pub(crate) use {batched_boilerplate, batched_params};
