//! Small enums that the venues, the tables and the commands share: book side, taker side,
//! frame kind, trade kind and connection-event kind. Each has one lower-case text form, the
//! one stored in the tables (`bid`, `sell`, `snapshot`, `seq_gap`, …).

use std::fmt;
use std::str::FromStr;

/// A text that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {what} (expected one of: {})", expected.join(", "))]
pub struct UnknownName {
    pub what: &'static str,
    pub text: String,
    pub expected: &'static [&'static str],
}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the tables.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        what: $what,
                        text: text.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

named_enum!(
    /// Which side of the book a level is on.
    BookSide, "book side" {
        Bid => "bid",
        Ask => "ask",
    }
);

named_enum!(
    /// The side of the aggressive (taker) order of a trade. A taker SELL hits the bids.
    TakerSide, "taker side" {
        Buy => "buy",
        Sell => "sell",
    }
);

named_enum!(
    /// Whether a book frame replaces the book or changes some levels.
    FrameKind, "frame kind" {
        Snapshot => "snapshot",
        Delta => "delta",
    }
);

named_enum!(
    /// Why a trade printed.
    TradeKind, "trade kind" {
        Trade => "trade",
        Liquidation => "liquidation",
        Deleverage => "deleverage",
    }
);

named_enum!(
    /// The verdict on one side's intensity fit in the `calibration` table (docs/MODEL.md
    /// "Fit quality").
    FitQuality, "fit quality" {
        /// R² and points at or above the thresholds.
        Good => "good",
        /// A fit exists but R² or the number of points is below its threshold.
        Poor => "poor",
        /// No fit: κ and A are null, with the reason.
        Missing => "none",
    }
);

named_enum!(
    /// Where a calibration's depth grid came from (docs/MODEL.md "The depth grid").
    GridSource, "grid source" {
        /// Chosen from how deep the window's orders reached.
        Data => "data",
        /// Given as settings (`--depth-step`, `--depth-start`).
        Set => "set",
        /// The tick, because the window had too few orders to choose from.
        Tick => "tick",
    }
);

named_enum!(
    /// What happened to a connection; one row of the `events` table.
    EventKind, "event kind" {
        /// A connection was established.
        Connect => "connect",
        /// A connection ended (closed by either side or failed).
        Disconnect => "disconnect",
        /// A frame's seq was not the previous seq + 1; the book was discarded.
        SeqGap => "seq_gap",
        /// A stream was silent past the stale timeout and was closed.
        Stale => "stale",
        /// The book was rebuilt from a fresh snapshot after a break.
        Resnapshot => "resnapshot",
        /// The venue sent an error envelope.
        VenueError => "venue_error",
        /// A frame could not be parsed; it was kept in the journal.
        Malformed => "malformed",
        /// A trades replay after a reconnect shared no id with the trades already recorded:
        /// more trades than the replay holds may have been missed.
        TradeGap => "trade_gap",
        /// Book diffs arrived that no snapshot could be spliced onto (Binance): they are not
        /// in `depth`, and the book stays unknown until a snapshot bridges them.
        Unsynced => "unsynced",
        /// A frame was refused (unreadable, or a value the tables cannot hold honestly) and
        /// changed nothing: the book, the sequence and the trade ids are as before it, and the
        /// connection stays up; the journal keeps the frame (docs/VENUES.md "Bad venue data").
        Refused => "refused",
        /// More than a tenth of a connection's frames over a minute were refused; recording
        /// goes on. Written once when the share crosses the limit, again only after it fell back.
        RefusedShare => "refused_share",
        /// The venue's book is crossed (best bid at or above best ask) and is recorded as
        /// sent, because the venue documents that it may be (dYdX, docs/VENUES.md §15.5): one
        /// row when a connection's book enters the crossed state, none while it stays so. Not a
        /// break: the connection stays up.
        Crossed => "crossed",
    }
);

impl BookSide {
    pub const fn opposite(self) -> Self {
        match self {
            BookSide::Bid => BookSide::Ask,
            BookSide::Ask => BookSide::Bid,
        }
    }
}

impl TakerSide {
    /// The book side a taker order of this side trades against.
    pub const fn hits(self) -> BookSide {
        match self {
            TakerSide::Buy => BookSide::Ask,
            TakerSide::Sell => BookSide::Bid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_for_every_value() {
        for v in BookSide::ALL {
            assert_eq!(v.as_str().parse::<BookSide>().unwrap(), *v);
        }
        for v in EventKind::ALL {
            assert_eq!(v.as_str().parse::<EventKind>().unwrap(), *v);
        }
        for v in TradeKind::ALL {
            assert_eq!(v.as_str().parse::<TradeKind>().unwrap(), *v);
        }
    }

    #[test]
    fn unknown_text_names_the_choices() {
        let err = "BUY".parse::<TakerSide>().unwrap_err();
        assert_eq!(err.to_string(), "\"BUY\" is not a taker side (expected one of: buy, sell)");
    }

    #[test]
    fn taker_sell_hits_bids() {
        assert_eq!(TakerSide::Sell.hits(), BookSide::Bid);
        assert_eq!(TakerSide::Buy.hits(), BookSide::Ask);
    }
}
