//! A strided f32 matrix view, and the f32 product of two (the `gemm` crate, burn's CPU GEMM):
//! what the layers' weight gradient and the bf16 products ([`crate::kernels::amx`]) read.

/// A strided f32 matrix: element `(r, c)` at `data[r · rs + c · cs]`.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Step between rows.
    pub rs: usize,
    /// Step between columns.
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major `[rows, cols]` matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> View<'a> {
        assert_eq!(data.len(), rows * cols, "a [{rows}, {cols}] matrix");
        View {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> View<'a> {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    #[cfg(test)]
    pub(crate) fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }
}

/// `a b` (`[m, k] × [k, n]`) in f32 through the `gemm` crate (burn's CPU GEMM), the views'
/// strides passed as they are: a transposed operand costs no copy. The result is written once,
/// into a new buffer (no zero fill first). Panics when the inner sizes differ.
pub fn f32_matmul(a: View, b: View) -> Vec<f32> {
    let mut c: Vec<f32> = Vec::with_capacity(a.rows * b.cols);
    f32_matmul_into(a, b, &mut c.spare_capacity_mut()[..a.rows * b.cols]);
    // SAFETY: `f32_matmul_into` wrote every one of the rows · cols elements.
    unsafe { c.set_len(a.rows * b.cols) };
    c
}

/// [`f32_matmul`] into the caller's `[m, n]` row-major buffer `c` (every element written,
/// nothing read), on all cores. Panics when the inner sizes differ or `c` is not `m · n` long.
pub fn f32_matmul_into(a: View, b: View, c: &mut [std::mem::MaybeUninit<f32>]) {
    assert_eq!(
        a.cols, b.rows,
        "[{}, {}] x [{}, {}]",
        a.rows, a.cols, b.rows, b.cols
    );
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(c.len(), m * n, "a [{m}, {n}] result");
    // SAFETY: `c` holds the [m, n] row-major result and gemm writes every element
    // (`read_dst` false: dst = 1 · lhs · rhs, nothing read); the views' elements (r, c) at
    // r · rs + c · cs are inside their slices (`View`'s invariant).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr().cast::<f32>(),
            1,
            n as isize,
            false,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}
