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
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads the byte stream the encoders produce, panicking on anything malformed.
    struct Reader<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl<'a> Reader<'a> {
        fn new(bytes: &'a [u8]) -> Self {
            Reader { bytes, pos: 0 }
        }

        fn uleb128(&mut self) -> u64 {
            let mut value = 0u64;
            let mut shift = 0;
            loop {
                let byte = self.bytes[self.pos];
                self.pos += 1;
                assert!(shift < 64, "varint too long");
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return value;
                }
                shift += 7;
            }
        }

        fn zigzag(&mut self) -> i64 {
            let u = self.uleb128();
            ((u >> 1) as i64) ^ -((u & 1) as i64)
        }

        fn take(&mut self, n: usize) -> &'a [u8] {
            let bytes = &self.bytes[self.pos..self.pos + n];
            self.pos += n;
            bytes
        }

        fn finish(&self) {
            assert_eq!(self.pos, self.bytes.len(), "trailing bytes");
        }
    }

    /// Naive bit-by-bit unpacking of `count` values of `width` bits, LSB first.
    fn unpack(bytes: &[u8], width: usize, count: usize) -> Vec<u64> {
        assert_eq!(bytes.len(), (count * width).div_ceil(8), "packed length");
        (0..count)
            .map(|i| {
                (0..width).fold(0u64, |v, b| {
                    let bit = i * width + b;
                    v | (u64::from(bytes[bit / 8] >> (bit % 8) & 1) << b)
                })
            })
            .collect()
    }

    /// Reference hybrid decoder: decodes exactly `count` values and demands that the padding
    /// be zero, that only the final run be padded and that no bytes are left.
    fn decode_hybrid(bytes: &[u8], bit_width: u8, count: usize) -> Vec<u32> {
        let width = usize::from(bit_width);
        let mut r = Reader::new(bytes);
        let mut values = Vec::with_capacity(count);
        while values.len() < count {
            let header = r.uleb128();
            let n = usize::try_from(header >> 1).unwrap();
            assert!(n > 0, "empty run");
            assert!(header <= u64::from(u32::MAX), "header too large for readers");
            let need = count - values.len();
            if header & 1 == 1 {
                let unpacked = unpack(r.take(n * width), width, n * 8);
                assert!(n * 8 < need + 8, "bit-packed run overruns by a whole group");
                for (k, v) in unpacked.into_iter().enumerate() {
                    if k < need {
                        values.push(u32::try_from(v).unwrap());
                    } else {
                        assert_eq!(v, 0, "padding is not zero");
                    }
                }
            } else {
                assert!(n <= need, "RLE run overruns");
                let mut le = [0u8; 4];
                le[..width.div_ceil(8)].copy_from_slice(r.take(width.div_ceil(8)));
                values.extend(std::iter::repeat_n(u32::from_le_bytes(le), n));
            }
        }
        r.finish();
        values
    }

    /// Reference DELTA_BINARY_PACKED decoder; also demands minimal miniblock widths, zero
    /// padding, zero widths for unused miniblocks and no bytes left.
    fn decode_delta(bytes: &[u8]) -> Vec<i64> {
        let mut r = Reader::new(bytes);
        assert_eq!(r.uleb128(), 128, "block size");
        assert_eq!(r.uleb128(), 4, "miniblocks per block");
        let total = usize::try_from(r.uleb128()).unwrap();
        let first = r.zigzag();
        let mut values = Vec::with_capacity(total);
        if total == 0 {
            assert_eq!(first, 0);
            r.finish();
            return values;
        }
        values.push(first);
        let mut previous = first;
        while values.len() < total {
            let min_delta = r.zigzag();
            let widths: [u8; 4] = r.take(4).try_into().unwrap();
            let used = (total - values.len()).min(128).div_ceil(32);
            for (m, &width) in widths.iter().enumerate() {
                if m >= used {
                    assert_eq!(width, 0, "unused miniblock width");
                    continue;
                }
                assert!(width <= 64);
                let width = usize::from(width);
                let relative = unpack(r.take(32 * width / 8), width, 32);
                let max = relative.iter().copied().max().unwrap();
                assert_eq!(usize::from(bit_width(max)), width, "miniblock width not minimal");
                for d in relative {
                    if values.len() < total {
                        previous = previous.wrapping_add(min_delta).wrapping_add(d as i64);
                        values.push(previous);
                    } else {
                        assert_eq!(d, 0, "padding is not zero");
                    }
                }
            }
        }
        r.finish();
        values
    }

    fn decode_bools(bytes: &[u8], count: usize) -> Vec<bool> {
        assert_eq!(bytes.len(), count.div_ceil(8));
        let bits: Vec<bool> =
            (0..bytes.len() * 8).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect();
        assert!(bits[count..].iter().all(|&b| !b), "padding is not zero");
        bits[..count].to_vec()
    }

    fn hybrid(values: &[u32], bit_width: u8) -> Vec<u8> {
        let mut out = Vec::new();
        rle_hybrid(values, bit_width, &mut out);
        out
    }

    fn delta(values: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        delta_binary_packed(values, &mut out);
        out
    }

    fn mask(bit_width: u8) -> u32 {
        if bit_width >= 32 {
            u32::MAX
        } else {
            (1 << bit_width) - 1
        }
    }

    fn check_hybrid(values: &[u32], bit_width: u8) {
        let mut out = vec![0xAB]; // appends, never overwrites
        rle_hybrid(values, bit_width, &mut out);
        assert_eq!(out[0], 0xAB);
        assert_eq!(decode_hybrid(&out[1..], bit_width, values.len()), values, "width {bit_width}");
    }

    fn check_delta(values: &[i64]) {
        let mut out = vec![0xAB];
        delta_binary_packed(values, &mut out);
        assert_eq!(out[0], 0xAB);
        assert_eq!(decode_delta(&out[1..]), values, "{} values", values.len());
    }

    /// A small deterministic generator (xorshift64*).
    fn pseudo_random(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed | 1;
        move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn bit_widths() {
        let cases = [(0, 0), (1, 1), (2, 2), (3, 2), (7, 3), (8, 4), (255, 8), (256, 9)];
        for (max, width) in cases {
            assert_eq!(bit_width(max), width, "max {max}");
        }
        assert_eq!(bit_width(u64::from(u32::MAX)), 32);
        assert_eq!(bit_width(1 << 63), 64);
        assert_eq!(bit_width(u64::MAX), 64);
    }

    #[test]
    fn hybrid_spec_bit_packed_example() {
        // Encodings.md: 0..=7 with bit width 3 is 10001000 11000110 11111010.
        assert_eq!(hybrid(&[0, 1, 2, 3, 4, 5, 6, 7], 3), [0x03, 0x88, 0xC6, 0xFA]);
    }

    #[test]
    fn rle_run_of_eight() {
        // Header 8 << 1 = 16, then the value in ceil(width / 8) little-endian bytes.
        assert_eq!(hybrid(&[5; 8], 3), [0x10, 0x05]);
        assert_eq!(hybrid(&[5; 8], 8), [0x10, 0x05]);
        assert_eq!(hybrid(&[0x1_0005; 8], 17), [0x10, 0x05, 0x00, 0x01]);
        assert_eq!(hybrid(&[0xDEAD_BEEF; 8], 32), [0x10, 0xEF, 0xBE, 0xAD, 0xDE]);
        assert_eq!(hybrid(&[0; 8], 0), [0x10]);
    }

    #[test]
    fn rle_repeat_exact_bytes() {
        let mut out = Vec::new();
        rle_repeat(7, 300, 8, &mut out);
        assert_eq!(out, [0xD8, 0x04, 0x07]); // 600 as a varint
        out.clear();
        rle_repeat(7, 0, 8, &mut out);
        assert!(out.is_empty());
        rle_repeat(0, 20_000, 0, &mut out);
        assert_eq!(out, [0xC0, 0xB8, 0x02]); // 40_000 as a varint, no value bytes
        assert_eq!(decode_hybrid(&out, 0, 20_000), vec![0; 20_000]);
        out.clear();
        rle_repeat(0x0102_0304, 1, 32, &mut out);
        assert_eq!(out, [0x02, 0x04, 0x03, 0x02, 0x01]);
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn rle_repeat_huge_count_splits_runs() {
        let count = 5_000_000_000usize;
        let mut out = Vec::new();
        rle_repeat(3, count, 2, &mut out);
        let mut r = Reader::new(&out);
        let mut runs = Vec::new();
        while r.pos < out.len() {
            let header = r.uleb128();
            assert_eq!(header & 1, 0);
            assert!(header <= u64::from(u32::MAX));
            assert_eq!(r.take(1), [3]);
            runs.push(header >> 1);
        }
        assert_eq!(runs.len(), 3);
        assert_eq!(runs.iter().sum::<u64>(), count as u64);
    }

    #[test]
    fn hybrid_exact_bytes_and_lengths() {
        // 20 alternating bits: 3 groups bit-packed, the last padded with zeros.
        let alternating: Vec<u32> = (0..20).map(|i| i % 2).collect();
        assert_eq!(hybrid(&alternating, 1), [0x07, 0xAA, 0xAA, 0x0A]);

        // A run starting mid-group completes the bit-packed group; the rest is one RLE run,
        // then the lone tail value is a short RLE run.
        let mut values = vec![1, 2, 3];
        values.extend([5; 20]);
        values.push(4);
        let expected = [0x03, 0xD1, 0xDA, 0xB6, 0x1E, 0x05, 0x02, 0x04];
        assert_eq!(hybrid(&values, 3), expected);

        // A short all-equal input is one short RLE run.
        assert_eq!(hybrid(&[9, 9, 9], 4), [0x06, 0x09]);
        // 8 distinct values then 3 equal ones: one bit-packed run of 2 groups.
        let values = [0, 1, 2, 3, 4, 5, 6, 7, 9, 9, 9];
        assert_eq!(hybrid(&values, 4).len(), 1 + 2 * 4);
        // Nothing in, nothing out.
        assert!(hybrid(&[], 5).is_empty());
        assert!(hybrid(&[], 0).is_empty());

        // A page of 20_000 equal definition levels is a single 4-byte run.
        assert_eq!(hybrid(&vec![1; 20_000], 1), [0xC0, 0xB8, 0x02, 0x01]);
        // 1_000 values of width 7 with no repetition: one run of 125 groups, 2-byte header.
        let distinct: Vec<u32> = (0..1_000).map(|i| i % 128).collect();
        assert_eq!(hybrid(&distinct, 7).len(), 2 + 125 * 7);
    }

    #[test]
    fn hybrid_round_trips() {
        let mut next = pseudo_random(7);
        for bit_width in 0u8..=32 {
            let m = mask(bit_width);
            let max = m;
            let mut inputs: Vec<Vec<u32>> = Vec::new();
            for len in (0..=40).chain([63, 64, 65, 1_000]) {
                inputs.push(vec![max; len]);
                inputs.push((0..len as u32).map(|i| if i % 2 == 0 { 0 } else { max }).collect());
                inputs.push((0..len).map(|_| next() as u32 & m).collect());
                // Runs of every length 1..=20 in turn.
                let runs = (1..=20u32).flat_map(|r| std::iter::repeat_n(r & m, r as usize));
                inputs.push(runs.take(len).collect());
            }
            // A page of 20_000 values mixing long runs with noise.
            let mut page = Vec::new();
            while page.len() < 20_000 {
                let value = next() as u32 & m;
                let len = [1, 3, 7, 8, 9, 15, 16, 17, 100, 1_000][(next() % 10) as usize];
                page.extend(std::iter::repeat_n(value, len));
            }
            inputs.push(page);
            for values in &inputs {
                check_hybrid(values, bit_width);
            }
        }
    }

    #[test]
    fn delta_spec_examples() {
        // Encodings.md example 1: 1, 2, 3, 4, 5 — deltas all 1, min delta 1, width 0.
        let expected = [0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0];
        assert_eq!(delta(&[1, 2, 3, 4, 5]), expected);

        // Example 2: 7, 5, 3, 1, 2, 3, 4, 5 — min delta -2, relative 0 0 0 3 3 3 3, width 2;
        // one miniblock of 32 two-bit values (8 bytes), the other three not written.
        let expected = [
            0x80, 0x01, 0x04, 0x08, 0x0E, // header: 128, 4, 8 values, first 7
            0x03, 2, 0, 0, 0, // min delta -2, widths
            0xC0, 0x3F, 0, 0, 0, 0, 0, 0, // 0 0 0 3 | 3 3 3 0 | padding
        ];
        assert_eq!(delta(&[7, 5, 3, 1, 2, 3, 4, 5]), expected);
    }

    #[test]
    fn delta_header_only_and_padding() {
        assert_eq!(delta(&[]), [0x80, 0x01, 0x04, 0x00, 0x00]);
        assert_eq!(delta(&[5]), [0x80, 0x01, 0x04, 0x01, 0x0A]);
        assert_eq!(delta(&[-1]), [0x80, 0x01, 0x04, 0x01, 0x01]);

        // 131 values: a full block of 128 deltas of 1 (width 0), then a block of the two
        // deltas 1 and 3: min 1, relative 0 and 2 in one 2-bit miniblock padded to 32 values.
        let mut values: Vec<i64> = (0..=129).collect();
        values.push(132);
        let expected = [
            0x80, 0x01, 0x04, 0x83, 0x01, 0x00, // header: 128, 4, 131 values, first 0
            0x02, 0, 0, 0, 0, // block 1: min delta 1, widths 0
            0x02, 2, 0, 0, 0, // block 2: min delta 1, widths
            0x08, 0, 0, 0, 0, 0, 0, 0, // 0, 2, then 30 zeros of padding
        ];
        assert_eq!(delta(&values), expected);
    }

    #[test]
    fn delta_exact_lengths() {
        // Full miniblocks: 129 values of steps alternating 0 and 100 (width 7): header 6 bytes,
        // min delta 1, widths 4, four miniblocks of 32 * 7 / 8 = 28 bytes.
        let values: Vec<i64> = (0..129).map(|i| i / 2 * 100).collect();
        assert_eq!(delta(&values).len(), 6 + 1 + 4 + 4 * 28);
        // 34 deltas: two miniblocks used (the second padded), two not written.
        let values: Vec<i64> = (0..35).map(|i| i * i).collect();
        let widths = [bit_width(62), bit_width(66)]; // relative deltas 0..=62, then 64 and 66
        let body: usize = widths.iter().map(|&w| 4 * usize::from(w)).sum();
        let encoded = delta(&values);
        assert_eq!(encoded.len(), 4 + 1 + 1 + 4 + body);
        assert_eq!(encoded[6..10], [widths[0], widths[1], 0, 0]);
    }

    #[test]
    fn delta_round_trips() {
        let mut next = pseudo_random(11);
        const T0: i64 = 1_700_000_000_000_000_000;
        for len in [0usize, 1, 2, 3, 31, 32, 33, 127, 128, 129, 130, 255, 256, 257, 300, 1_000] {
            let constant = vec![42i64; len];
            let counting: Vec<i64> = (0..len as i64).collect();
            let falling: Vec<i64> = (0..len as i64).map(|i| 1_000 - 3 * i).collect();
            // A clock in nanoseconds: steps of 100 ms with runs of equal timestamps.
            let mut clock = T0;
            let timestamps: Vec<i64> = (0..len)
                .map(|_| {
                    if next().is_multiple_of(3) {
                        clock += 100_000_000;
                    }
                    clock
                })
                .collect();
            // A jittery clock: steps of 100 ms plus or minus some microseconds.
            let mut clock = T0;
            let jittery: Vec<i64> = (0..len)
                .map(|_| {
                    clock += 100_000_000 + (next() % 20_000) as i64 - 10_000;
                    clock
                })
                .collect();
            let extremes: Vec<i64> =
                (0..len).map(|i| if i % 2 == 0 { i64::MIN } else { i64::MAX }).collect();
            let random: Vec<i64> = (0..len).map(|_| next() as i64).collect();
            let small: Vec<i64> = (0..len).map(|_| (next() % 7) as i64 - 3).collect();
            for values in
                [constant, counting, falling, timestamps, jittery, extremes, random, small]
            {
                check_delta(&values);
            }
        }
        check_delta(&[i64::MIN, i64::MAX, i64::MIN, 0, -1, i64::MAX, i64::MAX, i64::MIN]);
        check_delta(&[0, i64::MAX, i64::MIN, -1, 1, i64::MIN + 1]);
        check_delta(&[i64::MAX, i64::MIN]);
        check_delta(&[i64::MIN; 200]);
    }

    #[test]
    fn delta_extreme_jumps_need_64_bits() {
        let values = [0, i64::MIN, 0, i64::MAX];
        let encoded = delta(&values);
        // Deltas MIN, MIN (wrapping), MAX: min MIN, relative 0, 0, 2^64 - 1.
        assert_eq!(encoded[15..19], [64, 0, 0, 0]);
        assert_eq!(encoded.len(), 5 + 10 + 4 + 32 * 8);
        assert_eq!(decode_delta(&encoded), values);
    }

    #[test]
    fn delta_every_width() {
        // Deltas alternating between i64::MIN and i64::MIN + (2^width - 1), which never wraps:
        // 40 of them, so one full miniblock and one padded one, both of exactly `width` bits.
        for width in 0..=64u8 {
            let spread = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
            let mut values = vec![-3i64];
            for k in 0..40 {
                let step = if k % 2 == 0 { 0 } else { spread };
                let step = i64::MIN.wrapping_add(step as i64);
                values.push(values[k].wrapping_add(step));
            }
            let encoded = delta(&values);
            // Header, min delta, widths, then two miniblocks of 32 values.
            let body = 2 * 4 * usize::from(width);
            let widths = encoded.len() - body - 4;
            assert_eq!(encoded[widths..widths + 4], [width, width, 0, 0], "width {width}");
            assert_eq!(decode_delta(&encoded), values, "width {width}");
        }
    }

    #[test]
    fn bools_exact_and_round_trip() {
        let mut out = Vec::new();
        let values = [true, false, true, true, false, false, false, false, true];
        plain_bools(&values, &mut out);
        assert_eq!(out, [0b0000_1101, 0b0000_0001]);
        out.clear();
        plain_bools(&[], &mut out);
        assert!(out.is_empty());
        plain_bools(&[true; 16], &mut out);
        assert_eq!(out, [0xFF, 0xFF]);

        let mut next = pseudo_random(3);
        for len in 0..=70 {
            let values: Vec<bool> = (0..len).map(|_| next().is_multiple_of(2)).collect();
            let mut out = vec![0xAB];
            plain_bools(&values, &mut out);
            assert_eq!(out[0], 0xAB);
            assert_eq!(decode_bools(&out[1..], len), values);
        }
    }

    /// Values of a given width, as runs of random lengths.
    fn hybrid_input() -> impl Strategy<Value = (u8, Vec<u32>)> {
        (0u8..=32).prop_flat_map(|bit_width| {
            let runs = prop::collection::vec((any::<u32>(), 1usize..40), 0..60);
            runs.prop_map(move |runs| {
                let values = runs
                    .into_iter()
                    .flat_map(|(value, len)| std::iter::repeat_n(value & mask(bit_width), len))
                    .collect();
                (bit_width, values)
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn prop_hybrid_round_trips((bit_width, values) in hybrid_input()) {
            check_hybrid(&values, bit_width);
        }

        #[test]
        fn prop_hybrid_noise_round_trips(bit_width in 0u8..=32, raw in prop::collection::vec(any::<u32>(), 0..300)) {
            let values: Vec<u32> = raw.iter().map(|v| v & mask(bit_width)).collect();
            check_hybrid(&values, bit_width);
        }

        #[test]
        fn prop_rle_repeat_round_trips(bit_width in 0u8..=32, value in any::<u32>(), count in 0usize..5_000) {
            let value = value & mask(bit_width);
            let mut out = Vec::new();
            rle_repeat(value, count, bit_width, &mut out);
            prop_assert_eq!(decode_hybrid(&out, bit_width, count), vec![value; count]);
        }

        #[test]
        fn prop_delta_round_trips(values in prop::collection::vec(any::<i64>(), 0..400)) {
            check_delta(&values);
        }

        #[test]
        fn prop_delta_clock_round_trips(
            start in any::<i64>(),
            steps in prop::collection::vec(prop_oneof![Just(0i64), Just(100_000_000), -1_000i64..1_000_000_000], 0..400),
        ) {
            let values: Vec<i64> = steps
                .iter()
                .scan(start, |clock, &step| {
                    *clock = clock.wrapping_add(step);
                    Some(*clock)
                })
                .collect();
            check_delta(&values);
        }

        #[test]
        fn prop_bools_round_trip(values in prop::collection::vec(any::<bool>(), 0..200)) {
            let mut out = Vec::new();
            plain_bools(&values, &mut out);
            prop_assert_eq!(decode_bools(&out, values.len()), values);
        }
    }
}
