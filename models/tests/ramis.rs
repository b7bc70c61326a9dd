//! The published RAMIS classifier on FRDEEP-F: accuracy and RAMIS of the real images.

#[path = "support/mod.rs"]
mod common;

use lobes_models::data::{Class, Image, frdeep};
use lobes_models::ramis::classifier::{Classifier, ramis};

#[test]
fn published_weights_give_the_published_accuracy_and_ramis() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let clf = Classifier::load(&data.join("ramis-classifier/hmt-frdeepf.safetensors")).unwrap();
    let ds = frdeep::load_dir(&data.join("FRDEEP-F")).unwrap();
    let test: Vec<Image> = ds.test.iter().map(|s| s.image.clone()).collect();
    let p = clf.probs(&test).unwrap();
    let correct = p
        .iter()
        .zip(&ds.test)
        .filter(|(p, s)| (if p[1] > p[0] { Class::FRII } else { Class::FRI }) == s.label)
        .count();
    let acc = correct as f64 / test.len() as f64;
    eprintln!("test accuracy {acc}");
    let train: Vec<Image> = ds.train.iter().map(|s| s.image.clone()).collect();
    let r = ramis(&clf.probs(&train).unwrap(), 1e-12);
    eprintln!("RAMIS of the training images {r}");
    assert!((acc - 0.86).abs() < 0.005, "accuracy {acc}");
    assert!((r - 1.40).abs() <= 0.01, "RAMIS {r}");
}

#[test]
fn ramis_is_one_for_a_single_confident_class_and_two_for_balanced_certainty() {
    assert!((ramis(&[[1.0, 0.0]; 10], 1e-12) - 1.0).abs() < 1e-9);
    let half: Vec<[f64; 2]> = (0..10)
        .map(|i| if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] })
        .collect();
    assert!((ramis(&half, 1e-12) - 2.0).abs() < 1e-6);
    assert!((ramis(&[[0.5, 0.5]; 4], 1e-12) - 1.0).abs() < 1e-9);
}

#[test]
fn blur_noise_and_blanking_lower_ramis_toward_one() {
    use lobes_models::ramis::degrade::{add_noise, blank_edges, gaussian_blur};
    let Some(data) = common::shared_data() else {
        return;
    };
    let clf = Classifier::load(&data.join("ramis-classifier/hmt-frdeepf.safetensors")).unwrap();
    let ds = frdeep::load_dir(&data.join("FRDEEP-F")).unwrap();
    let imgs: Vec<Image> = ds.test.iter().map(|s| s.image.clone()).collect();
    let score = |f: &dyn Fn(&Image, usize) -> Image| {
        let d: Vec<Image> = imgs.iter().enumerate().map(|(i, im)| f(im, i)).collect();
        ramis(&clf.probs(&d).unwrap(), 1e-12)
    };
    let blur: Vec<f64> = [1, 7, 15]
        .iter()
        .map(|&k| score(&|im, _| gaussian_blur(im, k).unwrap()))
        .collect();
    let blank: Vec<f64> = [0, 25, 50]
        .iter()
        .map(|&p| score(&|im, _| blank_edges(im, p)))
        .collect();
    let noise: Vec<f64> = [0.0, 0.002, 0.05]
        .iter()
        .map(|&a| score(&|im, i| add_noise(im, a, i as u64).unwrap()))
        .collect();
    for (what, v) in [("blur", &blur), ("blank", &blank), ("noise", &noise)] {
        assert!(v[0] > v[1] && v[1] > v[2], "{what}: {v:?} should fall");
        assert!(v[2] >= 1.0 && v[2] < 1.2, "{what}: {v:?} should approach 1");
    }
}
