//! Encoders for the Parquet value encodings used by the hand-written column-chunk writer.
//!
//! The recorder writes the pages of the `depth` and `book_top` tables itself instead of going
//! through arrow-rs's general Parquet writer, because that writer was the largest cost of
//! recording. Those pages need only three value encodings, implemented here as pure,
//! dependency-free functions that append to a byte buffer (see `Encodings.md` in the
//! parquet-format repository):
//!
//! - the RLE / bit-packed hybrid ([`rle_hybrid`], [`rle_repeat`], sized with [`bit_width`]), for
//!   definition levels and dictionary indices;
//! - `DELTA_BINARY_PACKED` ([`delta_binary_packed`]), for integer columns such as timestamps and
//!   sequence numbers;
//! - PLAIN booleans ([`plain_bools`]).
//!
//! No function writes a length prefix: where a page needs one (levels in a v1 data page, the
//! bit width byte in front of dictionary indices), the caller adds it.

/// The most values one RLE run may hold: readers decode its header `count << 1` into a `u32`.
const MAX_RLE_RUN: usize = (u32::MAX >> 1) as usize;

/// The most groups of 8 values one bit-packed run may hold: readers keep `groups * 8` in an
/// `i32`.
const MAX_PACKED_GROUPS: usize = (i32::MAX / 8) as usize;

/// The widest value the RLE / bit-packed hybrid encodes here, in bits.
const MAX_HYBRID_WIDTH: u8 = 32;

/// Deltas per `DELTA_BINARY_PACKED` block.
const DELTA_BLOCK_SIZE: usize = 128;

/// Miniblocks per `DELTA_BINARY_PACKED` block.
const DELTA_MINIBLOCKS: usize = 4;

/// Deltas per `DELTA_BINARY_PACKED` miniblock.
const DELTA_MINIBLOCK_SIZE: usize = DELTA_BLOCK_SIZE / DELTA_MINIBLOCKS;

/// Bits needed to store `max` (0 for 0).
#[must_use]
pub fn bit_width(max: u64) -> u8 {
    // At most 64, so the narrowing is lossless.
    (u64::BITS - max.leading_zeros()) as u8
}

/// Appends the RLE / bit-packed hybrid encoding of `values` (each < 2^`bit_width`) to
/// `out`, without any length prefix. `bit_width` is 0..=32.
///
/// A repetition of at least 8 equal values that starts on a group boundary of the pending
/// bit-packed values becomes an RLE run; everything else is bit-packed in groups of 8, the last
/// group padded with zeros. With `bit_width` 0 every value is 0 and only RLE run headers are
/// written. Values wider than `bit_width` and widths above 32 are caller bugs, caught by debug
/// assertions.
pub fn rle_hybrid(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    debug_assert!(bit_width <= MAX_HYBRID_WIDTH, "bit width {bit_width} above 32");
    let bit_width = bit_width.min(MAX_HYBRID_WIDTH);
    if bit_width == 0 {
        debug_assert!(values.iter().all(|&v| v == 0), "non-zero value with bit width 0");
        rle_repeat(0, values.len(), 0, out);
        return;
    }

    // Values in `literal_start..i` are waiting to be bit-packed; `i - literal_start` is always a
    // multiple of 8, so a run found at `i` can follow them without padding. A run that starts
    // inside a group is thereby split: its head completes the bit-packed group and the rest,
    // if still 8 or longer, is found at the next group boundary.
    let mut literal_start = 0;
    let mut i = 0;
    while let Some(group) = values.get(i..i + 8) {
        let value = group[0];
        if all_equal(group, value) {
            let end = i + 8 + run_length(&values[i + 8..], value);
            put_bit_packed(&values[literal_start..i], bit_width, out);
            rle_repeat(value, end - i, bit_width, out);
            i = end;
            literal_start = end;
        } else {
            i += 8;
        }
    }

    // Fewer than 8 values are left. On their own and all equal, one short RLE run is never
    // longer than a padded bit-packed group.
    let tail = &values[i..];
    match tail.first() {
        Some(&value) if literal_start == i && all_equal(tail, value) => {
            rle_repeat(value, tail.len(), bit_width, out);
        }
        _ => put_bit_packed(&values[literal_start..], bit_width, out),
    }
}

