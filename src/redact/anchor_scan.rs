//! The anchor scan: where, from a given offset, the next redaction anchor starts (ASCII
//! case-insensitively). The redactor calls it once per anchor and once more per text, so it is
//! most of the time spent on text without secrets.
//!
//! Anchors are rare in session text but their first bytes are not, and a case-insensitive
//! Aho-Corasick automaton walks every byte, one at a time. With AVX2 a
//! fingerprint test in the manner of Teddy (the `aho-corasick` crate's packed searcher, which has
//! no case-insensitive mode) screens 32 positions at once: each anchor's first four bytes, folded
//! with `| 0x20` so that both cases of a letter look the same, are looked up by nibble in 16
//! buckets; a position whose four bytes all fall in one bucket is a candidate, and the automaton,
//! anchored there, says whether an anchor really starts at it. Every anchor is a candidate where
//! it occurs (the fold keeps ASCII case-insensitive equality), so the positions found are exactly
//! the automaton's. Without AVX2 the automaton scans alone.

use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, Input, MatchKind, StartKind};

/// Finds anchor starts; build once (see [`AnchorScan::new`]) and share.
pub(super) struct AnchorScan {
    /// The anchors, ASCII case-insensitively: the whole scan without a fingerprint, and the
    /// confirmation of each fingerprint candidate with one.
    automaton: AhoCorasick,
    #[cfg(target_arch = "x86_64")]
    fingerprint: Option<avx2::Fingerprint>,
}

impl AnchorScan {
    /// The scan for `anchors`, fingerprinted where the CPU allows (AVX2) and every anchor has
    /// at least three bytes.
    pub(super) fn new(anchors: &[&str]) -> AnchorScan {
        AnchorScan {
            #[cfg(target_arch = "x86_64")]
            fingerprint: avx2::Fingerprint::new(anchors),
            ..AnchorScan::automaton_only(anchors)
        }
    }

    /// The scan by the automaton alone: what runs without AVX2, and the oracle of the tests.
    pub(super) fn automaton_only(anchors: &[&str]) -> AnchorScan {
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            // Unanchored for the plain scan, anchored to confirm a candidate.
            .start_kind(StartKind::Both)
            // A DFA: several times faster than the default NFA for this many case-insensitive
            // patterns, and small (a few hundred states).
            .kind(Some(AhoCorasickKind::DFA))
            .build(anchors)
            .expect("the anchors are constant and covered by tests");
        AnchorScan {
            automaton,
            #[cfg(target_arch = "x86_64")]
            fingerprint: None,
        }
    }

    /// The first position at or after `from` where an anchor starts and ends within `haystack`.
    pub(super) fn next(&self, haystack: &str, from: usize) -> Option<usize> {
        let from = from.min(haystack.len());
        #[cfg(target_arch = "x86_64")]
        if let Some(fingerprint) = &self.fingerprint {
            return fingerprint.next_candidate(haystack.as_bytes(), from, |at| {
                let input = Input::new(haystack)
                    .span(at..haystack.len())
                    .anchored(Anchored::Yes);
                self.automaton.find(input).is_some()
            });
        }
        let input = Input::new(haystack).span(from..haystack.len());
        self.automaton.find(input).map(|found| found.start())
    }
}

