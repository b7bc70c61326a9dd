//! Training the paper's VAE/CVAE (tiny networks) on the synthetic population.

#[path = "support/mod.rs"]
mod common;

use lobes_models::data::synthetic::Synthetic;

use common::tiny;
use lobes_models::train::train_on;
use lobes_models::vae::ModelKind;

#[test]
fn a_tiny_vae_lowers_its_test_loss_by_30_percent_and_resumes_exactly() {
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(40, 8, 1);
    let out = common::tmp("vae");
    let rows = train_on(&tiny(ModelKind::Vae, out.clone(), 4), &ds).unwrap();
    let first = rows[0].test_loss.unwrap();
    let last = rows.last().unwrap().test_loss.unwrap();
    assert_eq!(rows[0].epoch, 0);
    assert!(last < 0.7 * first, "test loss {first} -> {last}");
    // The worst step of an epoch is at least its mean, and epoch 0 trains no step.
    assert_eq!(rows[0].max_step_loss, None);
    for r in &rows[1..] {
        let (max, mean) = (r.max_step_loss.unwrap(), r.train_loss.unwrap());
        assert!(
            max.is_finite() && max >= mean,
            "epoch {}: {max} < {mean}",
            r.epoch
        );
    }
    for f in [
        "metrics.csv",
        "loss.png",
        "samples.png",
        "checkpoint.safetensors",
        "checkpoints/epoch_0002.safetensors",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        csv.starts_with(
            "epoch,train_loss,test_loss,seconds,images_per_s,ramis,fri_percent,frii_percent,bad_steps,lr,kl_scale,val_loss,max_step_loss\n0,,"
        ),
        "{csv}"
    );

    // Stop after 2 epochs, resume to 4: the same numbers as the uninterrupted run.
    let out2 = common::tmp("vae-resume");
    train_on(&tiny(ModelKind::Vae, out2.clone(), 2), &ds).unwrap();
    let mut again = tiny(ModelKind::Vae, out2.clone(), 4);
    again.resume = true;
    let resumed = train_on(&again, &ds).unwrap();
    let tl = |r: &[lobes_models::train::EpochMetrics]| -> Vec<(Option<f64>, Option<f64>)> {
        r.iter().map(|m| (m.train_loss, m.test_loss)).collect()
    };
    assert_eq!(tl(&rows[3..]), tl(&resumed[3..]));
    assert_eq!(resumed.len(), 5);

    // A resumed run with another network is refused, naming the checkpoint.
    let mut other = tiny(ModelKind::Vae, out2, 5);
    other.resume = true;
    other.net.latent = 8;
    let e = train_on(&other, &ds).unwrap_err().to_string();
    assert!(e.contains("checkpoint.safetensors"), "{e}");
}

/// `kl_scale` (KL annealing) changes the training steps but never the test loss, which stays
/// the ELBO itself; the factor is recorded per epoch.
#[test]
fn kl_annealing_scales_training_and_not_the_test_loss() {
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(24, 8, 1);
    let plain = train_on(&tiny(ModelKind::Vae, common::tmp("kl-1"), 1), &ds).unwrap();
    let mut opts = tiny(ModelKind::Vae, common::tmp("kl-half"), 1);
    opts.kl_scale = 0.5;
    let annealed = train_on(&opts, &ds).unwrap();
    // Epoch 0 is the same untrained network: the same test loss whatever the factor.
    assert_eq!(plain[0].test_loss, annealed[0].test_loss);
    assert_eq!(annealed[1].kl_scale, Some(0.5));
    assert_eq!(plain[1].kl_scale, None);
    // The factor reaches the training steps (anneal.rs tests which sites it scales).
    assert_ne!(annealed[1].train_loss, plain[1].train_loss);
    let csv = std::fs::read_to_string(opts.out.join("metrics.csv")).unwrap();
    assert!(csv.lines().nth(2).unwrap().contains(",0.5,,"), "{csv}");
    opts.kl_scale = 0.0;
    let e = train_on(&opts, &ds).unwrap_err().to_string();
    assert!(e.contains("--kl-scale"), "{e}");
}

