//! Deterministic randomness for tests: the one generator every synthetic
//! scene and test uses, and the one byte-damage helper of the corruption
//! tests ("random damage gives a typed error or a valid asset, never a panic").

/// A small deterministic generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct TestRng(u64);

impl TestRng {
    /// A generator for `seed` (any value; seeds are spread so that nearby
    /// seeds give unrelated streams).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in `[0, 1)`, 24 bits.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
}

/// How [`corrupt`] damages a file.
#[derive(Clone, Copy, Debug)]
pub struct Damage<'a> {
    /// Edits per damaged copy: `1..=max_edits`.
    pub max_edits: usize,
    /// Characters typed into text (a header, JSON): digits, signs, brackets.
    pub text: &'a [u8],
    /// Typed characters land in the first `text_region` bytes (the header).
    pub text_region: usize,
}

impl Default for Damage<'_> {
    fn default() -> Self {
        Self { max_edits: 3, text: b"0123456789 \n-.e,{}[]\"", text_region: usize::MAX }
    }
}

/// Damages `bytes` in place: random bytes, flipped bits, characters typed
/// into (or inserted in) the text region, removed bytes, truncation.
pub fn corrupt(rng: &mut TestRng, bytes: &mut Vec<u8>, damage: &Damage<'_>) {
    for _ in 0..1 + rng.below(damage.max_edits.max(1)) {
        if bytes.is_empty() {
            return;
        }
        let anywhere = rng.below(bytes.len());
        let in_text = rng.below(bytes.len().min(damage.text_region));
        match rng.below(6) {
            0 => bytes[anywhere] = rng.next_u64() as u8,
            1 => bytes[anywhere] ^= 1 << rng.below(8),
            2 if !damage.text.is_empty() => bytes[in_text] = damage.text[rng.below(damage.text.len())],
            3 if !damage.text.is_empty() => bytes.insert(in_text, damage.text[rng.below(damage.text.len())]),
            4 => {
                bytes.remove(anywhere);
            }
            _ => bytes.truncate(anywhere),
        }
    }
}

/// What a corruption run saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FuzzOutcome {
    /// Damaged files that still parsed (and passed the check).
    pub accepted: usize,
    /// Damaged files rejected with an error.
    pub rejected: usize,
}

/// Damages each of `bases` `rounds` times and parses every copy: an error is
/// counted, a success must pass `check` (which asserts the asset is valid).
/// A panic anywhere fails the calling test.
pub fn fuzz_corruptions<T, E>(
    bases: &[Vec<u8>],
    rounds: usize,
    seed: u64,
    damage: &Damage<'_>,
    mut parse: impl FnMut(&[u8]) -> Result<T, E>,
    mut check: impl FnMut(&T),
) -> FuzzOutcome {
    let mut rng = TestRng::new(seed);
    let mut outcome = FuzzOutcome::default();
    for base in bases {
        for _ in 0..rounds {
            let mut bytes = base.clone();
            corrupt(&mut rng, &mut bytes, damage);
            match parse(&bytes) {
                Ok(asset) => {
                    check(&asset);
                    outcome.accepted += 1;
                }
                Err(_) => outcome.rejected += 1,
            }
        }
    }
    outcome
}
