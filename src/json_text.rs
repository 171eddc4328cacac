//! Where runs of plain text end in a JSON string: at a quote, a backslash or a control
//! character, the bytes a JSON string cannot hold as they are. Reading stored rows
//! (`store`) and writing response bodies (`api`) both scan every byte of every string for
//! them; a page of 100 calls is ~70 KB of such text. Found 16 bytes a step where a byte-
//! or word-at-a-time loop spent most of its instructions on the last few bytes of each
//! short string (callgrind, issue 15).

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGH_BITS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Whether `byte` ends a run of plain string text: a quote, a backslash or a control
/// character.
fn ends_run(byte: u8) -> bool {
    (byte == b'"') | (byte == b'\\') | (byte < 0x20)
}

/// The high bit of each zero byte of `word`; the lowest one set is exact (bytes above a
/// zero byte may be marked too).
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGH_BITS
}

/// The position of the first byte from `from` on that [`ends_run`] (`text.len()` if none
/// does). Sixteen bytes a step while none does (a fold the compiler turns into a few
/// vector instructions, where serde's scan went eight bytes a step); then eight bytes a
/// step, where the word's zero bytes tell the place; then byte by byte at the text's end.
pub fn run_end(text: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(Ok(chunk)) = text.get(at..at + 16).map(<&[u8; 16]>::try_from) {
        if chunk
            .iter()
            .fold(0u8, |any, &byte| any | u8::from(ends_run(byte)))
            != 0
        {
            break;
        }
        at += 16;
    }
    while let Some(Ok(bytes)) = text.get(at..at + 8).map(<[u8; 8]>::try_from) {
        let word = u64::from_le_bytes(bytes);
        let found = zero_bytes(word ^ (ONES * u64::from(b'"')))
            | zero_bytes(word ^ (ONES * u64::from(b'\\')))
            // A byte below 0x20 has its top three bits clear.
            | zero_bytes(word & (ONES * 0xe0));
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&byte) = text.get(at) {
        if ends_run(byte) {
            break;
        }
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_end_where_a_byte_by_byte_scan_ends_them() {
        let mut text = b"0123456789abcdef0123456789abcdef01234567\xff\x80".to_vec();
        for end in [b'"', b'\\', 0x00, 0x1f] {
            for at in 0..text.len() {
                let mut probe = text.clone();
                probe[at] = end;
                for from in 0..probe.len() {
                    let slow = probe[from..]
                        .iter()
                        .position(|&b| ends_run(b))
                        .map_or(probe.len(), |p| p + from);
                    assert_eq!(run_end(&probe, from), slow, "{probe:?} from {from}");
                }
            }
        }
        text.clear();
        assert_eq!(run_end(&text, 0), 0);
    }
}
