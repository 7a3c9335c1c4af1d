//! Seeded random streams: one per (purpose, entity, day), so any part of
//! the simulation can be made on its own and comes out the same whatever
//! was made before it.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// What a random stream is for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    World,
    Plan,
    UserDay,
    ServerDay,
    Attack,
    Session,
}

/// The stream for `what` of entity `who` on world day `day`.
pub(crate) fn stream(seed: u64, what: Stream, who: u32, day: i32) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(key(seed, what, who, day))
}

/// A stable 64-bit key for (seed, what, who, day).
pub(crate) fn key(seed: u64, what: Stream, who: u32, day: i32) -> u64 {
    let mut b = [0u8; 9];
    b[0] = what as u8;
    b[1..5].copy_from_slice(&who.to_le_bytes());
    b[5..9].copy_from_slice(&day.to_le_bytes());
    xxh3_64_with_seed(&b, seed)
}