/// Trains `first` (a run stopped early), resumes it to the epochs of `rows` with the plain
/// options (so what the run needs comes from its checkpoint), and checks every epoch's losses
/// and `what` against `rows`, the uninterrupted run.
fn assert_resumes_exactly(
    rows: &[lobes_models::train::EpochMetrics],
    first: lobes_models::train::TrainOptions,
    ds: &lobes_models::data::DataSet,
    what: fn(&lobes_models::train::EpochMetrics) -> Option<f64>,
) {
    let out = first.out.clone();
    train_on(&first, ds).unwrap();
    let mut again = tiny(ModelKind::Vae, out, rows.len() - 1);
    again.resume = true;
    let resumed = train_on(&again, ds).unwrap();
    let key = |r: &[lobes_models::train::EpochMetrics]| -> Vec<_> {
        r.iter()
            .map(|m| (m.train_loss, m.test_loss, what(m)))
            .collect()
    };
    assert_eq!(key(rows), key(&resumed));
}

/// `kl_warmup`: β rises step by step over the first epochs (Pyro DMM's formula, anneal.rs
/// tests it per step), the metrics record each epoch's last β, and a run resumed inside the
/// warm-up continues the ramp exactly.
#[test]
fn a_kl_warm_up_ramps_per_epoch_and_resumes_exactly() {
    let _serial = common::serial();
    // 24 images x 4 angles in batches of 32: 3 steps per epoch.
    let ds = Synthetic::default().dataset(24, 8, 1);
    let warm = |out, epochs| {
        let mut o = tiny(ModelKind::Vae, out, epochs);
        o.kl_warmup = Some(3);
        o.kl_warmup_from = Some(0.1);
        o
    };
    let rows = train_on(&warm(common::tmp("warm"), 4), &ds).unwrap();
    let betas: Vec<f64> = rows[1..].iter().map(|r| r.kl_scale.unwrap()).collect();
    for (b, want) in betas.iter().zip([0.4, 0.7, 1.0, 1.0]) {
        assert!((b - want).abs() < 1e-12, "{betas:?}");
    }
    let plain = train_on(&tiny(ModelKind::Vae, common::tmp("warm-plain"), 1), &ds).unwrap();
    assert_eq!(plain[0].test_loss, rows[0].test_loss);
    assert_ne!(plain[1].train_loss, rows[1].train_loss);

    // Resumed without the warm-up options: the checkpoint's ramp goes on.
    assert_resumes_exactly(&rows, warm(common::tmp("warm-resume"), 1), &ds, |m| {
        m.kl_scale
    });

    for from in [1.5, f64::NAN, -0.1] {
        let mut bad = warm(common::tmp("warm-bad"), 1);
        bad.kl_warmup_from = Some(from);
        let e = train_on(&bad, &ds).unwrap_err().to_string();
        assert!(
            e.contains("--kl-warmup-from") && e.contains(&from.to_string()),
            "{e}"
        );
    }
    // A start without a warm-up would be ignored: refused.
    let mut alone = tiny(ModelKind::Vae, common::tmp("warm-alone"), 1);
    alone.kl_warmup_from = Some(0.1);
    let e = train_on(&alone, &ds).unwrap_err().to_string();
    assert!(e.contains("--kl-warmup-from needs a warm-up"), "{e}");
}

/// `lr_milestones`: the rate is multiplied by `lr_gamma` after each milestone epoch, recorded
/// per epoch, and a run resumed from the milestone's checkpoint (without the options: the
/// checkpoint's) decays once, exactly as the uninterrupted run.
#[test]
fn a_step_decay_lowers_the_rate_after_its_milestones_and_resumes_exactly() {
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(24, 8, 1);
    let decaying = |out, epochs| {
        let mut o = tiny(ModelKind::Vae, out, epochs);
        o.lr_milestones = Some(vec![2]);
        o.lr_gamma = Some(0.5);
        o
    };
    let rows = train_on(&decaying(common::tmp("decay"), 4), &ds).unwrap();
    let lrs: Vec<f64> = rows[1..].iter().map(|r| r.lr.unwrap()).collect();
    assert_eq!(lrs, [2e-3, 2e-3, 1e-3, 1e-3]);
    assert_resumes_exactly(&rows, decaying(common::tmp("decay-resume"), 2), &ds, |m| {
        m.lr
    });
    let mut bad = decaying(common::tmp("decay-bad"), 1);
    bad.lr_milestones = Some(vec![3, 2]);
    let e = train_on(&bad, &ds).unwrap_err().to_string();
    assert!(e.contains("--lr-milestones"), "{e}");
}

