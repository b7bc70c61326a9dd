//! FRDEEP loaders against the real files in ../shared/data.

#[path = "support/mod.rs"]
mod common;

use lobes_models::data::{Class, frdeep, inspect};

#[test]
fn frdeep_f_counts_split_and_pixels() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let ds = frdeep::load_dir(&data.join("FRDEEP-F")).unwrap();
    let count =
        |s: &[lobes_models::data::Sample], c: Class| s.iter().filter(|x| x.label == c).count();
    assert_eq!(ds.train.len(), 550);
    assert_eq!(
        (count(&ds.train, Class::FRI), count(&ds.train, Class::FRII)),
        (242, 308)
    );
    assert_eq!(ds.test.len(), 50);
    assert_eq!(
        (count(&ds.test, Class::FRI), count(&ds.test, Class::FRII)),
        (22, 28)
    );
    assert!(ds.train.iter().all(|s| s.image.size == 150));
    // Pixel checksums: sums of the original uint8 arrays (computed with Python from the same
    // pickles: sum(data[i]) for a few images).
    let sum =
        |s: &lobes_models::data::Sample| s.image.to_u8().iter().map(|&b| b as u64).sum::<u64>();
    let first = &ds.train[0];
    assert_eq!(first.meta["batch"], "data_batch_1");
    assert_eq!(sum(first), include!("frdeep_checksums/train0.txt"));
    assert_eq!(
        sum(&ds.train[549]),
        include!("frdeep_checksums/train549.txt")
    );
    assert_eq!(sum(&ds.test[7]), include!("frdeep_checksums/test7.txt"));
    // Every batch holds 22 FRI then 28 FRII.
    assert!(ds.train[..22].iter().all(|s| s.label == Class::FRI));
    assert!(ds.train[22..50].iter().all(|s| s.label == Class::FRII));
}

#[test]
fn inspect_reports_the_blank_image_and_the_duplicate_pair() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let ds = frdeep::load_dir(&data.join("FRDEEP-F")).unwrap();
    let r = inspect::inspect(&ds);
    assert_eq!(r.blank.len(), 1, "{:?}", r.blank);
    assert!(
        r.blank[0].contains("data_batch_11") && r.blank[0].contains("index 9"),
        "{:?}",
        r.blank
    );
    assert_eq!(r.duplicates.len(), 1, "{:?}", r.duplicates);
    assert!(
        r.zero_fraction > 0.97 && r.zero_fraction < 0.995,
        "{}",
        r.zero_fraction
    );
    let text = r.to_string();
    assert!(
        text.contains("train") && text.contains("FRII") && text.contains("308"),
        "{text}"
    );
}

#[test]
fn frdeep_n_loads_too() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let ds = frdeep::load_dir(&data.join("FRDEEP-N")).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (550, 50));
}
