//! Extended v1 order-book frames: the fast path and the general parser, the venue's checks,
//! then a recorder whose book holds a SNAPSHOT (so DELTAs apply) and one with no book.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdkit::model::RecvTime;
use mdkit::storage::Stream;
use mdkit::venue::check::Expect;
use mdkit::venue::extended::check;
use mdkit::venue::extended::v1::{self, Message};
use mdkit::venue::Venue;
use mdkit_fuzz::{record, AT, V1_SNAPSHOT};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(Message::Data(update)) = v1::parse_book(&text) {
        let want = Expect { market: "ETH-USD", ts_recv: RecvTime::from_nanos(AT) };
        let _ = check::book(&update, &want);
    }
    record(Venue::Extended, "ETH-USD", Stream::Book, &[], &text);
    record(Venue::Extended, "ETH-USD", Stream::Book, &[V1_SNAPSHOT], &text);
});
