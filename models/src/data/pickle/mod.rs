//! A pickle reader that treats the file as data: it understands the opcodes of protocol <= 3
//! that CIFAR-style batches use, numpy arrays through `_reconstruct` / `dtype` / `scalar`, and
//! refuses everything else. Nothing in the file is ever executed.
//!
//! The file is also untrusted as to size: every length it declares (BINUNICODE, BINBYTES,
//! LONG1, array shapes) is checked against the bytes that remain or against overflow before
//! anything is allocated; values copied through the memo are charged to a budget (so a few
//! bytes that double a list forty times are refused, not expanded); and nesting is limited
//! to [`MAX_DEPTH`] levels, so dropping or printing a value never overflows the stack.

mod numpy;
mod value;

use value::COPY_BUDGET;
pub use value::{MAX_DEPTH, Value};

use super::DataError;
use numpy::{build, reduce};
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

/// The only globals a pickle may name (module, name, what it becomes): numpy's array,
/// dtype and scalar reconstruction, under numpy 1 and numpy 2 module names. Anything else
/// (`os.system`, `builtins.eval`, ...) is refused before it is looked at further.
pub const ALLOWED: [(&str, &str, &str); 6] = [
    ("numpy.core.multiarray", "_reconstruct", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct", "_reconstruct"),
    ("numpy.core.multiarray", "scalar", "scalar"),
    ("numpy._core.multiarray", "scalar", "scalar"),
    ("numpy", "ndarray", "ndarray"),
    ("numpy", "dtype", "dtype"),
];

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
    /// What memo copies may still cost.
    budget: usize,
}

fn allowed_global(module: &str, name: &str) -> Option<&'static str> {
    ALLOWED
        .iter()
        .find(|(m, n, _)| *m == module && *n == name)
        .map(|(_, _, id)| *id)
}

