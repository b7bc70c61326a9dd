//! FRDEEP-F / FRDEEP-N (Tang, Scaife & Leahy 2019) and MiraBest batches: CIFAR-style pickles.

use super::pickle::{self, Value};
use super::{Class, DataError, DataSet, Image, Sample};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Reads one batch file into samples. Arrays may be flat (`size²` bytes, FRDEEP) or 2-D
/// (`size x size`, MiraBest); labels must be 0 or 1.
pub fn load_batch(path: &Path) -> Result<Vec<Sample>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let root = pickle::load(&bytes, path)?;
    let field = |k: &str| {
        root.get(k)
            .ok_or_else(|| DataError::format(path, format!("batch has no '{k}' entry")))
    };
    let Value::List(labels) = field("labels")? else {
        return Err(DataError::format(path, "'labels' is not a list"));
    };
    let data: Vec<Value> = match field("data")? {
        Value::List(d) => d.clone(),
        Value::Array { shape, dtype, data } if shape.len() == 2 => {
            // A CIFAR-style (N, pixels) matrix. The pickle reader checked that the bytes
            // match the shape; an (N, 0) matrix would make N empty rows out of no bytes.
            let n = shape[1];
            if n == 0 {
                return Err(DataError::format(
                    path,
                    format!("'data' is a {}x0 matrix: images of no pixels", shape[0]),
                ));
            }
            (0..shape[0])
                .map(|i| Value::Array {
                    shape: vec![n],
                    dtype: dtype.clone(),
                    data: std::rc::Rc::new(data[i * n..(i + 1) * n].to_vec()),
                })
                .collect()
        }
        _ => {
            return Err(DataError::format(
                path,
                "'data' is neither a list of arrays nor a matrix",
            ));
        }
    };
    if labels.is_empty() || data.is_empty() {
        return Err(DataError::format(path, "empty batch: no images"));
    }
    if labels.len() != data.len() {
        return Err(DataError::format(
            path,
            format!("{} labels for {} images", labels.len(), data.len()),
        ));
    }
    let names: Vec<String> = match root.get("filenames") {
        Some(Value::List(f)) => f
            .iter()
            .map(|v| match v {
                Value::Str(s) => s.clone(),
                _ => String::new(),
            })
            .collect(),
        _ => vec![],
    };
    let batch = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(data.len());
    for (i, (l, d)) in labels.iter().zip(&data).enumerate() {
        let label = match l {
            Value::Int(v) => Class::from_label(*v, path, i)?,
            other => {
                return Err(DataError::format(
                    path,
                    format!("label {i} is {}, not an integer", other.kind()),
                ));
            }
        };
        let Value::Array { shape, dtype, data } = d else {
            return Err(DataError::format(
                path,
                format!("image {i} is not a numpy array"),
            ));
        };
        if dtype.trim_start_matches('|') != "u1" {
            return Err(DataError::format(
                path,
                format!("image {i} has dtype {dtype}, expected uint8"),
            ));
        }
        let n = data.len();
        let size = (n as f64).sqrt().round() as usize;
        let square =
            size * size == n && (shape.len() == 1 || (shape.len() == 2 && shape[0] == shape[1]));
        if !square || size < 8 {
            return Err(DataError::Shape {
                path: path.display().to_string(),
                index: i,
                expected: "a square image (22500 = 150x150 for FRDEEP)".into(),
                got: format!("{n} (shape {shape:?})"),
            });
        }
        let pixels = data.iter().map(|&b| b as f32 / 255.0).collect();
        let mut meta = BTreeMap::new();
        meta.insert("batch".to_string(), batch.clone());
        meta.insert("index".to_string(), i.to_string());
        out.push(Sample {
            image: Image::new(size, pixels),
            label,
            name: names
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("{batch}_{i}")),
            meta,
        });
    }
    Ok(out)
}

fn batch_files(dir: &Path) -> Result<(Vec<PathBuf>, Option<PathBuf>), DataError> {
    let rd = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut train: Vec<(u32, PathBuf)> = vec![];
    let mut test = None;
    for e in rd {
        let p = e.map_err(|e| DataError::io(dir, e))?.path();
        let name = p
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(k) = name
            .strip_prefix("data_batch_")
            .and_then(|k| k.parse().ok())
        {
            train.push((k, p));
        } else if name == "test_batch" {
            test = Some(p);
        }
    }
    train.sort();
    Ok((train.into_iter().map(|(_, p)| p).collect(), test))
}

/// Loads a FRDEEP or MiraBest folder (`data_batch_1..`, `test_batch`, optional `batches.meta`),
/// keeping the data set's own train/test split. A downloaded folder with the data one level
/// down (`FIRST_PNG_dataset/`) is found too.
pub fn load_dir(dir: &Path) -> Result<DataSet, DataError> {
    load_dir_at(dir, 0)
}

fn load_dir_at(dir: &Path, level: usize) -> Result<DataSet, DataError> {
    let (train_files, test) = batch_files(dir)?;
    if train_files.is_empty() {
        // One level down only: a `FIRST_PNG_dataset` link back to its own folder must not
        // recurse.
        for sub in ["FIRST_PNG_dataset", "NVSS_PNG_dataset"] {
            if level == 0 && dir.join(sub).is_dir() {
                return load_dir_at(&dir.join(sub), level + 1);
            }
        }
        return Err(DataError::format(
            dir,
            "no data_batch_* files in this folder",
        ));
    }
    let meta = dir.join("batches.meta");
    if meta.exists() {
        let bytes = std::fs::read(&meta).map_err(|e| DataError::io(&meta, e))?;
        let m = pickle::load(&bytes, &meta)?;
        if let Some(Value::List(names)) = m.get("label_names") {
            let ok = names
                .iter()
                .all(|v| matches!(v, Value::Str(s) if Class::parse(s).is_some()));
            if !ok || names.len() != 2 {
                let shown: Vec<String> = names
                    .iter()
                    .take(4)
                    .map(|v| match v {
                        Value::Str(s) => format!("{:?}", s.chars().take(40).collect::<String>()),
                        other => other.kind().to_string(),
                    })
                    .collect();
                return Err(DataError::format(
                    &meta,
                    format!(
                        "label_names [{}{}] are not FRI, FRII",
                        shown.join(", "),
                        if names.len() > 4 { ", ..." } else { "" }
                    ),
                ));
            }
        }
    }
    let mut ds = DataSet {
        name: dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..Default::default()
    };
    for f in &train_files {
        ds.train.extend(load_batch(f)?);
    }
    if let Some(t) = test {
        ds.test = load_batch(&t)?;
    }
    check_one_size(dir, &ds)?;
    Ok(ds)
}

/// Every image of a folder's batches, training and test, must be of one size (the first
/// training image's): a `test_batch` of 64x64 arrays beside 150x150 training batches would
/// reach a network of another input. The error names the batch file, the image and both sizes.
fn check_one_size(dir: &Path, ds: &DataSet) -> Result<(), DataError> {
    let Some(first) = ds.train.first() else {
        return Ok(());
    };
    let n = first.image.size;
    let Some(s) = ds.train.iter().chain(&ds.test).find(|s| s.image.size != n) else {
        return Ok(());
    };
    let meta = |s: &Sample, k: &str| s.meta.get(k).cloned().unwrap_or_default();
    Err(DataError::format(
        &dir.join(meta(s, "batch")),
        format!(
            "image {} ('{}') is {2}x{2}, the images of {3} are {n}x{n}: a data set holds images \
             of one size",
            meta(s, "index"),
            s.name,
            s.image.size,
            meta(first, "batch")
        ),
    ))
}
