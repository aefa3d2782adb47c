//! The recorder's hottest parse, done directly on the bytes: a v1 order-book frame in the
//! shape the venue (and `mdkit simulate`) sends it, `{"type", "data":{t, m, b, a, d}, "ts",
//! "seq"}`, read straight into a [`BookUpdate`] with no JSON tree in between.
//!
//! It accepts a strict subset of what [`super::v1::parse_book`] accepts and answers `None`
//! for anything else: an unknown or repeated key, `null`, an escaped string, a number that is
//! not a plain integer, `data` before `type`, a value the general parser would refuse. The
//! caller then runs the general parser, which gives the value or names the error, so this
//! path never decides a refusal and never returns a value the general parser would not (the
//! property tests below hold the two equal). Must not know sequence rules or books.

use super::frames::{frame_kind_wire, BookUpdate, Depth};
use crate::model::{
    parse_raw, parse_short_quoted, BookFrame, EventTime, FrameKind, Level, Price, Qty,
};

/// The frame as a [`BookUpdate`], or `None` when it is outside the fast path's shape.
#[cfg(test)]
pub(super) fn book(text: &str) -> Option<BookUpdate> {
    let mut update = blank();
    book_into(text, &mut update).map(|()| update)
}

/// An update with nothing in it, for [`book_into`] to fill.
pub(super) fn blank() -> BookUpdate {
    BookUpdate {
        frame: BookFrame {
            market: String::new(),
            kind: FrameKind::Snapshot,
            seq: 0,
            ts_event: EventTime::from_nanos(0),
            bids: Vec::new(),
            asks: Vec::new(),
        },
        depth: Depth::Full,
        bid_changes: Vec::new(),
        ask_changes: Vec::new(),
    }
}

/// Reads the frame into `out`, whose vectors and market name are reused (a recorder reads
/// every frame into the one update, so the hot path allocates nothing). `None` when the
/// frame is outside the fast path's shape; `out` then holds no meaning.
pub(super) fn book_into(text: &str, out: &mut BookUpdate) -> Option<()> {
    let mut c = Cursor { text, at: 0 };
    let (mut kind, mut ts, mut seq, mut data) = (None, None, None, false);
    c.object(|c, key| {
        match key {
            "type" if kind.is_none() => {
                kind = Some(match c.string()? {
                    "SNAPSHOT" => FrameKind::Snapshot,
                    "DELTA" => FrameKind::Delta,
                    _ => return None,
                })
            }
            "ts" if ts.is_none() => ts = Some(c.integer()?),
            "seq" if seq.is_none() => seq = Some(c.integer()?),
            // The levels' meaning depends on the type, so it must come first (it does).
            "data" if !data => {
                payload(c, kind?, out)?;
                data = true;
            }
            _ => return None,
        }
        Some(())
    })?;
    if c.peek().is_some() || !data {
        return None;
    }
    out.frame.kind = kind?;
    out.frame.seq = seq?;
    out.frame.ts_event = EventTime::from_millis(i64::try_from(ts?).ok()?)?;
    Some(())
}

/// `data {t, m, b, a, d}` of a frame whose envelope said `kind`, into `out`.
fn payload(c: &mut Cursor<'_>, kind: FrameKind, out: &mut BookUpdate) -> Option<()> {
    let (mut t, mut market, mut depth, mut bids, mut asks) = (false, false, None, false, false);
    c.object(|c, key| {
        match key {
            "t" if !t => {
                t = c.string()? == frame_kind_wire(kind);
                if !t {
                    return None;
                }
            }
            "m" if !market => {
                out.frame.market.clear();
                out.frame.market.push_str(c.string()?);
                market = true;
            }
            "d" if depth.is_none() => {
                depth = Some(match c.string()? {
                    "f" => Depth::Full,
                    "1" => Depth::Top,
                    _ => return None,
                })
            }
            "b" if !bids => {
                levels(c, kind, &mut out.frame.bids, &mut out.bid_changes)?;
                bids = true;
            }
            "a" if !asks => {
                levels(c, kind, &mut out.frame.asks, &mut out.ask_changes)?;
                asks = true;
            }
            _ => return None,
        }
        Some(())
    })?;
    out.depth = depth?;
    (t && market && bids && asks).then_some(())
}