/// Appends the RLE / bit-packed hybrid encoding of `count` copies of `value`: one RLE run
/// (or several if `count` is huge), O(1) in `count`.
///
/// Each run holds at most 2^31 - 1 values so that every reader can decode its header; a
/// `count` of 0 writes nothing. `value` must be below 2^`bit_width` and `bit_width` at most 32.
pub fn rle_repeat(value: u32, count: usize, bit_width: u8, out: &mut Vec<u8>) {
    debug_assert!(bit_width <= MAX_HYBRID_WIDTH, "bit width {bit_width} above 32");
    debug_assert!(fits(value, bit_width), "value {value} wider than {bit_width} bits");
    let le = value.to_le_bytes();
    let mut left = count;
    while left > 0 {
        let run = left.min(MAX_RLE_RUN);
        put_uleb128(out, (run as u64) << 1);
        // Fixed-size copies: a copy of a run-time length would cost a call to memcpy.
        match bit_width.div_ceil(8) {
            0 => {}
            1 => out.push(le[0]),
            2 => out.extend_from_slice(&[le[0], le[1]]),
            3 => out.extend_from_slice(&[le[0], le[1], le[2]]),
            _ => out.extend_from_slice(&le),
        }
        left -= run;
    }
}

/// Appends `DELTA_BINARY_PACKED` of `values` to `out`: block size 128, 4 miniblocks of 32.
///
/// Deltas use wrapping `i64` arithmetic, so any sequence round-trips, including jumps across
/// the whole `i64` range (which need 64-bit miniblocks). A partial last block writes only the
/// miniblocks it uses, the last of them padded with zeros; the bit widths of the unused ones
/// are 0. With fewer than two values only the header is written (its first value is 0 when
/// `values` is empty).
pub fn delta_binary_packed(values: &[i64], out: &mut Vec<u8>) {
    put_uleb128(out, DELTA_BLOCK_SIZE as u64);
    put_uleb128(out, DELTA_MINIBLOCKS as u64);
    put_uleb128(out, values.len() as u64);
    let Some(&first) = values.first() else {
        put_zigzag(out, 0);
        return;
    };
    put_zigzag(out, first);

    // Reused across blocks; only a partial (last) block leaves padding, which must be zero.
    let mut relative = [0u64; DELTA_BLOCK_SIZE];
    for block_start in (0..values.len() - 1).step_by(DELTA_BLOCK_SIZE) {
        let window = &values[block_start..values.len().min(block_start + DELTA_BLOCK_SIZE + 1)];
        let count = window.len() - 1;
        // First the deltas themselves (as u64 bit patterns), then less their minimum: in
        // wrapping arithmetic `(delta - min) as u64` equals `delta as u64 - min as u64`.
        for ((slot, &before), &after) in relative.iter_mut().zip(window).zip(&window[1..]) {
            *slot = after.wrapping_sub(before) as u64;
        }
        let min_delta = min_signed(&relative[..count]);
        for slot in &mut relative[..count] {
            *slot = slot.wrapping_sub(min_delta as u64);
        }
        relative[count..].fill(0);

        let (groups, _) = relative.as_chunks::<8>();
        let miniblocks = groups.chunks_exact(DELTA_MINIBLOCK_SIZE / 8);
        let used = count.div_ceil(DELTA_MINIBLOCK_SIZE);
        let mut widths = [0u8; DELTA_MINIBLOCKS];
        for (width, miniblock) in widths.iter_mut().zip(miniblocks.clone()).take(used) {
            *width = bit_width(miniblock.iter().flatten().fold(0, |acc, &v| acc | v));
        }

        put_zigzag(out, min_delta);
        out.extend_from_slice(&widths);
        for (&width, miniblock) in widths.iter().zip(miniblocks).take(used) {
            put_groups(miniblock, width, out);
        }
    }
}

/// The least of `values` read as `i64` (`i64::MAX` for none).
fn min_signed(values: &[u64]) -> i64 {
    // Four independent minimums, so that the comparisons do not wait on one another.
    let (chunks, rest) = values.as_chunks::<4>();
    let mut lanes = [i64::MAX; 4];
    for chunk in chunks {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane = (*lane).min(value as i64);
        }
    }
    let least = lanes.into_iter().fold(i64::MAX, i64::min);
    rest.iter().fold(least, |least, &value| least.min(value as i64))
}