/// `scale` on resume: a different function takes over (the checkpoint then records it), and
/// leaving it out keeps the checkpoint's.
#[test]
fn a_resumed_run_keeps_its_guide_scale_unless_told_another() {
    use lobes_models::vae::GuideScale;
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(40, 8, 1);
    let scale_of = |out: &std::path::Path| {
        let (_, meta) = lobes_ppl::io::load_tensors(
            &out.join("checkpoint.safetensors"),
            &burn::prelude::Device::flex(),
        )
        .unwrap();
        meta.get("lobes.scale").cloned()
    };
    let out = common::tmp("vae-rescale");
    let mut o = tiny(ModelKind::Vae, out.clone(), 1);
    o.scale = Some(GuideScale::Softplus);
    train_on(&o, &ds).unwrap();
    assert_eq!(scale_of(&out).as_deref(), Some("softplus"));

    // Resumed without a scale: still softplus (not the paper's exp, the default of new runs).
    let mut again = tiny(ModelKind::Vae, out.clone(), 2);
    again.resume = true;
    train_on(&again, &ds).unwrap();
    assert_eq!(scale_of(&out).as_deref(), Some("softplus"));

    // Resumed with exp-clamp: it takes over; the run goes on with finite losses.
    let mut clamp = tiny(ModelKind::Vae, out.clone(), 3);
    clamp.resume = true;
    clamp.scale = Some(GuideScale::ExpClamp);
    let rows = train_on(&clamp, &ds).unwrap();
    assert_eq!(scale_of(&out).as_deref(), Some("exp-clamp"));
    assert_eq!(rows.len(), 4);
    assert!(rows[3].test_loss.unwrap().is_finite());

    // A generator loaded from it uses the checkpoint's function.
    let g = lobes_models::generate::Generator::load(&out.join("checkpoint.safetensors")).unwrap();
    assert_eq!(g.net.scale, GuideScale::ExpClamp);
}