/// One side's `[{p, q, c}]` into `levels` (the new absolute sizes) and, on a DELTA, `changes`
/// (the signed changes `q`; docs/VENUES.md §1.3 rule 1; a SNAPSHOT's `c` is ignored).
fn levels(
    c: &mut Cursor<'_>,
    kind: FrameKind,
    levels: &mut Vec<Level>,
    changes: &mut Vec<Qty>,
) -> Option<()> {
    let delta = kind == FrameKind::Delta;
    levels.clear();
    changes.clear();
    c.expect(b'[')?;
    if c.peek() == Some(b']') {
        c.at += 1;
        return Some(());
    }
    loop {
        let (price, q, new_size) = match c.level_as_sent(delta) {
            Some(level) => level,
            None => c.level(delta)?,
        };
        let qty = if delta {
            changes.push(q);
            new_size?
        } else {
            q
        };
        if qty.is_negative() {
            return None;
        }
        levels.push(Level::new(price, qty));
        match c.next()? {
            b',' => continue,
            b']' => return Some(()),
            _ => return None,
        }
    }
}

/// A position in the frame text.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The next byte that is not JSON whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(self.at) {
            self.at += 1;
        }
        bytes.get(self.at).copied()
    }

    /// The next byte that is not whitespace, consumed.
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// A string with no escapes and no control characters, borrowed from the text.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let bytes = self.text.as_bytes();
        loop {
            match *bytes.get(self.at)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        // Both ends sit next to an ASCII quote, so they are character boundaries.
        self.text.get(start..self.at - 1)
    }

    /// A level object `{p, q, c}` with its keys in any order: price, `q`, and on a DELTA the
    /// new size `c` (`None` when absent; a SNAPSHOT's `c` is read past).
    fn level(&mut self, delta: bool) -> Option<(Price, Qty, Option<Qty>)> {
        let (mut price, mut q, mut c, mut seen_c) = (None, None, None, false);
        self.object(|cur, key| {
            match key {
                "p" if price.is_none() => price = Some(Price::from_raw(cur.decimal()?)),
                "q" if q.is_none() => q = Some(Qty::from_raw(cur.decimal()?)),
                "c" if !seen_c && delta => c = Some(Qty::from_raw(cur.decimal()?)),
                "c" if !seen_c => {
                    cur.string()?;
                }
                _ => return None,
            }
            seen_c |= key == "c";
            Some(())
        })?;
        Some((price?, q?, c))
    }

    /// [`Cursor::level`] for the spelling the venue sends, `{"p":"…","q":"…","c":"…"}` with
    /// no whitespace and short decimals, matched byte for byte; `None` (and the cursor
    /// unmoved) for any other spelling.
    #[inline]
    fn level_as_sent(&mut self, delta: bool) -> Option<(Price, Qty, Option<Qty>)> {
        let start = self.at;
        let found = self.level_bytes(delta);
        if found.is_none() {
            self.at = start;
        }
        found
    }

    #[inline]
    fn level_bytes(&mut self, delta: bool) -> Option<(Price, Qty, Option<Qty>)> {
        self.peek()?;
        self.literal(b"{\"p\":\"")?;
        let price = self.short_decimal()?;
        self.literal(b",\"q\":\"")?;
        let q = self.short_decimal()?;
        if self.literal(b"}").is_some() {
            return Some((Price::from_raw(price), Qty::from_raw(q), None));
        }
        self.literal(b",\"c\":\"")?;
        let c = self.short_decimal()?;
        self.literal(b"}")?;
        let c = delta.then_some(Qty::from_raw(c));
        Some((Price::from_raw(price), Qty::from_raw(q), c))
    }

    /// Consumes `bytes` if the text continues with them exactly. (An array, so the compare
    /// is a few integer compares and not a call to `memcmp`, which showed in the profile.)
    #[inline]
    fn literal<const N: usize>(&mut self, bytes: &[u8; N]) -> Option<()> {
        let rest = self.text.as_bytes().get(self.at..)?;
        (rest.first_chunk::<N>()? == bytes).then(|| self.at += N)
    }

    /// The rest of a string that holds a short decimal ([`parse_short_quoted`]), its
    /// opening quote already consumed.
    #[inline]
    fn short_decimal(&mut self) -> Option<i64> {
        let (raw, len) = parse_short_quoted(self.text.as_bytes().get(self.at..)?)?;
        self.at += len + 1;
        Some(raw)
    }

    /// A decimal in a string, as [`parse_raw`] reads the string's content.
    fn decimal(&mut self) -> Option<i64> {
        if self.peek()? == b'"' {
            self.at += 1;
            if let Some(raw) = self.short_decimal() {
                return Some(raw);
            }
            self.at -= 1;
        }
        parse_raw(self.string()?).ok()
    }

    /// A non-negative integer literal (no sign, fraction, exponent or leading zero).
    fn integer(&mut self) -> Option<u64> {
        self.peek()?;
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(&b @ b'0'..=b'9') = bytes.get(self.at) {
            value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && bytes[start] == b'0';
        let follows = bytes.get(self.at).copied();
        if digits == 0 || leading_zero || matches!(follows, Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(value)
    }

    /// An object: calls `field` with the cursor on each value (which it must consume).
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            field(self, key)?;
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests;