impl<'a> Reader<'a> {
    fn err(&self, reason: impl Into<String>) -> DataError {
        DataError::format(self.path, format!("pickle: {}", reason.into()))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DataError> {
        if self.buf.len() - self.pos < n {
            return Err(self.err(format!(
                "truncated: needs {n} more bytes at byte {} of {}",
                self.pos,
                self.buf.len()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// `n` bytes declared by the field `what` (e.g. `BINUNICODE length`) of the opcode at
    /// `at`: refused, naming the field, when the file does not hold them.
    fn take_len(&mut self, n: usize, what: &str, at: usize) -> Result<&'a [u8], DataError> {
        let left = self.buf.len() - self.pos;
        if n > left {
            return Err(self.err(format!(
                "truncated: {what} {n} at byte {at} is larger than the {left} bytes left in the file"
            )));
        }
        self.take(n)
    }
    /// Charges a memo copy of `v` to the budget.
    fn charge(&mut self, v: &Value, op: &str, at: usize) -> Result<(), DataError> {
        let c = v.cost(self.budget);
        if c > self.budget {
            return Err(self.err(format!(
                "{op} at byte {at} copies more values than the file could hold \
                 (a memo expansion bomb?)"
            )));
        }
        self.budget -= c;
        Ok(())
    }
    /// Refuses to put `items` into a container if that nests deeper than [`MAX_DEPTH`].
    fn nest<'v>(
        &self,
        items: impl IntoIterator<Item = &'v Value>,
        at: usize,
    ) -> Result<(), DataError> {
        if items.into_iter().any(|v| v.depth() + 1 > MAX_DEPTH) {
            return Err(self.err(format!(
                "containers at byte {at} nest deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }
    fn u8(&mut self) -> Result<u8, DataError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DataError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, DataError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn line(&mut self) -> Result<String, DataError> {
        let rest = &self.buf[self.pos..];
        let n = rest
            .iter()
            .position(|&c| c == b'\n')
            .ok_or_else(|| self.err("truncated: unterminated GLOBAL name"))?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }
}

/// Decodes a pickle from `bytes`; `path` names the file in errors.
pub fn load(bytes: &[u8], path: &Path) -> Result<Value, DataError> {
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        path,
        budget: COPY_BUDGET.saturating_add(bytes.len()),
    };
    let mut stack: Vec<Value> = vec![];
    let mut marks: Vec<usize> = vec![];
    let mut memo: HashMap<u32, Value> = HashMap::new();
    let pop =
        |stack: &mut Vec<Value>, r: &Reader| stack.pop().ok_or_else(|| r.err("stack underflow"));
    let pop_mark = |stack: &mut Vec<Value>,
                    marks: &mut Vec<usize>,
                    r: &Reader|
     -> Result<Vec<Value>, DataError> {
        let m = marks.pop().ok_or_else(|| r.err("MARK missing"))?;
        if m > stack.len() {
            return Err(r.err("MARK beyond the stack"));
        }
        Ok(stack.split_off(m))
    };
    loop {
        let at = r.pos;
        let op = r.u8()?;
        match op {
            0x80 => {
                let v = r.u8()?;
                if v > 3 {
                    return Err(r.err(format!("protocol {v} is not supported (only <= 3)")));
                }
            }
            b'.' => return stack.pop().ok_or_else(|| r.err("empty stack at STOP")),
            b'}' => stack.push(Value::Dict(vec![])),
            b']' => stack.push(Value::List(vec![])),
            b')' => stack.push(Value::Tuple(vec![])),
            b'(' => marks.push(stack.len()),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'K' => stack.push(Value::Int(r.u8()? as i64)),
            b'M' => stack.push(Value::Int(r.u16()? as i64)),
            b'J' => stack.push(Value::Int(r.u32()? as i32 as i64)),
            0x8a => {
                let n = r.u8()? as usize;
                if n > 8 {
                    return Err(r.err(format!(
                        "LONG1 length {n} at byte {at} is too large (at most 8 bytes)"
                    )));
                }
                let b = r.take_len(n, "LONG1 length", at)?;
                let mut v: i64 = 0;
                for (i, &byte) in b.iter().enumerate() {
                    v |= (byte as i64) << (8 * i);
                }
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                stack.push(Value::Int(v));
            }
            b'G' => {
                let b = r.take(8)?;
                stack.push(Value::Float(f64::from_be_bytes(
                    b.try_into().expect("8 bytes"),
                )));
            }
            b'X' => {
                let n = r.u32()? as usize;
                let s = std::str::from_utf8(r.take_len(n, "BINUNICODE length", at)?)
                    .map_err(|_| r.err(format!("BINUNICODE at byte {at} is not UTF-8")))?;
                stack.push(Value::Str(s.to_string()));
            }
            b'T' | b'U' => {
                let (n, what) = if op == b'T' {
                    (r.u32()? as usize, "BINSTRING length")
                } else {
                    (r.u8()? as usize, "SHORT_BINSTRING length")
                };
                let b = r.take_len(n, what, at)?;
                stack.push(Value::Str(String::from_utf8_lossy(b).into_owned()));
            }
            b'B' | b'C' => {
                let (n, what) = if op == b'B' {
                    (r.u32()? as usize, "BINBYTES length")
                } else {
                    (r.u8()? as usize, "SHORT_BINBYTES length")
                };
                stack.push(Value::Bytes(Rc::new(r.take_len(n, what, at)?.to_vec())));
            }
            b'q' | b'r' => {
                let k = if op == b'q' { r.u8()? as u32 } else { r.u32()? };
                let v = stack
                    .last()
                    .ok_or_else(|| r.err("BINPUT on an empty stack"))?;
                r.charge(v, "BINPUT", at)?;
                memo.insert(k, v.clone());
            }
            b'h' | b'j' => {
                let k = if op == b'h' { r.u8()? as u32 } else { r.u32()? };
                let v = memo
                    .get(&k)
                    .ok_or_else(|| r.err(format!("memo key {k} missing")))?;
                r.charge(v, "BINGET", at)?;
                stack.push(v.clone());
            }
            b'c' => {
                let module = r.line()?;
                let name = r.line()?;
                let g = allowed_global(&module, &name).ok_or_else(|| {
                    r.err(format!(
                        "global '{module}.{name}' is not allowed (only numpy arrays are read)"
                    ))
                })?;
                stack.push(Value::Global(g));
            }
            // STACK_GLOBAL (protocol 4 names a global with two strings on the stack): read
            // under the same allow-list.
            0x93 => {
                let name = pop(&mut stack, &r)?;
                let module = pop(&mut stack, &r)?;
                let (Value::Str(module), Value::Str(name)) = (&module, &name) else {
                    return Err(r.err(format!(
                        "STACK_GLOBAL at byte {at} on {} and {}, not two strings",
                        module.kind(),
                        name.kind()
                    )));
                };
                let g = allowed_global(module, name).ok_or_else(|| {
                    r.err(format!(
                        "global '{module}.{name}' (STACK_GLOBAL) is not allowed (only numpy \
                         arrays are read)"
                    ))
                })?;
                stack.push(Value::Global(g));
            }
            b't' => {
                let items = pop_mark(&mut stack, &mut marks, &r)?;
                r.nest(&items, at)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if stack.len() < n {
                    return Err(r.err("stack underflow in TUPLEn"));
                }
                let items = stack.split_off(stack.len() - n);
                r.nest(&items, at)?;
                stack.push(Value::Tuple(items));
            }
            b'a' => {
                let v = pop(&mut stack, &r)?;
                r.nest([&v], at)?;
                match stack.last_mut() {
                    Some(Value::List(l)) => l.push(v),
                    _ => return Err(r.err("APPEND to a non-list")),
                }
            }
            b'e' => {
                let items = pop_mark(&mut stack, &mut marks, &r)?;
                r.nest(&items, at)?;
                match stack.last_mut() {
                    Some(Value::List(l)) => l.extend(items),
                    _ => return Err(r.err("APPENDS to a non-list")),
                }
            }
            b's' => {
                let v = pop(&mut stack, &r)?;
                let k = pop(&mut stack, &r)?;
                r.nest([&k, &v], at)?;
                match stack.last_mut() {
                    Some(Value::Dict(d)) => d.push((k, v)),
                    _ => return Err(r.err("SETITEM on a non-dict")),
                }
            }
            b'u' => {
                let items = pop_mark(&mut stack, &mut marks, &r)?;
                if items.len() % 2 != 0 {
                    return Err(r.err("SETITEMS with an odd number of items"));
                }
                r.nest(&items, at)?;
                match stack.last_mut() {
                    Some(Value::Dict(d)) => {
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            d.push((k, v));
                        }
                    }
                    _ => return Err(r.err("SETITEMS on a non-dict")),
                }
            }
            b'R' => {
                let args = pop(&mut stack, &r)?;
                let f = pop(&mut stack, &r)?;
                stack.push(reduce(f, args, &r)?);
            }
            b'b' => {
                let state = pop(&mut stack, &r)?;
                let obj = pop(&mut stack, &r)?;
                stack.push(build(obj, state, &r)?);
            }
            _ => {
                return Err(r.err(format!(
                    "opcode 0x{op:02x} ('{}') at byte {at} is not allowed",
                    (op as char).escape_default()
                )));
            }
        }
    }
}