/// Every likelihood and every prior trains the same tiny network (the test loss falls and stays
/// finite), is recorded in the checkpoint, and generates from a loaded checkpoint, a learnable
/// prior with its trained parameters.
#[test]
fn every_likelihood_and_prior_trains_checkpoints_and_generates() {
    use lobes_models::generate::{Generator, Sampling};
    use lobes_models::vae::{Likelihood, Prior};
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(40, 8, 1);
    let combos = Likelihood::ALL.iter().map(|&l| (l, Prior::Normal)).chain(
        Prior::ALL
            .iter()
            .skip(1)
            .map(|&p| (Likelihood::Bernoulli, p)),
    );
    for (likelihood, prior) in combos {
        let what = format!("{} / {}", likelihood.name(), prior.name());
        let out = common::tmp(&format!("lik-{}-{}", likelihood.name(), prior.name()));
        // p(z | y) needs the classes: the CVAE.
        let kind = if prior == Prior::ClassNormal {
            ModelKind::Cvae
        } else {
            ModelKind::Vae
        };
        let mut o = tiny(kind, out.clone(), 3);
        o.net.likelihood = likelihood;
        o.net.prior = prior;
        let rows = train_on(&o, &ds).unwrap_or_else(|e| panic!("{what}: {e}"));
        let (first, last) = (rows[0].test_loss.unwrap(), rows[3].test_loss.unwrap());
        assert!(
            last.is_finite() && last < first,
            "{what}: {first} -> {last}"
        );
        let ckpt = out.join("checkpoint.safetensors");
        let mut g = Generator::load(&ckpt).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!((g.net.likelihood, g.net.prior), (likelihood, prior));
        let imgs = g.generate(3, None, Sampling::Prior, 1).unwrap();
        assert!(imgs.iter().all(|i| i.pixels.iter().all(|v| v.is_finite())));
        // The model's own parameters are in the checkpoint, trained away from their start.
        let store = lobes_ppl::ParamStore::load(&ckpt, &burn::prelude::Device::flex()).unwrap();
        for name in o.net.model_param_names() {
            assert!(store.contains(name), "{what}: {name} missing");
        }
        if prior == Prior::Mixture {
            // Exported (parameters only), the constrained prior parameters come back the same.
            let model = out.join("model.safetensors");
            lobes_models::export::export(&ckpt, &model).unwrap();
            let (_, back) = Generator::read(&model).unwrap();
            for name in o.net.model_param_names() {
                assert_eq!(
                    back.entry(name).unwrap().constraint,
                    store.entry(name).unwrap().constraint,
                    "{name}"
                );
                assert_eq!(
                    back.get(name).unwrap().to_vec(),
                    store.get(name).unwrap().to_vec()
                );
            }
            let scales = store.get("prior.scales").unwrap().to_vec();
            assert_eq!(scales.len(), Prior::COMPONENTS * 4);
            assert!(
                scales.iter().any(|&s| s != 1.0),
                "{what}: prior never trained"
            );
            // Prior draws differ with the seed and repeat with it.
            let a = g.latents(5, Sampling::Prior, 7).unwrap();
            assert_eq!(a, g.latents(5, Sampling::Prior, 7).unwrap());
            assert_ne!(a, g.latents(5, Sampling::Prior, 8).unwrap());
            // The draw leaves the PPL's generator where it was (training's stream).
            lobes_ppl::rng::set_rng_seed(11);
            let undisturbed = lobes_ppl::rng::next_seed();
            lobes_ppl::rng::set_rng_seed(11);
            g.latents(5, Sampling::Prior, 7).unwrap();
            assert_eq!(lobes_ppl::rng::next_seed(), undisturbed);
        }
        // Resuming with another likelihood is refused, naming the checkpoint.
        if prior == Prior::ClassNormal {
            // Each class's prior trained away from N(0, I), and draws of one class come from it.
            let locs = store.get("prior.class_locs").unwrap().to_vec();
            assert_eq!(locs.len(), 2 * 4);
            assert!(
                locs.iter().any(|&m| m != 0.0),
                "{what}: prior never trained"
            );
            let fri = g.latents_of(
                2000,
                Some(lobes_models::data::Class::FRI),
                Sampling::Prior,
                3,
            );
            let fri = fri.unwrap();
            let mean0 = fri.iter().step_by(4).sum::<f32>() / 2000.0;
            assert!(
                (mean0 - locs[0]).abs() < 0.1,
                "{what}: {mean0} vs {}",
                locs[0]
            );
            let mut vae = tiny(ModelKind::Vae, common::tmp("class-normal-vae"), 1);
            vae.net.prior = prior;
            let e = train_on(&vae, &ds).unwrap_err().to_string();
            assert!(
                e.contains("--prior class-normal") && e.contains("cvae"),
                "{e}"
            );
        }
        let mut other = tiny(kind, out, 4);
        other.resume = true;
        other.net.prior = prior;
        other.net.likelihood = if likelihood == Likelihood::Beta {
            Likelihood::Bernoulli
        } else {
            Likelihood::Beta
        };
        let e = train_on(&other, &ds).unwrap_err().to_string();
        assert!(e.contains("checkpoint.safetensors"), "{what}: {e}");
    }
}