/// Appends PLAIN booleans: bit-packed, least significant bit first, padded to a byte.
pub fn plain_bools(values: &[bool], out: &mut Vec<u8>) {
    let (bytes, rest) = values.as_chunks::<8>();
    out.reserve(values.len().div_ceil(8));
    out.extend(bytes.iter().map(|&bits| bool_byte(bits)));
    if !rest.is_empty() {
        let mut padded = [false; 8];
        padded[..rest.len()].copy_from_slice(rest);
        out.push(bool_byte(padded));
    }
}

/// 8 booleans as one byte, the first in the least significant bit.
fn bool_byte(bits: [bool; 8]) -> u8 {
    // Byte i of `spread` is bit i; the multiplication gathers bit i at position 56 + i, and
    // as every partial product is a distinct power of two, nothing carries into those bits.
    let spread = u64::from_le_bytes(bits.map(u8::from));
    (spread.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

/// Whether `value` fits in `bit_width` bits.
fn fits(value: u32, bit_width: u8) -> bool {
    bit_width >= MAX_HYBRID_WIDTH || value >> bit_width == 0
}

/// Whether every element of `values` equals `value` (branch-free, so it vectorises).
fn all_equal(values: &[u32], value: u32) -> bool {
    values.iter().fold(0, |acc, &v| acc | (v ^ value)) == 0
}

/// How many leading elements of `values` equal `value`.
fn run_length(values: &[u32], value: u32) -> usize {
    let (chunks, _) = values.as_chunks::<32>();
    let whole = chunks.iter().take_while(|chunk| all_equal(&chunk[..], value)).count() * 32;
    whole + values[whole..].iter().take_while(|&&v| v == value).count()
}

/// Appends `values` as bit-packed runs (as few as reader limits allow), the last group padded
/// with zeros. Writes nothing for no values.
fn put_bit_packed(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    debug_assert!(values.iter().all(|&v| fits(v, bit_width)), "value wider than {bit_width} bits");
    for run in values.chunks(MAX_PACKED_GROUPS * 8) {
        let groups = run.len().div_ceil(8);
        put_uleb128(out, ((groups as u64) << 1) | 1);
        let (whole, rest) = run.as_chunks::<8>();
        put_groups(whole, bit_width, out);
        if !rest.is_empty() {
            let mut padded = [0u32; 8];
            padded[..rest.len()].copy_from_slice(rest);
            put_groups(&[padded], bit_width, out);
        }
    }
}

/// Appends groups of 8 values (each below 2^width, width 0..=64) packed with `width` bits
/// each, least significant bit first: `width` bytes per group.
fn put_groups<T: Copy + Into<u64>>(groups: &[[T; 8]], width: u8, out: &mut Vec<u8>) {
    debug_assert!(width <= 64, "bit width {width} above 64");
    // One copy of the packing loop per width, so that every shift and offset in it is a
    // constant: this is several times faster than shifting by a run-time width.
    macro_rules! by_width {
        ($($w:literal)*) => {
            match width {
                0 => {}
                $($w => put_groups_of::<T, $w>(groups, out),)*
                _ => put_groups_of::<T, 64>(groups, out),
            }
        };
    }
    by_width!(
        1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63
    );
}

/// [`put_groups`] for one width `W` (1..=64).
fn put_groups_of<T: Copy + Into<u64>, const W: usize>(groups: &[[T; 8]], out: &mut Vec<u8>) {
    out.reserve(groups.len() * W);
    for group in groups {
        // 8 * W bits fill W bytes: up to 8 words, of which the last may be partly used.
        let mut words = [0u64; 8];
        for (k, &value) in group.iter().enumerate() {
            let value: u64 = value.into();
            let (index, shift) = (k * W / 64, k * W % 64);
            words[index] |= value << shift;
            if shift + W > 64 {
                words[index + 1] |= value >> (64 - shift);
            }
        }
        let mut bytes = [0u8; 64];
        for (chunk, word) in bytes.as_chunks_mut::<8>().0.iter_mut().zip(&words) {
            *chunk = word.to_le_bytes();
        }
        out.extend_from_slice(&bytes[..W]);
    }
}

/// Appends `value` as an unsigned LEB128 varint.
fn put_uleb128(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `value` zigzag-mapped to unsigned, as a LEB128 varint.
fn put_zigzag(out: &mut Vec<u8>, value: i64) {
    put_uleb128(out, ((value << 1) ^ (value >> 63)) as u64);
}

#[cfg(test)]
mod tests;
