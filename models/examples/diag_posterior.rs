//! Throwaway: statistics of q(z|x) of a checkpoint over FRDEEP-F.
use lobes_models::data;
use lobes_models::generate::Generator;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut g = Generator::load(std::path::Path::new(&args[1])).unwrap();
    let ds = data::load_spec(&args[2]).unwrap();
    if args.len() > 5 {
        train_mode(
            &args[1],
            &ds,
            args[3].parse().unwrap(),
            args[4].parse().unwrap(),
            args[5].parse().unwrap(),
        );
        return;
    }
    if args.len() > 3 {
        replay(
            &mut g,
            &ds,
            args[3].parse().unwrap(),
            args[4].parse().unwrap(),
        );
        return;
    }
    let d = g.net.latent;
    for (name, set) in [("train", &ds.train), ("test", &ds.test)] {
        let (mut lo_min, mut lo_max, mut s_min, mut s_max) =
            (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        let mut tiny = 0usize;
        let mut per_dim_min = vec![f32::MAX; d];
        let mut per_dim_mean = vec![0f64; d];
        let mut worst = (f32::MAX, 0usize);
        for (ci, chunk) in set.chunks(100).enumerate() {
            let (loc, scale) = g.posterior(chunk).unwrap();
            for (i, (&l, &s)) in loc.iter().zip(&scale).enumerate() {
                lo_min = lo_min.min(l);
                lo_max = lo_max.max(l);
                s_min = s_min.min(s);
                s_max = s_max.max(s);
                if s < 1e-20 {
                    tiny += 1;
                }
                per_dim_min[i % d] = per_dim_min[i % d].min(s);
                per_dim_mean[i % d] += (s as f64).ln();
                if s < worst.0 {
                    worst = (s, ci * 100 + i / d);
                }
            }
        }
        let n = set.len() as f64;
        println!(
            "{name}: n {} loc [{lo_min}, {lo_max}] scale [{s_min:e}, {s_max:e}] tiny(<1e-20) {tiny} worst sample {:?}",
            set.len(),
            worst
        );
        for k in 0..d {
            println!(
                "  dim {k:2}: min scale {:e}  mean ln scale {:.2}",
                per_dim_min[k],
                per_dim_mean[k] / n
            );
        }
    }
}

#[allow(dead_code)]
pub fn replay(g: &mut Generator, ds: &data::DataSet, epoch: u64, index: usize) {
    use lobes_models::data::augment::{Augmented, Interp};
    use lobes_models::data::{Image, Sample};
    let mut aug = Augmented::new(&ds.train, 10.0, 100, Interp::Bilinear, epoch);
    let b = aug.epoch(100).nth(index).unwrap();
    let samples: Vec<Sample> = b
        .labels
        .iter()
        .enumerate()
        .map(|(i, &c)| Sample {
            image: Image::new(100, b.pixels[i * 10000..(i + 1) * 10000].to_vec()),
            label: c,
            name: format!("{}@{}", b.sources[i], b.angles[i]),
            meta: Default::default(),
        })
        .collect();
    let (loc, scale) = g.posterior(&samples).unwrap();
    let d = g.net.latent;
    for i in 0..samples.len() {
        let l = &loc[i * d..(i + 1) * d];
        let s = &scale[i * d..(i + 1) * d];
        let lmax = l.iter().fold(0f32, |a, &v| a.max(v.abs()));
        let smin = s.iter().fold(f32::MAX, |a, &v| a.min(v));
        let smax = s.iter().fold(0f32, |a, &v| a.max(v));
        let px = &b.pixels[i * 10000..(i + 1) * 10000];
        let (pmin, pmax) = px
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, c), &v| (a.min(v), c.max(v)));
        let sum: f32 = px.iter().sum();
        if lmax > 5.0 || smin < 1e-3 || smax > 2.0 || !sum.is_finite() {
            println!(
                "  SUSPECT {i} {}: max|loc| {lmax} scale [{smin:e}, {smax:e}] px [{pmin}, {pmax}] sum {sum}",
                samples[i].name
            );
        }
    }
    println!(
        "replayed epoch {epoch} batch {index}: {} images",
        samples.len()
    );
}

fn step_seed(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[allow(dead_code)]
pub fn train_mode(ckpt: &str, ds: &data::DataSet, epoch: u64, index: usize, step: u64) {
    use burn::prelude::*;
    use lobes_models::data::augment::{Augmented, Interp};
    use lobes_models::vae::VaeConfig;
    let dev = Device::default().autodiff();
    let mut store = lobes_models::ppl::ParamStore::load(std::path::Path::new(ckpt), &dev).unwrap();
    let template = VaeConfig::paper(32, false).init(&dev);
    let mut aug = Augmented::new(&ds.train, 10.0, 100, Interp::Bilinear, epoch);
    let b = aug.epoch(100).nth(index).unwrap();
    let x = Tensor::<1>::from_floats(b.pixels.as_slice(), &dev).reshape([100, 10000]);
    lobes_models::ppl::rng::set_rng_seed(step_seed(0, step));
    let (loc, scale) = lobes_models::ppl::with_param_store(&mut store, || {
        lobes_models::ppl::module("encoder", &template.encoder)
            .unwrap()
            .forward(x)
    });
    let loc: Vec<f32> = loc.try_into_vec_as::<f32>().unwrap();
    let scale: Vec<f32> = scale.try_into_vec_as::<f32>().unwrap();
    let mut n = 0;
    for i in 0..100 {
        let l = &loc[i * 32..(i + 1) * 32];
        let s = &scale[i * 32..(i + 1) * 32];
        let lmax = l.iter().fold(0f32, |a, &v| a.max(v.abs()));
        let smin = s.iter().fold(f32::MAX, |a, &v| a.min(v));
        let smax = s.iter().fold(0f32, |a, &v| a.max(v));
        if lmax > 5.0 || smin < 1e-3 || smax > 2.0 {
            n += 1;
            println!(
                "  SUSPECT {i} src {} angle {}: max|loc| {lmax} scale [{smin:e}, {smax:e}]",
                b.sources[i], b.angles[i]
            );
        }
    }
    println!("train-mode step seed {step}: {n} suspects");
}
