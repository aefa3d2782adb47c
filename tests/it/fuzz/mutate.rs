//! The JSON-aware mutator of the fuzz properties: one [`Mutation`] applied to one field of a
//! frame's [`J`] tree, giving a [`Mutant`] and whether its property is the weak one.

use super::*;

/// One mutation; the node it applies to is chosen separately.
#[derive(Debug, Clone)]
pub(super) enum Mutation {
    /// Replace the node by a value of another JSON type: 0 string, 1 number, 2 bool, 3 null,
    /// 4 object, 5 array, 6 the node wrapped in an array, 7 wrapped in an object.
    Swap(u8),
    /// `-` added to a number (or numeric string), or removed.
    Sign,
    /// `1e400`, 400 digits, `0.000000000001`, `-1e400`, `1` and 25 zeros, as a number or
    /// inside the string.
    Huge(u8),
    /// Value-preserving spellings: 0 trailing zeros (`3000.000000000`), 1 leading zeros
    /// inside a string (`"0003000"`).
    Zeros(u8),
    /// The field removed.
    Delete,
    /// The field written twice with the same value, before (true) or after it.
    DupSame(bool),
    /// The field written twice, the copy with a different value, before (true) or after.
    DupDiff(bool),
    /// The frame cut at a byte offset.
    Truncate(Index),
    /// A byte replaced (0), inserted (1) or deleted (2) at an offset: weak.
    Byte(u8, Index, u8),
}

pub(super) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (0u8..8).prop_map(Mutation::Swap),
        1 => Just(Mutation::Sign),
        2 => (0u8..5).prop_map(Mutation::Huge),
        1 => (0u8..2).prop_map(Mutation::Zeros),
        2 => Just(Mutation::Delete),
        1 => any::<bool>().prop_map(Mutation::DupSame),
        2 => any::<bool>().prop_map(Mutation::DupDiff),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (0u8..3, any::<Index>(), 0x20u8..0x7f).prop_map(|(op, at, b)| Mutation::Byte(op, at, b)),
    ]
}

/// A mutated frame: its text, whether the property is the weak one, and what was done.
#[derive(Debug)]
pub(super) struct Mutant {
    pub(super) text: String,
    pub(super) weak: bool,
    pub(super) what: String,
}

pub(super) fn is_number(raw: &str) -> bool {
    raw.starts_with(|c: char| c == '-' || c.is_ascii_digit())
}

/// The content of a string scalar, if the node is one.
pub(super) fn string_content(raw: &str) -> Option<&str> {
    raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
}

