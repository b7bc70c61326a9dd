//! numpy's reconstruction calls inside a pickle (`_reconstruct`, `dtype`, `scalar`, an
//! array's `__setstate__`), turned into [`Value`]s without running anything.

use super::{Reader, Value};
use crate::data::DataError;

pub(super) fn reduce(f: Value, args: Value, r: &Reader) -> Result<Value, DataError> {
    let Value::Tuple(args) = args else {
        return Err(r.err("REDUCE arguments are not a tuple"));
    };
    match f {
        Value::Global("_reconstruct") => Ok(Value::EmptyArray),
        Value::Global("dtype") => match args.first() {
            Some(Value::Str(s)) => Ok(Value::Dtype(s.clone())),
            _ => Err(r.err("dtype() without a type string")),
        },
        Value::Global("scalar") => match (args.first(), args.get(1)) {
            (Some(Value::Dtype(dt)), Some(Value::Bytes(b))) if dt.starts_with('U') => {
                let s: String = b
                    .chunks_exact(4)
                    .filter_map(|c| char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .filter(|&c| c != '\0')
                    .collect();
                Ok(Value::Str(s))
            }
            (Some(Value::Dtype(dt)), Some(Value::Bytes(b))) => match (dt.as_str(), b.len()) {
                ("u1", 1) => Ok(Value::Int(b[0] as i64)),
                ("i8", 8) | ("<i8", 8) => Ok(Value::Int(i64::from_le_bytes(
                    b[..8].try_into().expect("8"),
                ))),
                _ => Err(r.err(format!("numpy scalar of dtype '{dt}' is not supported"))),
            },
            _ => Err(r.err("malformed numpy scalar")),
        },
        other => Err(r.err(format!("REDUCE of {} is not allowed", other.kind()))),
    }
}

fn itemsize(dtype: &str) -> Option<usize> {
    match dtype.trim_start_matches(['<', '|', '=']) {
        "u1" | "i1" | "b1" => Some(1),
        "f4" | "i4" | "u4" => Some(4),
        "f8" | "i8" | "u8" => Some(8),
        _ => None,
    }
}

pub(super) fn build(obj: Value, state: Value, r: &Reader) -> Result<Value, DataError> {
    match obj {
        // A dtype's state (byte order, sizes) is not needed: only little-endian and byte types
        // are read.
        Value::Dtype(d) => Ok(Value::Dtype(d)),
        Value::EmptyArray => {
            let Value::Tuple(s) = state else {
                return Err(r.err("array state is not a tuple"));
            };
            let (shape, dtype, data) = match s.as_slice() {
                [_, Value::Tuple(shape), Value::Dtype(dt), _, Value::Bytes(b)] => (shape, dt, b),
                _ => {
                    return Err(r.err("array state is not (version, shape, dtype, fortran, bytes)"));
                }
            };
            if shape.len() > 32 {
                return Err(r.err(format!(
                    "array shape has {} dimensions (numpy allows at most 32)",
                    shape.len()
                )));
            }
            let shape = shape
                .iter()
                .map(|v| match v {
                    Value::Int(n) if *n >= 0 => Ok(*n as usize),
                    Value::Int(n) => Err(r.err(format!("array shape holds a negative size {n}"))),
                    other => Err(r.err(format!(
                        "array shape holds {}, not an integer",
                        other.kind()
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let size = itemsize(dtype)
                .ok_or_else(|| r.err(format!("array dtype '{dtype}' is not supported")))?;
            let want = shape
                .iter()
                .try_fold(size, |a, &d| a.checked_mul(d))
                .ok_or_else(|| {
                    r.err(format!(
                        "array shape {shape:?} of dtype {dtype} overflows (more bytes than \
                         any file holds)"
                    ))
                })?;
            if data.len() != want {
                return Err(r.err(format!(
                    "array of shape {shape:?} and dtype {dtype} needs {want} bytes, has {}",
                    data.len()
                )));
            }
            Ok(Value::Array {
                shape,
                dtype: dtype.clone(),
                data: data.clone(),
            })
        }
        other => Err(r.err(format!("BUILD on {} is not allowed", other.kind()))),
    }
}
