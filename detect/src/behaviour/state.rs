//! Small bounded structures the baselines keep per entity.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// A 64-bit hash of a value, so sets hold 8 bytes per member whatever the
/// value's length.
pub(crate) fn h64(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// Events in a sliding window of event time: (time µs, value hash), at
/// most `cap` of them (the oldest go first when full).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Recent {
    items: VecDeque<(i64, u64)>,
}

impl Recent {
    /// Add an event and drop those older than `window_us` before `t`.
    pub(crate) fn push(&mut self, t: i64, v: u64, window_us: i64, cap: usize) {
        self.expire(t, window_us);
        if self.items.len() >= cap {
            self.items.pop_front();
        }
        self.items.push_back((t, v));
    }

    /// Drop events older than `window_us` before `t`.
    pub(crate) fn expire(&mut self, t: i64, window_us: i64) {
        while self
            .items
            .front()
            .is_some_and(|(at, _)| *at < t - window_us)
        {
            self.items.pop_front();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Events in the window with value `v`.
    pub(crate) fn count(&self, v: u64) -> usize {
        self.items.iter().filter(|(_, x)| *x == v).count()
    }

    /// Distinct values in the window.
    pub(crate) fn distinct(&self) -> usize {
        let mut v: Vec<u64> = self.items.iter().map(|(_, x)| *x).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    }

    /// Time of the oldest event in the window.
    pub(crate) fn first_time(&self) -> Option<i64> {
        self.items.front().map(|(t, _)| *t)
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }

    pub(crate) fn bytes(&self) -> usize {
        self.items.capacity() * 16
    }
}

/// Values seen before, at most `cap` (the least recently seen is
/// forgotten when full): the first-seen sets of the baselines.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Seen {
    items: Vec<(u64, i64)>,
}

impl Seen {
    /// Record `v` at `t`; true when it was not known.
    pub(crate) fn insert(&mut self, v: u64, t: i64, cap: usize) -> bool {
        if let Some(slot) = self.items.iter_mut().find(|(x, _)| *x == v) {
            slot.1 = slot.1.max(t);
            return false;
        }
        if self.items.len() >= cap
            && let Some(oldest) = self
                .items
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(i, _)| i)
        {
            self.items.swap_remove(oldest);
        }
        self.items.push((v, t));
        true
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, v: u64) -> bool {
        self.items.iter().any(|(x, _)| *x == v)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.items.capacity() * 16
    }
}

/// Distinct values in a sliding window, counted exactly up to `cap` and
/// saturating there, with the entity's own normal: the largest count it
/// reached in earlier quarter hours, decayed by half a week at a time.
///
/// A quarter hour's peak joins the normal only half an hour after it
/// ends, so a scan that runs for longer than one quarter does not raise
/// the bar it must clear. A quarter in which a signal fired joins it with
/// the threshold, not its peak: a source's first sweep of 30 hosts
/// teaches that 20 is its normal (so the same sweep every hour stops
/// firing), while later scans all face the same bar, three times the
/// threshold, instead of three times the last scan.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct WindowDistinct {
    /// Each distinct value with the time it was first seen in the window,
    /// oldest first.
    members: std::collections::VecDeque<(u64, i64)>,
    quarter_start: i64,
    /// Peak counts of the current quarter hour (0) and the two before;
    /// with [`FROZEN`] set once a signal fired in that quarter.
    peaks: [u32; 3],
    pub(crate) usual_max: f64,
    /// When the last signal was raised; none again within one window.
    fired_at: Option<i64>,
    /// While an episode that fired goes on (the count has not fallen
    /// below this threshold since), its quarters teach the threshold
    /// only; 0 outside an episode.
    #[serde(default)]
    episode_floor: u32,
    /// The last time the count was at or above `episode_floor`: an
    /// episode ends a whole window after that, not at the first dip (a
    /// full window empties at once when its capped members age out).
    #[serde(default)]
    episode_high: i64,
}

const QUARTER: i64 = 15 * 60 * 1_000_000;
/// Set on a quarter's peak once a signal fired: it grows no more.
const FROZEN: u32 = 1 << 31;

impl WindowDistinct {
    /// Count `v` at `t` in the window of `window_us` ending at `t`;
    /// returns the count.
    pub(crate) fn add(&mut self, t: i64, v: u64, window_us: i64, cap: usize) -> usize {
        if t >= self.quarter_start + QUARTER {
            let quarters = (t - self.quarter_start) / QUARTER;
            let decay = 0.5f64.powf(QUARTER as f64 / (3.5 * 86_400e6));
            let rotations = quarters.min(self.peaks.len() as i64);
            for _ in 0..rotations {
                self.usual_max = (self.usual_max * decay).max(f64::from(self.peaks[2] & !FROZEN));
                self.peaks.rotate_right(1);
                self.peaks[0] = 0;
            }
            // The quiet quarters after those decay the normal too.
            self.usual_max *= decay.powf((quarters - rotations) as f64);
            self.quarter_start = t - t.rem_euclid(QUARTER);
        }
        while self
            .members
            .front()
            .is_some_and(|&(_, seen)| seen <= t - window_us)
        {
            self.members.pop_front();
        }
        if self.members.len() < cap && !self.members.iter().any(|&(m, _)| m == v) {
            self.members.push_back((v, t));
        }
        let n = self.members.len();
        if self.episode_floor > 0 {
            if n as u32 >= self.episode_floor {
                self.episode_high = t;
            } else if t - self.episode_high >= window_us {
                self.episode_floor = 0;
            }
        }
        if self.episode_floor > 0 {
            // A scan that fired is still going on, or its window is still
            // full of it: it is not this source's normal.
            if self.peaks[0] & FROZEN == 0 {
                self.peaks[0] = FROZEN | self.episode_floor;
            }
        } else if self.peaks[0] & FROZEN == 0 {
            self.peaks[0] = self.peaks[0].max(n as u32);
        }
        n
    }