/// The parameter names of a Table-2 network (five hidden layers) as checkpoints hold them:
/// checkpoints written by earlier versions load only while these stay the same.
#[test]
fn the_table_2_networks_parameter_names_are_pinned() {
    use lobes_models::vae::VaeConfig;
    let cfg = VaeConfig {
        pixels: 16,
        hidden: vec![8, 7, 6, 5, 4],
        ..VaeConfig::paper(3, false)
    };
    let vae = cfg.init(&burn::prelude::Device::flex());
    let mut store = lobes_ppl::ParamStore::new();
    lobes_ppl::with_param_store(&mut store, || {
        lobes_ppl::module("encoder", &vae.encoder).unwrap();
        lobes_ppl::module("decoder", &vae.decoder).unwrap();
    });
    let mut names: Vec<&str> = store.names().iter().map(|s| s.as_str()).collect();
    names.sort();
    let layer = |p: &str| [format!("{p}.bias"), format!("{p}.weight")];
    let mut want: Vec<String> = [
        "encoder.first",
        "encoder.loc",
        "encoder.scale",
        "decoder.out",
    ]
    .iter()
    .chain(&[
        "encoder.layers.0",
        "encoder.layers.1",
        "encoder.layers.2",
        "encoder.layers.3",
    ])
    .chain(&["decoder.layers.0", "decoder.layers.1", "decoder.layers.2"])
    .chain(&["decoder.layers.3", "decoder.layers.4"])
    .flat_map(|p| layer(p))
    .collect();
    want.sort();
    assert_eq!(names, want);
}

/// `--precision bf16` (AMX products, f32 everything else) trains the same tiny network, with
/// ragged widths, to test losses within 1% of f32's, and the checkpoint records it. Skips, saying
/// so, on a CPU without AMX.
#[test]
fn bf16_products_train_within_one_percent_of_f32() {
    use lobes_models::kernels::amx;
    use lobes_models::kernels::precision::{Precision, set_matmul_precision};
    let _serial = common::serial();
    if !amx::available() {
        eprintln!("skipping: this CPU has no AMX bf16, so --precision bf16 runs f32 products");
        return;
    }
    let ds = Synthetic::default().dataset(40, 8, 1);
    let run = |p: Precision, name: &str| {
        let out = common::tmp(name);
        let mut o = tiny(ModelKind::Vae, out.clone(), 3);
        o.net.hidden = vec![70, 33];
        let before = set_matmul_precision(p);
        let rows = train_on(&o, &ds);
        set_matmul_precision(before);
        (rows.unwrap(), out)
    };
    let (f32_rows, _) = run(Precision::F32, "prec-f32");
    let (bf16_rows, out) = run(Precision::Bf16, "prec-bf16");
    for (a, b) in f32_rows.iter().zip(&bf16_rows) {
        let (a, b) = (a.test_loss.unwrap(), b.test_loss.unwrap());
        assert!((a - b).abs() <= 0.01 * a, "test loss f32 {a}, bf16 {b}");
    }
    assert_ne!(
        f32_rows.last().unwrap().train_loss,
        bf16_rows.last().unwrap().train_loss,
        "bf16 ran the same arithmetic as f32"
    );
    let (meta, _) =
        lobes_models::generate::Generator::read(&out.join("checkpoint.safetensors")).unwrap();
    assert_eq!(
        meta.extra.get("precision").map(String::as_str),
        Some("bf16")
    );
}