/// The AVX2 fingerprint (x86-64 only; elsewhere the automaton scans alone).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// The shortest anchor the fingerprint can screen: its buckets need a byte at offsets 0 to 2
    /// (offset 3 may be any byte for a three-byte anchor).
    const MIN_ANCHOR_LEN: usize = 3;
    /// How many leading bytes of an anchor the fingerprint looks at.
    const FINGERPRINT_LEN: usize = 4;
    /// Positions screened per step (one AVX2 register of bytes).
    const BLOCK: usize = 32;
    /// Bytes one step reads: a block, and the fingerprint's last offset past its last position.
    const BLOCK_READ: usize = BLOCK + FINGERPRINT_LEN - 1;
    /// Buckets per half: one bit of a byte each. There are two halves, so 16 buckets.
    const BUCKETS_PER_HALF: usize = 8;
    const HALVES: usize = 2;

    /// Fold a byte as the fingerprint sees it: an ASCII letter's two cases become one byte. Other
    /// bytes merge with the byte 0x20 apart (`\r` with `-`): more candidates, never fewer.
    fn fold(byte: u8) -> u8 {
        byte | 0x20
    }

    /// Nibble tables, Teddy style: for offset `k` and half `h`, a byte `b` (folded) is in bucket
    /// `i` of that half when bit `i` is set in both `low[k][h][b & 15]` and `high[k][h][b >> 4]`.
    /// Each table is 16 bytes written twice, once per 128-bit lane of an AVX2 register.
    pub(super) struct Fingerprint {
        low: [[[u8; 32]; HALVES]; FINGERPRINT_LEN],
        high: [[[u8; 32]; HALVES]; FINGERPRINT_LEN],
    }

    impl Fingerprint {
        /// Tables for `anchors`; `None` without AVX2 or if an anchor is too short to fingerprint.
        /// Anchors with the same folded key (first four bytes) share a bucket; keys are sorted so
        /// that a bucket holds keys with a common start (`ghp_`, `ghr_`, `ghs_`), which keeps the
        /// byte sets of each offset, and so the false candidates, small. Three-byte keys get
        /// buckets of their own: any byte matches their offset 3, which would spoil a longer
        /// key's test there.
        pub(super) fn new(anchors: &[&str]) -> Option<Fingerprint> {
            if !std::is_x86_feature_detected!("avx2") {
                return None;
            }
            let mut keys: Vec<Vec<u8>> = Vec::new();
            for anchor in anchors {
                if anchor.len() < MIN_ANCHOR_LEN {
                    return None;
                }
                let key: Vec<u8> = anchor.bytes().take(FINGERPRINT_LEN).map(fold).collect();
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            keys.sort();
            let (short, long): (Vec<_>, Vec<_>) =
                keys.into_iter().partition(|key| key.len() < FINGERPRINT_LEN);
            let buckets = BUCKETS_PER_HALF * HALVES;
            let short_buckets = short.len().div_ceil(4).min(buckets / 2);
            let long_buckets = buckets - short_buckets;
            let mut fingerprint = Fingerprint {
                low: [[[0; 32]; HALVES]; FINGERPRINT_LEN],
                high: [[[0; 32]; HALVES]; FINGERPRINT_LEN],
            };
            let spread = |count: usize, buckets: usize, index: usize| index * buckets / count.max(1);
            for (index, key) in short.iter().enumerate() {
                fingerprint.add(spread(short.len(), short_buckets, index), key);
            }
            for (index, key) in long.iter().enumerate() {
                fingerprint.add(short_buckets + spread(long.len(), long_buckets, index), key);
            }
            Some(fingerprint)
        }

        fn add(&mut self, bucket: usize, key: &[u8]) {
            let (half, bit) = (bucket / BUCKETS_PER_HALF, 1u8 << (bucket % BUCKETS_PER_HALF));
            for offset in 0..FINGERPRINT_LEN {
                let (low, high) = (&mut self.low[offset][half], &mut self.high[offset][half]);
                let nibbles = match key.get(offset) {
                    Some(&byte) => vec![(byte & 15, byte >> 4)],
                    // Past a short key: any byte.
                    None => (0..16).map(|nibble| (nibble, nibble)).collect(),
                };
                for (low_nibble, high_nibble) in nibbles {
                    for lane in [0, 16] {
                        low[lane + usize::from(low_nibble)] |= bit;
                        high[lane + usize::from(high_nibble)] |= bit;
                    }
                }
            }
        }

        /// The first candidate at or after `from` (at most `haystack.len()`) that `confirm` accepts.
        pub(super) fn next_candidate(
            &self,
            haystack: &[u8],
            from: usize,
            confirm: impl Fn(usize) -> bool,
        ) -> Option<usize> {
            // SAFETY: `new` builds a `Fingerprint` only where AVX2 is present.
            unsafe { self.next_candidate_avx2(haystack, from, &confirm) }
        }

        /// `next_candidate`, compiled for AVX2 so that the block test is inlined into the loop.
        #[target_feature(enable = "avx2")]
        unsafe fn next_candidate_avx2(
            &self,
            haystack: &[u8],
            from: usize,
            confirm: &impl Fn(usize) -> bool,
        ) -> Option<usize> {
            let mut block = from;
            while let Some(bytes) = haystack[block..].first_chunk() {
                if let Some(found) = first_confirmed(self.candidates(bytes), block, confirm) {
                    return Some(found);
                }
                block += BLOCK;
            }
            // The last positions (fewer than BLOCK_READ bytes left) are screened on a zero-padded
            // copy. Padding can only add candidates, which `confirm`, reading the real haystack,
            // rejects.
            let tail = &haystack[block..];
            let mut padded = [0u8; BLOCK + BLOCK_READ];
            padded[..tail.len()].copy_from_slice(tail);
            for start in (0..tail.len()).step_by(BLOCK) {
                let Some(bytes) = padded[start..].first_chunk() else {
                    break;
                };
                let positions = tail.len() - start;
                let mut candidates = self.candidates(bytes);
                if positions < BLOCK {
                    candidates &= (1u32 << positions) - 1;
                }
                if let Some(found) = first_confirmed(candidates, block + start, confirm) {
                    return Some(found);
                }
            }
            None
        }

        /// Bit `j` set: position `j` of `bytes` is a candidate.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn candidates(&self, bytes: &[u8; BLOCK_READ]) -> u32 {
            let table = |table: &[u8; 32]| _mm256_loadu_si256(table.as_ptr().cast());
            let fold_bit = _mm256_set1_epi8(0x20);
            let nibble_mask = _mm256_set1_epi8(0x0F);
            let mut in_bucket = [_mm256_set1_epi8(-1); HALVES];
            for offset in 0..FINGERPRINT_LEN {
                let folded = _mm256_or_si256(_mm256_loadu_si256(bytes.as_ptr().add(offset).cast()), fold_bit);
                let low = _mm256_and_si256(folded, nibble_mask);
                let high = _mm256_and_si256(_mm256_srli_epi16(folded, 4), nibble_mask);
                for (half, buckets) in in_bucket.iter_mut().enumerate() {
                    let here = _mm256_and_si256(
                        _mm256_shuffle_epi8(table(&self.low[offset][half]), low),
                        _mm256_shuffle_epi8(table(&self.high[offset][half]), high),
                    );
                    *buckets = _mm256_and_si256(*buckets, here);
                }
            }
            let zero = _mm256_setzero_si256();
            let in_none = _mm256_and_si256(
                _mm256_cmpeq_epi8(in_bucket[0], zero),
                _mm256_cmpeq_epi8(in_bucket[1], zero),
            );
            !(_mm256_movemask_epi8(in_none) as u32)
        }
    }

    /// The first position of `candidates` (bit `j`: position `block + j`) that `confirm` accepts.
    fn first_confirmed(mut candidates: u32, block: usize, confirm: &impl Fn(usize) -> bool) -> Option<usize> {
        while candidates != 0 {
            let at = block + candidates.trailing_zeros() as usize;
            if confirm(at) {
                return Some(at);
            }
            candidates &= candidates - 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::ANCHORS;

    /// Every anchor start `scan` finds in `text`, walking as the redactor does (each search from
    /// one past the last start).
    fn starts(scan: &AnchorScan, text: &str) -> Vec<usize> {
        let mut found = Vec::new();
        let mut at = 0;
        while let Some(start) = scan.next(text, at) {
            found.push(start);
            at = start + 1;
        }
        found
    }

    /// Texts where anchors, their prefixes and bytes the fold merges with theirs (`@` with `` ` ``,
    /// `\r` with `-`, DEL with `_`) fall at every offset of a block and at the very end.
    fn seeded_texts() -> Vec<String> {
        const NOISE: &[&str] = &[
            " ", "\r", "\n", "-", "_", "\u{7f}", "@", "`", "é", "€", "x", "gh", "gl", "se", "tok", "pas",
            "\"", ":", "/", "=", "k", "a1", "S", "K",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let mut texts = Vec::new();
        for _ in 0..6_000 {
            let mut text = String::new();
            for _ in 0..1 + next(10) {
                match next(4) {
                    0 => {
                        let anchor = ANCHORS[next(ANCHORS.len())];
                        // A prefix or the whole anchor, each letter in either case.
                        let take = if next(3) == 0 {
                            1 + next(anchor.len())
                        } else {
                            anchor.len()
                        };
                        text.extend(anchor[..take].chars().map(|c| {
                            if next(2) == 0 {
                                c.to_ascii_uppercase()
                            } else {
                                c.to_ascii_lowercase()
                            }
                        }));
                    }
                    1 => text.push_str(&"z".repeat(next(40))),
                    _ => text.push_str(NOISE[next(NOISE.len())]),
                }
            }
            texts.push(text);
        }
        texts
    }

    #[test]
    fn the_fingerprint_is_used_where_avx2_is() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            AnchorScan::new(ANCHORS).fingerprint.is_some(),
            std::is_x86_feature_detected!("avx2")
        );
    }

    /// The fingerprinted scan finds exactly the automaton's anchors, from every start offset.
    #[test]
    fn the_fingerprint_finds_exactly_the_automatons_anchors() {
        let (scan, oracle) = (AnchorScan::new(ANCHORS), AnchorScan::automaton_only(ANCHORS));
        let texts = seeded_texts();
        let mut anchors_found = 0;
        for text in &texts {
            let expected = starts(&oracle, text);
            anchors_found += expected.len();
            assert_eq!(starts(&scan, text), expected, "{text:?}");
            for from in 0..=text.len() + 1 {
                assert_eq!(
                    scan.next(text, from),
                    oracle.next(text, from),
                    "{text:?} from {from}"
                );
            }
        }
        // The seeded texts do hold anchors, at many offsets.
        assert!(anchors_found > texts.len(), "{anchors_found}");
    }

    /// Each anchor alone, in both cases, at every offset of a block and ending the text.
    #[test]
    fn every_anchor_is_found_at_every_offset() {
        let (scan, oracle) = (AnchorScan::new(ANCHORS), AnchorScan::automaton_only(ANCHORS));
        for anchor in ANCHORS {
            for spelling in [anchor.to_ascii_lowercase(), anchor.to_ascii_uppercase()] {
                for offset in 0..70 {
                    for tail in ["", " and more text after the anchor, past a block"] {
                        let text = format!("{}{spelling}{tail}", ".".repeat(offset));
                        assert_eq!(scan.next(&text, 0), Some(offset), "{text:?}");
                        // An anchor cut off by the end of the haystack is none.
                        let cut = &text[..offset + spelling.len() - 1];
                        assert_ne!(scan.next(cut, offset), Some(offset), "{cut:?}");
                        assert_eq!(scan.next(cut, 0), oracle.next(cut, 0), "{cut:?}");
                    }
                }
            }
        }
    }
}
