//! [`Value`]: what a pickle decodes to.

use std::rc::Rc;

/// A value decoded from a pickle.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A text string (also numpy `str_` scalars).
    Str(String),
    /// A bytes object.
    Bytes(Rc<Vec<u8>>),
    /// A list.
    List(Vec<Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A dict, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A reference to one of the allowed globals.
    Global(&'static str),
    /// A numpy dtype, by its type string (`u1`, `U15`, ...).
    Dtype(String),
    /// A numpy array: shape, dtype string, raw little-endian bytes.
    Array {
        /// The shape.
        shape: Vec<usize>,
        /// The dtype string.
        dtype: String,
        /// Raw data.
        data: Rc<Vec<u8>>,
    },
    /// An array created by `_reconstruct`, not yet given its state by BUILD.
    EmptyArray,
}

/// The deepest nesting of lists, tuples and dicts a pickle may build (FRDEEP needs 3).
pub const MAX_DEPTH: usize = 64;

/// Values (plus string bytes) that memo PUT/GET may copy, beyond one per byte of the file.
pub(super) const COPY_BUDGET: usize = 1 << 20;

impl Value {
    /// A one-word description of the value, for error messages (never the whole value).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float(_) => "a float",
            Value::Str(_) => "a str",
            Value::Bytes(_) => "a bytes object",
            Value::List(_) => "a list",
            Value::Tuple(_) => "a tuple",
            Value::Dict(_) => "a dict",
            Value::Global(g) => g,
            Value::Dtype(_) => "a numpy dtype",
            Value::Array { .. } => "a numpy array",
            Value::EmptyArray => "an unbuilt numpy array",
        }
    }

    /// The nesting depth: 0 for a scalar, 1 for a flat list, ...
    pub(super) fn depth(&self) -> usize {
        match self {
            Value::List(v) | Value::Tuple(v) => 1 + v.iter().map(Value::depth).max().unwrap_or(0),
            Value::Dict(v) => {
                1 + v
                    .iter()
                    .map(|(k, v)| k.depth().max(v.depth()))
                    .max()
                    .unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// What copying the value costs: one per value plus the bytes of its strings (bytes and
    /// array data are shared, not copied). Stops counting once past `limit`.
    pub(super) fn cost(&self, limit: usize) -> usize {
        let mut total = 0usize;
        let mut todo = vec![self];
        while let Some(v) = todo.pop() {
            total += 1;
            match v {
                Value::Str(s) | Value::Dtype(s) => total += s.len(),
                Value::Array { shape, dtype, .. } => total += shape.len() + dtype.len(),
                Value::List(l) | Value::Tuple(l) => todo.extend(l.iter()),
                Value::Dict(d) => todo.extend(d.iter().flat_map(|(k, v)| [k, v])),
                _ => {}
            }
            if total > limit {
                break;
            }
        }
        total
    }

    /// Looks a string key up in a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}
