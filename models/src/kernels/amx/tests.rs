//! The packing and the products against sums in f64 and f32.

use super::*;

#[test]
fn bf16_rounds_to_nearest_even() {
    assert_eq!(bf16(1.0), 0x3f80);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even 1.0.
    assert_eq!(bf16(1.0 + 1.0 / 256.0), 0x3f80);
    assert_eq!(bf16(1.0 + 3.0 / 512.0), 0x3f81);
    assert_eq!(f32_of(bf16(-2.5)), -2.5);
    assert!(f32_of(bf16(f32::NAN)).is_nan());
    assert_eq!(f32_of(bf16(f32::INFINITY)), f32::INFINITY);
}

#[test]
fn packing_puts_each_element_where_the_tiles_read_it() {
    // The packing is AVX-512 code that runs only where the AMX path does.
    if !available() {
        eprintln!("skipping: this CPU has no AMX bf16 (or Linux refused its tile state)");
        return;
    }
    let (m, k, n) = (19, 37, 21);
    let av: Vec<f32> = (0..m * k).map(|i| i as f32).collect();
    let bv: Vec<f32> = (0..k * n).map(|i| i as f32).collect();
    let (a, b) = (View::rows(&av, m, k), View::rows(&bv, k, n));
    let halves = |p: Vec<u32>| -> Vec<u16> {
        p.iter()
            .flat_map(|w| [*w as u16, (w >> 16) as u16])
            .collect()
    };
    let (pa, pb) = (halves(pack_a(a)), halves(pack_b(b)));
    let kt = up32(k) / 32;
    for i in 0..up32(m) {
        for t in 0..up32(k) {
            let want = if i < m && t < k { bf16(a.at(i, t)) } else { 0 };
            let at = ((i / 16) * kt + t / 32) * 512 + (i % 16) * 32 + t % 32;
            assert_eq!(pa[at], want, "A ({i}, {t})");
        }
    }
    // The transposed view packs the same tiles as its row-major copy.
    let bt: Vec<f32> = (0..n * k).map(|i| bv[(i % k) * n + i / k]).collect();
    assert_eq!(halves(pack_b(View::rows(&bt, n, k).t())), pb);
    let at: Vec<f32> = (0..k * m).map(|i| av[(i % m) * k + i / m]).collect();
    assert_eq!(halves(pack_a(View::rows(&at, k, m).t())), pa);
    for t in 0..up32(k) {
        for j in 0..up32(n) {
            let want = if t < k && j < n { bf16(b.at(t, j)) } else { 0 };
            let at = ((j / 16) * kt + t / 32) * 512 + ((t % 32) / 2) * 32 + (j % 16) * 2 + t % 2;
            assert_eq!(pb[at], want, "B ({t}, {j})");
        }
    }
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// The product of `[m, k] × [k, n]` (`b` transposed when `bt`) against the same
/// bf16-rounded operands summed in f64 (f32 accumulation order only), and against the f32
/// product (bf16's rounding: at most 2^-8 of Σ|a||b| per entry), on `samples` entries.
fn check(m: usize, k: usize, n: usize, bt: bool, samples: usize) {
    let (av, bv) = (values(m * k, 1), values(k * n, 2));
    let a = View::rows(&av, m, k);
    let b = if bt {
        View::rows(&bv, n, k).t()
    } else {
        View::rows(&bv, k, n)
    };
    let c = matmul(a, b);
    assert_eq!(c.len(), m * n);
    let mut x = 12345usize;
    for s in 0..samples.min(m * n) {
        let at = if samples >= m * n {
            s
        } else {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 17) % (m * n)
        };
        let (i, j) = (at / n, at % n);
        let (mut exact, mut f32sum, mut size) = (0f64, 0f64, 0f64);
        for t in 0..k {
            let (p, q) = (a.at(i, t), b.at(t, j));
            exact += f32_of(bf16(p)) as f64 * f32_of(bf16(q)) as f64;
            f32sum += p as f64 * q as f64;
            size += (p as f64 * q as f64).abs();
        }
        let got = c[at] as f64;
        assert!(
            (got - exact).abs() <= 1e-5 * size + 1e-30,
            "[{m}, {k}] x [{k}, {n}] ({i}, {j}): {got} against {exact} (summed |ab| {size})"
        );
        assert!(
            (got - f32sum).abs() <= size / 128.0,
            "[{m}, {k}] x [{k}, {n}] ({i}, {j}): {got} against f32 {f32sum}"
        );
    }
}

#[test]
fn products_match_f32_within_bf16_rounding_at_ragged_and_network_shapes() {
    if !available() {
        eprintln!("skipping: this CPU has no AMX bf16 (or Linux refused its tile state)");
        return;
    }
    // Ragged: nothing a multiple of 16 or 32, a depth below one tile, one row.
    for (m, k, n) in [
        (1, 1, 1),
        (7, 5, 3),
        (19, 37, 21),
        (33, 65, 47),
        (100, 31, 130),
    ] {
        check(m, k, n, false, usize::MAX);
        check(m, k, n, true, usize::MAX);
    }
    // The Table-2 decoder's last layer at batch 100: forward, input gradient (Wᵀ read row
    // by row) and weight gradient (xᵀ dy, depth 100), sampled.
    check(100, 4096, 1500, false, 3000);
    check(100, 1500, 4096, true, 3000);
    check(512, 100, 1500, false, 3000);
}
