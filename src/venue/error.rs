//! Why a venue frame was refused (every venue shares the type): one typed value per kind of
//! defect, naming the field, the text and the rule, so a journal line can be diagnosed from the message alone.
//!
//! A venue's own error envelope is *not* a parse error (it is a [`super::VenueError`] value,
//! docs/VENUES.md §1.5). Must not carry I/O or connection context; `collect` adds market and conn.

use crate::model::{BookSide, DecimalError, Price, Qty};

/// A text frame that could not be turned into typed values. Compared by value in tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("invalid JSON ({reason}); frame starts {excerpt:?}")]
    Json { reason: String, excerpt: String },

    #[error("missing field `{field}`")]
    MissingField { field: String },

    #[error("field `{field}` should be {expected}, found {found}")]
    InvalidField { field: String, expected: &'static str, found: String },

    #[error("field `{field}` = {text:?} is not an exact decimal: {source}")]
    Decimal { field: String, text: String, source: DecimalError },

    /// A DELTA level must carry `c`, the new absolute size; without it the frame cannot be
    /// applied and the book must be rebuilt (docs/VENUES.md §1.3 rule 1).
    #[error(
        "DELTA {side} level {price} has no `c` (new absolute size); treat as a sequence break"
    )]
    DeltaWithoutNewSize { side: BookSide, price: Price },

    #[error("{side} level {price} has negative absolute size {qty}")]
    NegativeSize { side: BookSide, price: Price, qty: Qty },

    #[error("unknown frame type {text:?} (expected one of: {})", expected.join(", "))]
    UnknownType { text: String, expected: &'static [&'static str] },

    /// `data.d` must be `"f"` (full book) or `"1"` (best bid/ask), docs/VENUES.md §1.3.
    #[error("unknown book depth `data.d` = {text:?} (expected \"f\" or \"1\")")]
    UnknownDepth { text: String },

    #[error("frame type {envelope:?} disagrees with `data.t` = {data:?}")]
    TypeMismatch { envelope: String, data: String },

    /// Trade ids are decoded as integers from the JSON text (docs/VENUES.md §1.4); this one does
    /// not fit `0..=i64::MAX`.
    #[error("field `{field}` = {text} is not an id in 0..=9223372036854775807")]
    IdOutOfRange { field: String, text: String },

    #[error("field `{field}` = {millis} ms is out of range for a nanosecond timestamp")]
    TimeOutOfRange { field: String, millis: i64 },

    #[error("field `{field}` = {text:?} is not one of: {}", expected.join(", "))]
    UnknownValue { field: String, text: String, expected: Vec<&'static str> },

    /// A value the frame could carry but the market cannot have (a price ≤ 0, a time before
    /// 2010 or a day ahead of the receive clock): refused by the venue's `check` module.
    #[error("field `{field}` = {value} {rule}")]
    Impossible { field: String, value: String, rule: String },

    /// A frame about another market than the one this connection subscribed to.
    #[error(
        "field `{field}` = {found:?} names another market than the one subscribed ({expected})"
    )]
    OtherMarket { field: String, found: String, expected: String },

    /// A v2 frame that is neither a response (`result`/`error`) nor a data frame (`type`).
    #[error("frame is neither a JSON-RPC response nor a data frame; starts {excerpt:?}")]
    UnknownFrame { excerpt: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_the_rule() {
        let price = Price::parse("84050").unwrap();
        let cases = [
            (
                ParseError::DeltaWithoutNewSize { side: BookSide::Bid, price },
                "DELTA bid level 84050 has no `c` (new absolute size); treat as a sequence break",
            ),
            (
                ParseError::Decimal {
                    field: "data.a[2].q".into(),
                    text: "1,5".into(),
                    source: DecimalError::Syntax { text: "1,5".into() },
                },
                "field `data.a[2].q` = \"1,5\" is not an exact decimal: \"1,5\" is not a plain decimal number (digits, one optional '.', optional sign)",
            ),
            (
                ParseError::UnknownDepth { text: "5".into() },
                "unknown book depth `data.d` = \"5\" (expected \"f\" or \"1\")",
            ),
            (
                ParseError::UnknownType { text: "X".into(), expected: &["SNAPSHOT", "DELTA"] },
                "unknown frame type \"X\" (expected one of: SNAPSHOT, DELTA)",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }
}
