//! Pyro tutorials whose printed numbers lobes must reproduce, run from the examples that
//! port them (the model code exists once, in `examples/`).

/// burn's CPU generator is process-wide: tests that build networks take turns, so each draws
/// its own initial weights.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[path = "../examples/gmm.rs"]
#[allow(dead_code)]
mod gmm;

/// Pyro's GMM tutorial (`tutorial/source/gmm.ipynb`, Pyro 1.9.1) prints
/// `initial_loss = 25.665584564208984` at its chosen initialisation, then after 200 steps
/// `weights = [0.625 0.375]`, `locs = [10.984464 0.49901518]`, `scale = 0.6514337062835693`
/// and the MAP assignment `tensor([1, 1, 0, 0, 0])` (also for `temperature=1`).
#[test]
fn the_gaussian_mixture_tutorial_prints_pyros_numbers() {
    let _serial = serial();
    let f = gmm::fit(200).unwrap();
    let close = |got: f32, want: f64, tol: f64, what: &str| {
        assert!(
            (got as f64 - want).abs() < tol,
            "{what}: {got} vs Pyro's {want}"
        );
    };
    close(
        f.initial_loss as f32,
        25.665584564208984,
        1e-5,
        "initial loss",
    );
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

#[path = "../examples/ss_vae.rs"]
#[allow(dead_code)]
mod ss_vae;

/// Pyro's semi-supervised VAE (`examples/vae/ss_vae_M2.py`) with y enumerated in the guide:
/// the loss falls and q(y | x), trained from 40 labels (20 per class) and 560 unlabelled
/// stamps, classifies held-out synthetic FRI/FRII stamps (seed 0: 100% after 12 epochs).
#[test]
fn the_semi_supervised_vae_trains_with_the_class_enumerated() {
    let _serial = serial();
    let s = ss_vae::Settings {
        epochs: 12,
        ..Default::default()
    };
    let h = ss_vae::run(&s, 0).unwrap();
    assert!(
        h.loss.last().unwrap() < &(0.5 * h.loss[0]),
        "loss {:?}",
        h.loss
    );
    assert!(
        *h.accuracy.last().unwrap() > 0.75,
        "accuracy {:?}",
        h.accuracy
    );
}

/// The unlabelled batch's guide trace holds y enumerated: both classes, along dim -2.
#[test]
fn the_guide_enumerates_the_class_of_unlabelled_images() {
    let _serial = serial();
    use lobes::ppl::prelude::*;
    let dev = Device::default();
    let config = lobes::models::vae::VaeConfig {
        pixels: 16,
        hidden: vec![8],
        ..lobes::models::vae::VaeConfig::paper(2, true)
    };
    let nets = ss_vae::SsVae {
        cvae: config.init(&dev),
        encoder_y: ss_vae::EncoderY::new(16, 4, 2, &dev),
    };
    let batch = ss_vae::SsBatch {
        x: Tensor::<2>::full([3, 16], 0.5, &dev),
        y: None,
    };
    let (model_tr, guide_tr) = lobes::ppl::infer::get_enum_traces(
        &|b: &ss_vae::SsBatch| ss_vae::model(&nets, b),
        &|b: &ss_vae::SsBatch| config_enumerate_with(true, || ss_vae::guide(&nets, b)),
        &batch,
        1,
    )
    .unwrap();
    let y = guide_tr.get("y").unwrap();
    assert_eq!(y.infer.enum_dim, Some(-2));
    assert_eq!(y.value_shape(), vec![2, 3, 2]);
    assert_eq!(
        model_tr
            .get("x")
            .unwrap()
            .log_prob
            .as_ref()
            .unwrap()
            .shape(),
        &[2, 3]
    );
}

#[path = "../examples/hmm.rs"]
#[allow(dead_code)]
mod hmm;

/// Pyro's `examples/hmm.py` model 1 (Pyro 1.9.2, `scripts/hmm_reference.py`: the model
/// unchanged, on the synthetic chorales both sides build, from the same initial values)
/// prints the loss per observed step; every one of its 50 Adam steps is deterministic
/// (the hidden states are summed out, the guide is a point), so the two runs agree to float
/// rounding.
#[test]
fn the_hmm_example_prints_pyros_losses() {
    let fit = hmm::fit(50).unwrap();
    assert_eq!(fit.num_observations, 481);
    let pyro = [
        (0, 8.115327),
        (1, 7.964253),
        (9, 6.886153),
        (24, 5.278982),
        (49, 3.983450),
    ];
    for (step, want) in pyro {
        let got = fit.losses[step];
        assert!(
            (got - want).abs() < 2e-5 * want,
            "step {step}: {got} vs Pyro's {want}"
        );
    }
}
