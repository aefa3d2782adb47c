//! Repeated levels within one depth frame: how many rows of a delta name a level an earlier
//! row of the same frame named (a frame recorded twice, or a venue bug). `book` reports them;
//! counting them is on every frame's path, so it is kept cheap (issue 23).

use super::cursor::DepthLevel;

/// How many rows of a delta name a level an earlier row of the frame named. Small frames are
/// compared pairwise; a larger one whose rows of each side run strictly one way in price (as
/// venues send them) has none, seen in one pass; others are sorted in a reused buffer (the
/// sort of every 47-row frame of the simulated venue was 5 % of `verify`, issue 23).
pub(super) fn repeated_levels(rows: &[DepthLevel], scratch: &mut Vec<(bool, i64)>) -> usize {
    if rows.len() <= 16 {
        return (1..rows.len())
            .filter(|&i| rows[..i].iter().any(|r| r.bid == rows[i].bid && r.price == rows[i].price))
            .count();
    }
    if each_side_monotone(rows) {
        return 0;
    }
    scratch.clear();
    scratch.extend(rows.iter().map(|r| (r.bid, r.price)));
    scratch.sort_unstable();
    scratch.windows(2).filter(|w| w[0] == w[1]).count()
}

/// Whether the prices of each side's rows, in frame order, strictly rise or strictly fall
/// (then no level repeats).
fn each_side_monotone(rows: &[DepthLevel]) -> bool {
    // Per side: the last price and the direction (`None` until two rows set it).
    let mut last: [Option<(i64, Option<bool>)>; 2] = [None; 2];
    for r in rows {
        let side = &mut last[usize::from(r.bid)];
        *side = match *side {
            None => Some((r.price, None)),
            Some((p, _)) if p == r.price => return false,
            Some((p, None)) => Some((r.price, Some(r.price > p))),
            Some((p, Some(up))) if (r.price > p) == up => Some((r.price, Some(up))),
            Some(_) => return false,
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_levels_are_counted_in_small_and_large_frames() {
        let row = |bid, price| DepthLevel { bid, side_ok: true, price, qty: 1 };
        let small = vec![row(true, 1), row(false, 1), row(true, 1), row(true, 2)];
        let large: Vec<DepthLevel> = (0..40).map(|i| row(i % 2 == 0, i % 30)).collect();
        // Bids falling and asks rising, interleaved: none repeats (the one-pass case) ...
        let ordered: Vec<DepthLevel> = (0..40)
            .map(|i| if i % 2 == 0 { row(true, 100 - i) } else { row(false, 200 + i) })
            .collect();
        // ... and one ask out of order, then one repeated: the sort finds it.
        let mut turned = ordered.clone();
        turned[39] = row(false, 200);
        let mut repeated = ordered.clone();
        repeated[39] = row(false, 205);
        // A side's second row repeating its first, before any direction is known.
        let mut early = ordered.clone();
        early[2] = row(true, 100);
        let mut scratch = Vec::new();
        for (rows, want) in [
            (small, 1),
            (large, 10),
            (vec![], 0),
            (ordered, 0),
            (turned, 0),
            (repeated, 1),
            (early, 1),
        ] {
            assert_eq!(repeated_levels(&rows, &mut scratch), want, "{} rows", rows.len());
        }
    }
}
