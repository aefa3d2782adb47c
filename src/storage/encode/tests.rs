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
    let bits: Vec<bool> = (0..bytes.len() * 8).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect();
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
        for values in [constant, counting, falling, timestamps, jittery, extremes, random, small] {
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
