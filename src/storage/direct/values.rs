//! The direct writer's per-chunk values: a column's dictionary and page bounds.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use parquet::basic::Type as Physical;

/// A multiplicative hash for `i64` dictionary keys (the std SipHash costs more than the rest
/// of encoding a value).
#[derive(Default)]
struct IntHasher(u64);

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i64(&mut self, value: i64) {
        self.0 = (value as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

type IntMap = HashMap<i64, u32, BuildHasherDefault<IntHasher>>;

/// A column chunk's dictionary: its values in key order, and the last key looked up (values
/// repeat row after row: one market, one venue, one connection).
#[derive(Default)]
pub(super) struct Dictionary {
    pub(super) ints: Vec<i64>,
    int_keys: IntMap,
    pub(super) strs: Vec<Box<[u8]>>,
    str_keys: HashMap<Box<[u8]>, u32>,
    last: Option<u32>,
}

impl Dictionary {
    pub(super) fn len(&self) -> usize {
        self.ints.len() + self.strs.len()
    }

    pub(super) fn int_key(&mut self, value: i64) -> u32 {
        if let Some(last) = self.last {
            if self.ints[last as usize] == value {
                return last;
            }
        }
        let next = self.ints.len() as u32;
        let key = *self.int_keys.entry(value).or_insert(next);
        if key == next {
            self.ints.push(value);
        }
        self.last = Some(key);
        key
    }

    pub(super) fn str_key(&mut self, value: &[u8]) -> u32 {
        if let Some(last) = self.last {
            if *self.strs[last as usize] == *value {
                return last;
            }
        }
        let key = match self.str_keys.get(value) {
            Some(key) => *key,
            None => {
                let key = self.strs.len() as u32;
                self.strs.push(value.into());
                self.str_keys.insert(value.into(), key);
                key
            }
        };
        self.last = Some(key);
        key
    }

    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }
}

/// A page's or a chunk's minimum and maximum, in the column's sort order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bounds {
    /// INT64 (signed) and INT32 (holding a `u32`, so also ordered as an `i64`).
    Int(i64, i64),
    Bool(bool, bool),
    Bytes(Box<[u8]>, Box<[u8]>),
}

impl Bounds {
    pub(super) fn merge(self, other: Bounds) -> Bounds {
        match (self, other) {
            (Bounds::Int(a, b), Bounds::Int(c, d)) => Bounds::Int(a.min(c), b.max(d)),
            (Bounds::Bool(a, b), Bounds::Bool(c, d)) => Bounds::Bool(a & c, b | d),
            (Bounds::Bytes(a, b), Bounds::Bytes(c, d)) => {
                Bounds::Bytes(if c < a { c } else { a }, if d > b { d } else { b })
            }
            (a, _) => a,
        }
    }

    /// (min ≤ other min and max ≤ other max, min ≥ other min and max ≥ other max)
    pub(super) fn order(&self, next: &Bounds) -> (bool, bool) {
        fn cmp<T: PartialOrd>(a: &T, b: &T, c: &T, d: &T) -> (bool, bool) {
            (a <= c && b <= d, a >= c && b >= d)
        }
        match (self, next) {
            (Bounds::Int(a, b), Bounds::Int(c, d)) => cmp(a, b, c, d),
            (Bounds::Bool(a, b), Bounds::Bool(c, d)) => cmp(a, b, c, d),
            (Bounds::Bytes(a, b), Bounds::Bytes(c, d)) => cmp(a, b, c, d),
            _ => (false, false),
        }
    }

    /// The plain-encoded bytes of (min, max), as the column index stores them.
    pub(super) fn to_bytes(&self, physical: Physical) -> (Vec<u8>, Vec<u8>) {
        match self {
            Bounds::Int(min, max) if physical == Physical::INT32 => {
                ((*min as u32).to_le_bytes().to_vec(), (*max as u32).to_le_bytes().to_vec())
            }
            Bounds::Int(min, max) => (min.to_le_bytes().to_vec(), max.to_le_bytes().to_vec()),
            Bounds::Bool(min, max) => (vec![u8::from(*min)], vec![u8::from(*max)]),
            Bounds::Bytes(min, max) => (min.to_vec(), max.to_vec()),
        }
    }
}
