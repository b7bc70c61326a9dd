//! Batches for the model and guide: pixels and one-hot classes as tensors, and images back
//! from decoded pixels.

use super::Batch;
use crate::data::{Class, Image, Sample};
use crate::error::ModelError;
use burn::prelude::*;

/// Refuses samples smaller than the network's `side` x `side` input (larger ones are
/// centre-cropped to it): the error names the image (its name, and for a pickle batch the
/// batch and position) and both sizes, and `model` (a checkpoint's path).
pub fn check_inputs(samples: &[Sample], side: usize, model: &str) -> Result<(), ModelError> {
    let Some(s) = samples.iter().find(|s| s.image.size < side) else {
        return Ok(());
    };
    let mut image = format!("image '{}'", s.name);
    if let (Some(b), Some(i)) = (s.meta.get("batch"), s.meta.get("index")) {
        image = format!("{b}: {image} (index {i})");
    }
    Err(ModelError::ImageTooSmall {
        image,
        side: s.image.size,
        input: side,
        model: Some(model.to_string()),
    })
}

/// The flattened central `crop` x `crop` of each sample and one-hot labels, as a batch.
pub fn batch_of(samples: &[&Sample], crop: usize, device: &Device) -> Batch {
    let mut px = Vec::with_capacity(samples.len() * crop * crop);
    for s in samples {
        px.extend_from_slice(&s.image.centre_crop(crop).pixels);
    }
    let labels: Vec<Class> = samples.iter().map(|s| s.label).collect();
    batch_from(&px, &labels, crop * crop, device)
}

/// A batch of `labels.len()` images of `pixels` values each (`px` holds them image by image)
/// with one-hot labels.
pub fn batch_from(px: &[f32], labels: &[Class], pixels: usize, device: &Device) -> Batch {
    Batch {
        x: Tensor::<1>::from_floats(px, device).reshape([labels.len(), pixels]),
        y: one_hot(labels, device),
        shard: None,
    }
}

/// The one-hot rows of `classes` (see [`Class::one_hot`]), `[n, 2]`.
pub fn one_hot(classes: &[Class], device: &Device) -> Tensor<2> {
    let y: Vec<f32> = classes.iter().flat_map(|c| c.one_hot()).collect();
    Tensor::<1>::from_floats(y.as_slice(), device).reshape([classes.len(), 2])
}

/// Square images of `side` x `side` from decoded pixels, image by image.
pub fn images_of(pixels: &[f32], side: usize) -> Vec<Image> {
    pixels
        .chunks(side * side)
        .map(|c| Image::new(side, c.to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_smaller_than_the_network_are_refused_naming_image_and_sizes() {
        let mut small = Sample {
            image: Image::new(64, vec![0.0; 64 * 64]),
            label: Class::FRI,
            name: "a.png".into(),
            meta: Default::default(),
        };
        let big = Sample {
            image: Image::new(150, vec![0.0; 150 * 150]),
            ..small.clone()
        };
        assert!(check_inputs(std::slice::from_ref(&big), 100, "m.safetensors").is_ok());
        let e = check_inputs(&[big.clone(), small.clone()], 100, "m.safetensors")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "image 'a.png' is 64x64, smaller than the 100x100 input of m.safetensors"
        );
        small.meta.insert("batch".into(), "test_batch".into());
        small.meta.insert("index".into(), "3".into());
        let e = check_inputs(&[small], 100, "m").unwrap_err().to_string();
        assert!(
            e.starts_with("test_batch: image 'a.png' (index 3) is 64x64"),
            "{e}"
        );
    }

    #[test]
    fn a_batch_holds_the_centre_crops_and_one_hot_labels() {
        let sample = |label, v| Sample {
            image: Image::new(4, vec![v; 16]),
            label,
            name: String::new(),
            meta: Default::default(),
        };
        let (a, b) = (sample(Class::FRI, 0.25), sample(Class::FRII, 0.5));
        let device = Device::default();
        let batch = batch_of(&[&a, &b], 2, &device);
        assert_eq!(batch.x.dims(), [2, 4]);
        let y: Vec<f32> = batch.y.try_into_vec_as::<f32>().unwrap();
        assert_eq!(y, vec![1.0, 0.0, 0.0, 1.0]);
        let x: Vec<f32> = batch.x.try_into_vec_as::<f32>().unwrap();
        let images = images_of(&x, 2);
        assert_eq!(images.len(), 2);
        assert_eq!(images[1].pixels, vec![0.5; 4]);
    }
}
