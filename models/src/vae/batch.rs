//! Batches for the model and guide: pixels and one-hot classes as tensors, and images back
//! from decoded pixels.

use super::Batch;
use crate::data::{Class, Image, Sample};
use burn::prelude::*;

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
