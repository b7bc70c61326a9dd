//! Pyro tutorials whose printed numbers lobes must reproduce, run from the examples that
//! port them (the model code exists once, in `examples/`).

#[path = "../examples/gmm.rs"]
#[allow(dead_code)]
mod gmm;

/// Pyro's GMM tutorial (`tutorial/source/gmm.ipynb`, Pyro 1.9.1) prints
/// `initial_loss = 25.665584564208984` at its chosen initialisation, then after 200 steps
/// `weights = [0.625 0.375]`, `locs = [10.984464 0.49901518]`, `scale = 0.6514337062835693`
/// and the MAP assignment `tensor([1, 1, 0, 0, 0])` (also for `temperature=1`).
#[test]
fn the_gaussian_mixture_tutorial_prints_pyros_numbers() {
    let f = gmm::fit(200).unwrap();
    let close = |got: f32, want: f64, tol: f64, what: &str| {
        assert!((got as f64 - want).abs() < tol, "{what}: {got} vs Pyro's {want}");
    };
    close(f.initial_loss as f32, 25.665584564208984, 1e-5, "initial loss");
    close(f.weights[0], 0.625, 1e-6, "weights[0]");
    close(f.weights[1], 0.375, 1e-6, "weights[1]");
    close(f.locs[0], 10.984464, 1e-5, "locs[0]");
    close(f.locs[1], 0.49901518, 1e-4, "locs[1]");
    close(f.scale, 0.6514337062835693, 1e-6, "scale");
    assert_eq!(f.map_assignment, vec![1.0, 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(f.sampled_assignment, vec![1.0, 1.0, 0.0, 0.0, 0.0]);
    assert!(f.losses.last().unwrap() < &f.initial_loss);
    // The guide that enumerates the assignments learns near-certain memberships.
    let probs = gmm::fit_full_guide(f.store, 200).unwrap();
    for (i, p) in probs.chunks(gmm::K).enumerate() {
        let want = if i < 2 { 1 } else { 0 };
        assert!(p[want] > 0.99, "point {i}: assignment_probs {p:?}");
    }
}
