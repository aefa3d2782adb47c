//! Splits JSON text into the raw text of an object's fields or an array's items, so that
//! Kraken's number tokens can be read exactly as written (serde_json hands numbers over as
//! `f64` unless a crate-wide feature changes its types, which every other venue would feel).
//!
//! Only ever given text that serde_json has already accepted as well-formed JSON; on anything
//! else it returns `None` (never panics), and the caller refuses the frame.

/// `text`'s fields as (key token with its quotes, value text), if `text` is an object.
pub(super) fn object(text: &str) -> Option<Vec<(&str, &str)>> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::new();
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        let key_end = value_end(b, i)?;
        let key = text.get(i..key_end)?;
        i = ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        let end = value_end(b, i)?;
        out.push((key, text.get(i..end)?));
        i = ws(b, end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return Some(out),
            _ => return None,
        }
    }
}

/// `text`'s items' text, if `text` is an array.
pub(super) fn array(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    i = ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Some(out);
    }
    loop {
        let end = value_end(b, i)?;
        out.push(text.get(i..end)?);
        i = ws(b, end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b']') => return Some(out),
            _ => return None,
        }
    }
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// Where the value starting at `i` ends (one past its last byte).
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while let Some(c) = b.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    break;
                }
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// One past the closing quote of the string starting at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_items_keep_their_text() {
        let text = r#" { "a" : 4.00000000 , "b\"}" : {"c":[1,"]}"]}, "d":[ ] } "#;
        let fields = object(text).unwrap();
        assert_eq!(
            fields,
            vec![(r#""a""#, "4.00000000"), (r#""b\"}""#, r#"{"c":[1,"]}"]}"#), (r#""d""#, "[ ]")]
        );
        assert_eq!(
            array(r#"[ {"price":1.50}, 2 ,"x"]"#).unwrap(),
            vec![r#"{"price":1.50}"#, "2", r#""x""#]
        );
        assert_eq!(array("[]").unwrap(), Vec::<&str>::new());
        assert_eq!(object("[1]"), None);
        assert_eq!(array("{}"), None);
        assert_eq!(object(r#"{"a":"#), None);
        assert_eq!(object(r#"{"a":"unterminated"#), None);
    }
}
