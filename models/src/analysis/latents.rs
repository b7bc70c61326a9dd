//! Which latent dimensions a trained VAE or CVAE uses, over a set of images: the encoder's
//! posterior per image ([`Generator::posterior`]), summarised per dimension by
//! [`vae::activity`](crate::vae::activity) (Burda et al.'s active units).

use crate::data::Sample;
use crate::error::ModelError;
use crate::generate::Generator;
use crate::vae::{DimActivity, activity};
use std::path::Path;

/// Images encoded at once.
const CHUNK: usize = 100;

/// The activity of every latent dimension of `generator`'s encoder over `samples`: an error
/// for no samples, or for an image smaller than the network's input
/// ([`Generator::check_inputs`]), before any is encoded.
pub fn latent_activity(
    generator: &mut Generator,
    samples: &[Sample],
) -> Result<Vec<DimActivity>, ModelError> {
    generator.check_inputs(samples)?;
    let (mut loc, mut scale) = (vec![], vec![]);
    for chunk in samples.chunks(CHUNK) {
        let (l, s) = generator.posterior(chunk)?;
        loc.extend(l);
        scale.extend(s);
    }
    Ok(activity(&loc, &scale, generator.net.latent))
}

/// `dim,activity,mean_scale,kl,active`, one row per dimension, written atomically.
pub fn write_activity_csv(path: &Path, dims: &[DimActivity]) -> Result<(), ModelError> {
    let mut csv = String::from("dim,activity,mean_scale,kl,active\n");
    for d in dims {
        csv.push_str(&format!(
            "{},{:.6e},{:.6},{:.6},{}\n",
            d.dim,
            d.activity,
            d.mean_scale,
            d.kl,
            d.is_active()
        ));
    }
    lobes_ppl::io::write_atomic(path, csv.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::Synthetic;
    use crate::vae::{ModelKind, VaeConfig};
    use burn::prelude::Device;

    #[test]
    fn every_dimension_is_reported_and_the_csv_has_a_row_each() {
        let net = VaeConfig {
            pixels: 10_000,
            hidden: vec![8],
            ..VaeConfig::paper(3, false)
        };
        let store = lobes_ppl::ParamStore::new();
        let mut g = Generator::with_template(
            ModelKind::Vae,
            net.clone(),
            store,
            net.init(&Device::flex()),
        );
        let ds = Synthetic::default().dataset(3, 1, 0);
        let dims = latent_activity(&mut g, &ds.train).unwrap();
        assert_eq!(dims.len(), 3);
        assert!(
            dims.iter()
                .all(|d| d.activity.is_finite() && d.mean_scale > 0.0)
        );
        let dir = std::env::temp_dir().join(format!("lobes-latents-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("latents.csv");
        write_activity_csv(&f, &dims).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.starts_with("dim,activity,mean_scale,kl,active\n0,"));
        let bad = dir.join("no/such/folder/latents.csv");
        let e = write_activity_csv(&bad, &dims).unwrap_err().to_string();
        assert!(e.contains("latents.csv"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