    /// Whether a signal may be raised at `t`, and if so, note that one
    /// is; `floor` is the configured threshold.
    pub(crate) fn fire(&mut self, t: i64, window_us: i64, floor: f64) -> bool {
        if self.fired_at.is_some_and(|f| t < f + window_us && t >= f) {
            return false;
        }
        self.fired_at = Some(t);
        self.episode_floor = (floor.ceil() as u32).clamp(1, FROZEN - 1);
        self.episode_high = t;
        // A quarter that fired teaches the threshold, not the attack: a
        // first sweep stops the same sweep from firing every hour, and
        // every later scan faces the same bar (three times the threshold)
        // instead of three times the last one.
        // The quarters not yet learnt held the scan's ramp: they teach at
        // most the threshold too.
        let floor = (floor.ceil() as u32).min(FROZEN - 1);
        for p in &mut self.peaks {
            *p = FROZEN | (*p & !FROZEN).min(floor);
        }
        self.peaks[0] = FROZEN | floor;
        true
    }

    pub(crate) fn bytes(&self) -> usize {
        self.members.capacity() * 16 + 72
    }
}

/// A map as a list of pairs, for serde formats whose map keys must be
/// text (JSON) when the key is not.
pub(crate) mod pairs {
    use std::collections::HashMap;
    use std::hash::Hash;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<K, V, S>(m: &HashMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize,
        V: Serialize,
        S: Serializer,
    {
        s.collect_seq(m.iter())
    }

    pub(crate) fn deserialize<'de, K, V, D>(d: D) -> Result<HashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// Great-circle distance in km.
pub(crate) fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_expires_by_time_and_counts_distinct() {
        let mut r = Recent::default();
        r.push(0, 1, 10, 8);
        r.push(5, 2, 10, 8);
        r.push(6, 2, 10, 8);
        assert_eq!((r.len(), r.distinct()), (3, 2));
        r.push(16, 3, 10, 8);
        assert_eq!(
            (r.len(), r.distinct()),
            (2, 2),
            "the events at 0 and 5 are out"
        );
        for i in 0..20 {
            r.push(16, 100 + i, 10, 8);
        }
        assert_eq!(r.len(), 8, "capped");
    }

    #[test]
    fn seen_forgets_the_least_recent_when_full() {
        let mut s = Seen::default();
        assert!(s.insert(1, 0, 2));
        assert!(s.insert(2, 1, 2));
        assert!(!s.insert(1, 2, 2), "known; refreshed");
        assert!(s.insert(3, 3, 2), "2 is forgotten");
        assert!(s.contains(1) && s.contains(3) && !s.contains(2));
    }

    #[test]
    fn window_distinct_slides_and_learns_its_peak_half_an_hour_late() {
        const MIN: i64 = 60_000_000;
        let mut w = WindowDistinct::default();
        // 30 values in the first minute; the 10-minute window holds them
        // until minute 10, then lets them go one by one.
        for p in 0..30 {
            w.add(p as i64 * 1_000_000, p, 10 * MIN, 64);
        }
        assert_eq!(w.add(30_000_000, 5, 10 * MIN, 64), 30);
        assert_eq!(w.add(10 * MIN + 15_000_000, 99, 10 * MIN, 64), 15);
        // The first quarter's peak is not yet the normal in the third
        // quarter, and is from the fourth.
        w.add(40 * MIN, 100, 10 * MIN, 64);
        assert_eq!(w.usual_max, 0.0);
        w.add(45 * MIN, 101, 10 * MIN, 64);
        assert!((w.usual_max - 30.0).abs() < 0.1, "{}", w.usual_max);
        // Capped.
        for p in 200..300 {
            w.add(46 * MIN, p, 10 * MIN, 64);
        }
        assert_eq!(w.add(46 * MIN, 1_000, 10 * MIN, 64), 64);
    }

    #[test]
    fn distances() {
        let london = (51.5074, -0.1278);
        let nyc = (40.7128, -74.0060);
        let d = km(london, nyc);
        assert!((d - 5570.0).abs() < 20.0, "{d}");
        assert!(km(london, london) < 1e-6);
    }
}