/// Free bits and reflections (departures from the paper, issue 26): each changes the training
/// steps but not epoch 0's test loss, the checkpoint records both, a run resumed without the
/// options goes on with them exactly, and a bad floor or a mixture prior is refused.
#[test]
fn free_bits_and_reflections_are_recorded_and_resume_exactly() {
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(24, 8, 1);
    let plain = train_on(&tiny(ModelKind::Vae, common::tmp("fb-plain"), 1), &ds).unwrap();
    let beyond = |out, epochs, free_bits: Option<f64>, reflect| {
        let mut o = tiny(ModelKind::Vae, out, epochs);
        o.free_bits = free_bits;
        o.reflect = reflect;
        o
    };
    for (free_bits, reflect) in [(Some(2.0), false), (None, true)] {
        let rows = train_on(&beyond(common::tmp("fb-one"), 1, free_bits, reflect), &ds).unwrap();
        assert_eq!(plain[0].test_loss, rows[0].test_loss);
        assert_ne!(
            plain[1].train_loss, rows[1].train_loss,
            "{free_bits:?} {reflect}"
        );
    }
    let out = common::tmp("fb");
    let rows = train_on(&beyond(out.clone(), 3, Some(2.0), true), &ds).unwrap();
    let (_, meta) = lobes_ppl::io::load_tensors(
        &out.join("checkpoint.safetensors"),
        &burn::prelude::Device::flex(),
    )
    .unwrap();
    assert_eq!(meta.get("lobes.free_bits").map(String::as_str), Some("2"));
    assert_eq!(meta.get("lobes.reflect").map(String::as_str), Some("true"));
    assert_resumes_exactly(
        &rows,
        beyond(common::tmp("fb-resume"), 1, Some(2.0), true),
        &ds,
        |_| None,
    );

    for f in [f64::NAN, -0.5] {
        let e = train_on(&beyond(common::tmp("fb-bad"), 1, Some(f), false), &ds)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--free-bits"), "{e}");
    }
    let mut mixture = beyond(common::tmp("fb-mixture"), 1, Some(1.0), false);
    mixture.net.prior = lobes_models::vae::Prior::Mixture;
    let e = train_on(&mixture, &ds).unwrap_err().to_string();
    assert!(e.contains("--free-bits") && e.contains("--prior"), "{e}");
}

/// `iwae`: the steps train on the importance-weighted bound (K = 3), the validation and test
/// losses stay the ELBO (the same number the checkpoint gives `lobes evaluate`), the checkpoint
/// records it and a resumed run goes on with it, exactly; one particle or free bits beside it
/// are refused.
#[test]
fn an_iwae_run_trains_on_the_bound_and_reports_the_elbo() {
    use lobes_models::generate::Generator;
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(24, 8, 1);
    let plain = train_on(&tiny(ModelKind::Vae, common::tmp("iwae-plain"), 1), &ds).unwrap();
    let iwae = |out, epochs, k| {
        let mut o = tiny(ModelKind::Vae, out, epochs);
        o.iwae = Some(k);
        o
    };
    let out = common::tmp("iwae");
    let rows = train_on(&iwae(out.clone(), 2, 3), &ds).unwrap();
    assert_eq!(plain[0].test_loss, rows[0].test_loss);
    // Trained on the bound, which lies above the ELBO: the first epoch's train loss is lower.
    assert!(rows[1].train_loss.unwrap() < plain[1].train_loss.unwrap());
    let ckpt = out.join("checkpoint.safetensors");
    let (_, meta) = lobes_ppl::io::load_tensors(&ckpt, &burn::prelude::Device::flex()).unwrap();
    assert_eq!(meta.get("lobes.iwae").map(String::as_str), Some("3"));
    let mut g = Generator::load(&ckpt).unwrap();
    let elbo = g.test_loss(&ds.test, 32, false, 0x7e57_1055).unwrap();
    let logged = rows[2].test_loss.unwrap();
    assert!(
        (elbo - logged).abs() < 1e-3 * elbo.abs(),
        "{elbo} vs {logged}"
    );
    assert_resumes_exactly(&rows, iwae(common::tmp("iwae-resume"), 1, 3), &ds, |_| None);

    let e = train_on(&iwae(common::tmp("iwae-one"), 1, 1), &ds)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--iwae"), "{e}");
    let mut both = iwae(common::tmp("iwae-fb"), 1, 3);
    both.free_bits = Some(0.5);
    let e = train_on(&both, &ds).unwrap_err().to_string();
    assert!(e.contains("--iwae") && e.contains("--free-bits"), "{e}");
    // A free-bits run resumed with --iwae: the floor comes from the checkpoint, refused too.
    let fb = common::tmp("iwae-after-fb");
    let mut first = tiny(ModelKind::Vae, fb.clone(), 1);
    first.free_bits = Some(0.5);
    train_on(&first, &ds).unwrap();
    let mut later = iwae(fb, 2, 3);
    later.resume = true;
    let e = train_on(&later, &ds).unwrap_err().to_string();
    assert!(
        e.contains("checkpoint.safetensors") && e.contains("free-bits"),
        "{e}"
    );
}