pub(super) fn numeric(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Applies `edit` to a number, or to the content of a numeric string.
pub(super) fn edit_number(node: &J, edit: impl Fn(&str) -> String) -> Option<J> {
    let J::Raw(raw) = node else { return None };
    if is_number(raw) {
        return Some(J::Raw(edit(raw)));
    }
    let inner = string_content(raw).filter(|s| numeric(s))?;
    Some(J::Raw(format!("\"{}\"", edit(inner))))
}

pub(super) fn swapped(node: &J, to: u8) -> J {
    let kind = match node {
        J::Raw(raw) if raw.starts_with('"') => 0,
        J::Raw(raw) if is_number(raw) => 1,
        J::Raw(raw) if raw == "true" || raw == "false" => 2,
        J::Raw(_) => 3,
        J::Obj(_) => 4,
        J::Arr(_) => 5,
    };
    // A swap always changes the type: the same type moves on to the next one.
    let to = if to == kind { (to + 1) % 6 } else { to };
    match to {
        0 => match node {
            J::Raw(raw) => J::Raw(format!("\"{raw}\"")),
            other => J::Raw(format!("{:?}", other.text())),
        },
        1 => match node {
            J::Raw(raw) => match string_content(raw).filter(|s| numeric(s)) {
                Some(inner) => J::Raw(inner.to_owned()),
                None => J::Raw("1".to_owned()),
            },
            _ => J::Raw("1".to_owned()),
        },
        2 => J::Raw("true".to_owned()),
        3 => J::Raw("null".to_owned()),
        4 => J::Obj(Vec::new()),
        5 => J::Arr(Vec::new()),
        6 => J::Arr(vec![node.clone()]),
        _ => J::Obj(vec![("\"v\"".to_owned(), node.clone())]),
    }
}

/// Another value of the same kind, legal-looking: a number or numeric string with a digit
/// appended, a string with a letter appended, the other boolean.
pub(super) fn different(node: &J) -> J {
    match node {
        J::Raw(raw) => match raw.as_str() {
            "true" => J::Raw("false".to_owned()),
            "false" => J::Raw("true".to_owned()),
            "null" => J::Raw("0".to_owned()),
            _ if is_number(raw) => J::Raw(format!("{raw}1")),
            _ => match string_content(raw) {
                Some(inner) if numeric(inner) => J::Raw(format!("\"{inner}1\"")),
                Some(inner) => J::Raw(format!("\"{inner}X\"")),
                None => J::Raw("0".to_owned()),
            },
        },
        J::Obj(fields) if fields.is_empty() => {
            J::Obj(vec![("\"x\"".to_owned(), J::Raw("1".into()))])
        }
        J::Obj(_) => J::Obj(Vec::new()),
        J::Arr(items) if items.is_empty() => J::Arr(vec![J::Raw("1".into())]),
        J::Arr(_) => J::Arr(Vec::new()),
    }
}

pub(super) fn mutate(
    frame: &J,
    node: Index,
    field: Index,
    m: &Mutation,
    optional: &[&str],
) -> Mutant {
    let original = frame.text();
    let mut nodes = Vec::new();
    frame.nodes(&mut Vec::new(), &mut nodes);
    let fields: Vec<&(Vec<usize>, Option<String>)> =
        nodes.iter().filter(|(_, key)| key.is_some()).collect();
    let (path, key) = nodes[node.index(nodes.len())].clone();
    let mut tree = frame.clone();
    let describe = |what: &str, key: &Option<String>, path: &[usize]| {
        format!("{what} at {} ({path:?})", key.as_deref().unwrap_or("an array item"))
    };
    let optional_field =
        |key: &Option<String>| key.as_deref().is_some_and(|k| optional.contains(&k));
    match m {
        Mutation::Swap(to) => {
            let target = tree.at_mut(&path);
            *target = swapped(target, *to);
            let weak = optional_field(&key);
            Mutant { text: tree.text(), weak, what: describe(&format!("{m:?}"), &key, &path) }
        }
        Mutation::Sign | Mutation::Huge(_) | Mutation::Zeros(_) => {
            let target = tree.at_mut(&path);
            let edit = |raw: &str| -> String {
                match m {
                    Mutation::Sign => match raw.strip_prefix('-') {
                        Some(rest) => rest.to_owned(),
                        None => format!("-{raw}"),
                    },
                    Mutation::Huge(0) => "1e400".to_owned(),
                    Mutation::Huge(1) => "9".repeat(400),
                    Mutation::Huge(2) => "0.000000000001".to_owned(),
                    Mutation::Huge(3) => "-1e400".to_owned(),
                    Mutation::Huge(_) => format!("1{}", "0".repeat(25)),
                    Mutation::Zeros(0) if raw.contains('.') => format!("{raw}000000000"),
                    Mutation::Zeros(0) => format!("{raw}.000000000"),
                    _ => match raw.strip_prefix('-') {
                        Some(rest) => format!("-000{rest}"),
                        None => format!("000{raw}"),
                    },
                }
            };
            // Leading zeros are only value-preserving inside a string (JSON numbers may not
            // have them: that is a refusal, still held to 2 and 3).
            if let Some(new) = edit_number(target, edit) {
                *target = new;
            } else if let (Mutation::Huge(_), J::Raw(raw)) = (m, &*target) {
                // A non-numeric scalar becomes the huge text as a string (or number).
                let text = edit("");
                *target = J::Raw(if raw.starts_with('"') { format!("\"{text}\"") } else { text });
            }
            let weak = optional_field(&key);
            Mutant { text: tree.text(), weak, what: describe(&format!("{m:?}"), &key, &path) }
        }
        Mutation::Delete | Mutation::DupSame(_) | Mutation::DupDiff(_) => {
            let Some((path, key)) =
                fields.get(field.index(fields.len().max(1))).map(|f| (*f).clone())
            else {
                return Mutant { text: original, weak: false, what: "no field".to_owned() };
            };
            let (last, parent) = path.split_last().expect("a field has a path");
            let J::Obj(siblings) = tree.at_mut(parent) else { unreachable!("a field's parent") };
            let (name, value) = siblings[*last].clone();
            let weak = match m {
                Mutation::Delete => {
                    siblings.remove(*last);
                    optional_field(&key)
                }
                Mutation::DupSame(before) => {
                    siblings.insert(if *before { *last } else { *last + 1 }, (name, value));
                    false
                }
                Mutation::DupDiff(before) => {
                    let other = different(&value);
                    siblings.insert(if *before { *last } else { *last + 1 }, (name, other));
                    false
                }
                _ => unreachable!(),
            };
            Mutant { text: tree.text(), weak, what: describe(&format!("{m:?}"), &key, &path) }
        }
        Mutation::Truncate(at) => {
            let mut cut = at.index(original.len());
            while !original.is_char_boundary(cut) {
                cut -= 1;
            }
            Mutant { text: original[..cut].to_owned(), weak: false, what: format!("cut at {cut}") }
        }
        Mutation::Byte(op, at, b) => {
            let mut bytes = original.clone().into_bytes();
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = *b,
                1 => bytes.insert(i, *b),
                _ => {
                    bytes.remove(i);
                }
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Mutant { text, weak: true, what: format!("byte op {op} at {i} ({:?})", *b as char) }
        }
    }
}
