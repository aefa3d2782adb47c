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
pub(super) fn book(text: &str) -> Option<BookUpdate> {
    let mut c = Cursor { text, at: 0 };
    let (mut kind, mut ts, mut seq, mut data) = (None, None, None, None);
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
            "data" if data.is_none() => data = Some(payload(c, kind?)?),
            _ => return None,
        }
        Some(())
    })?;
    if c.peek().is_some() {
        return None;
    }
    let (kind, payload) = (kind?, data?);
    let ts_event = EventTime::from_millis(i64::try_from(ts?).ok()?)?;
    Some(BookUpdate {
        frame: BookFrame {
            market: payload.market.to_owned(),
            kind,
            seq: seq?,
            ts_event,
            bids: payload.bids.0,
            asks: payload.asks.0,
        },
        depth: payload.depth,
        bid_changes: payload.bids.1,
        ask_changes: payload.asks.1,
    })
}

struct Payload<'a> {
    market: &'a str,
    depth: Depth,
    bids: (Vec<Level>, Vec<Qty>),
    asks: (Vec<Level>, Vec<Qty>),
}

/// `data {t, m, b, a, d}` of a frame whose envelope said `kind`.
fn payload<'a>(c: &mut Cursor<'a>, kind: FrameKind) -> Option<Payload<'a>> {
    let (mut t, mut market, mut depth, mut bids, mut asks) = (false, None, None, None, None);
    c.object(|c, key| {
        match key {
            "t" if !t => {
                t = c.string()? == frame_kind_wire(kind);
                if !t {
                    return None;
                }
            }
            "m" if market.is_none() => market = Some(c.string()?),
            "d" if depth.is_none() => {
                depth = Some(match c.string()? {
                    "f" => Depth::Full,
                    "1" => Depth::Top,
                    _ => return None,
                })
            }
            "b" if bids.is_none() => bids = Some(levels(c, kind)?),
            "a" if asks.is_none() => asks = Some(levels(c, kind)?),
            _ => return None,
        }
        Some(())
    })?;
    if !t {
        return None;
    }
    Some(Payload { market: market?, depth: depth?, bids: bids?, asks: asks? })
}

/// One side's `[{p, q, c}]`: the levels with their new absolute sizes, and on a DELTA the
/// signed changes `q` (VENUES.md §1.3 rule 1; a SNAPSHOT's `c` is ignored).
fn levels(c: &mut Cursor<'_>, kind: FrameKind) -> Option<(Vec<Level>, Vec<Qty>)> {
    let delta = kind == FrameKind::Delta;
    let mut levels = Vec::with_capacity(8);
    let mut changes = Vec::with_capacity(if delta { 8 } else { 0 });
    c.expect(b'[')?;
    if c.peek() == Some(b']') {
        c.at += 1;
        return Some((levels, changes));
    }
    loop {
        let (mut price, mut q, mut new_size) = (None, None, None);
        c.object(|c, key| {
            match key {
                "p" if price.is_none() => price = Some(Price::from_raw(c.decimal()?)),
                "q" if q.is_none() => q = Some(Qty::from_raw(c.decimal()?)),
                "c" if new_size.is_none() && delta => new_size = Some(Qty::from_raw(c.decimal()?)),
                // A SNAPSHOT's `c` is read past, whatever it says.
                "c" if new_size.is_none() => {
                    c.string()?;
                    new_size = Some(Qty::ZERO);
                }
                _ => return None,
            }
            Some(())
        })?;
        let (price, q) = (price?, q?);
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
            b']' => return Some((levels, changes)),
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

    /// A decimal in a string, as [`parse_raw`] reads the string's content.
    fn decimal(&mut self) -> Option<i64> {
        if self.peek()? == b'"' {
            let content = self.text.as_bytes().get(self.at + 1..)?;
            if let Some((raw, len)) = parse_short_quoted(content) {
                self.at += len + 2;
                return Some(raw);
            }
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
