//! The compiled form of an expression: one bitset per field, the day-of-month
//! and day-of-week specials, and the search for the next / previous matching
//! civil time ("local seconds": seconds since 1970-01-01T00:00:00 on the
//! zone's wall clock). Time zones are applied one level up, in `search.rs`.

use crate::schedule::calendar::civil::{
    DAY, MAX_UNIX, civil_from_days, days_from_civil, days_in_month, weekday,
};

/// Years a year field can name.
pub(crate) const YEAR_MIN: u32 = 1;
pub(crate) const YEAR_MAX: u32 = 9999;
const YEAR_WORDS: usize = (YEAR_MAX as usize >> 6) + 1;

/// A compiled expression. Bit `n` of a field's mask set means value `n`
/// matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Spec {
    pub(crate) seconds: u64,
    pub(crate) minutes: u64,
    pub(crate) hours: u64,
    /// Bits 1..=12.
    pub(crate) months: u64,
    /// Plain day-of-month values, bits 1..=31.
    pub(crate) dom: u32,
    /// `L`: the last day of the month.
    pub(crate) dom_last: bool,
    /// `LW`: the last weekday (Mon-Fri) of the month.
    pub(crate) dom_last_weekday: bool,
    /// `nW`: bit n = the weekday nearest to day n.
    pub(crate) dom_nearest: u32,
    /// Day-of-month is `*` or `?`.
    pub(crate) dom_star: bool,
    /// Plain weekdays, bits 0..=6 (0 = Sunday).
    pub(crate) dow: u8,
    /// `nL`: bit n = the last weekday n of the month.
    pub(crate) dow_last: u8,
    /// `w#n`: bit (n-1)*7+w = the n-th weekday w of the month.
    pub(crate) dow_nth: u64,
    /// Day-of-week is `*` or `?`.
    pub(crate) dow_star: bool,
    /// `dow_by_first[w]`: days 1..=31 whose weekday is in `dow` when day 1
    /// is weekday `w`.
    pub(crate) dow_by_first: [u32; 7],
    /// Allowed years (bit y); `None` when there is no year field or it is `*`.
    pub(crate) years: Option<Box<[u64; YEAR_WORDS]>>,
    /// Both day fields restricted: require both (`true`) or either.
    pub(crate) days_and: bool,
    /// The hour field is restricted: a fixed wall-time job for DST purposes.
    pub(crate) wall_time: bool,
    /// Every day matches (no year, month or day restriction): the search
    /// needs only the time of day.
    pub(crate) all_days: bool,
    /// The first matching second of a day.
    pub(crate) first_tod: i64,
}

#[inline]
fn next_bit(mask: u64, from: i64) -> Option<i64> {
    if !(0..64).contains(&from) {
        return None;
    }
    let m = mask & (!0u64 << from);
    if m == 0 {
        None
    } else {
        Some(i64::from(m.trailing_zeros()))
    }
}

#[inline]
fn prev_bit(mask: u64, upto: i64) -> Option<i64> {
    if upto < 0 {
        return None;
    }
    let m = if upto >= 63 {
        mask
    } else {
        mask & ((2u64 << upto) - 1)
    };
    if m == 0 {
        None
    } else {
        Some(63 - i64::from(m.leading_zeros()))
    }
}

/// The day of month of the weekday (Mon-Fri) nearest to day `n`, without
/// leaving the month (Quartz's `W`).
fn nearest_weekday(n: u32, dim: u32, wd_first: u32) -> Option<u32> {
    if n == 0 || n > dim {
        return None;
    }
    let wd = (wd_first + n - 1) % 7;
    Some(match wd {
        6 if n == 1 => 3,       // Saturday the 1st: Monday the 3rd
        6 => n - 1,             // Saturday: Friday before
        0 if n == dim => n - 2, // Sunday the last: Friday before
        0 => n + 1,             // Sunday: Monday after
        _ => n,
    })
}

impl Spec {
    /// Whether year `y` is allowed.
    #[inline]
    fn year_ok(&self, y: i64) -> bool {
        match &self.years {
            None => true,
            Some(bits) => {
                (YEAR_MIN as i64..=YEAR_MAX as i64).contains(&y)
                    && bits[(y >> 6) as usize] >> (y & 63) & 1 == 1
            }
        }
    }

    /// The first allowed year >= `y`, a word of the year bitset at a time.
    fn next_year(&self, y: i64) -> Option<i64> {
        let Some(bits) = &self.years else {
            return Some(y);
        };
        let y = y.max(YEAR_MIN as i64);
        if y > YEAR_MAX as i64 {
            return None;
        }
        let mut w = (y >> 6) as usize;
        let mut word = bits[w] & (!0u64 << (y & 63));
        loop {
            if word != 0 {
                let found = (w as i64) * 64 + i64::from(word.trailing_zeros());
                return (found <= YEAR_MAX as i64).then_some(found);
            }
            w += 1;
            word = *bits.get(w)?;
        }
    }

    /// The last allowed year <= `y`, a word of the year bitset at a time.
    fn prev_year(&self, y: i64) -> Option<i64> {
        let Some(bits) = &self.years else {
            return Some(y);
        };
        let y = y.min(YEAR_MAX as i64);
        if y < YEAR_MIN as i64 {
            return None;
        }
        let mut w = (y >> 6) as usize;
        let below = y & 63;
        let mut word = bits[w] & if below == 63 { !0 } else { (2u64 << below) - 1 };
        loop {
            if word != 0 {
                let found = (w as i64) * 64 + 63 - i64::from(word.leading_zeros());
                return (found >= YEAR_MIN as i64).then_some(found);
            }
            w = w.checked_sub(1)?;
            word = bits[w];
        }
    }

    /// Days of month `m` of year `y` that match both day fields, as bits
    /// 1..=31.
    #[inline]
    pub(crate) fn day_mask(&self, y: i64, m: u32) -> u32 {
        let dim = days_in_month(y, m);
        let valid = ((1u64 << (dim + 1)) - 2) as u32;
        if self.dom_star && self.dow_star {
            return valid;
        }
        let wd_first = weekday(days_from_civil(y, m, 1));
        let dom = if self.dom_star {
            valid
        } else {
            let mut md = self.dom & valid;
            if self.dom_last {
                md |= 1 << dim;
            }
            let mut near = self.dom_nearest;
            while near != 0 {
                let n = near.trailing_zeros();
                near &= near - 1;
                if let Some(d) = nearest_weekday(n, dim, wd_first) {
                    md |= 1 << d;
                }
            }
            if self.dom_last_weekday {
                let wd_last = (wd_first + dim - 1) % 7;
                let d = match wd_last {
                    6 => dim - 1,
                    0 => dim - 2,
                    _ => dim,
                };
                md |= 1 << d;
            }
            md
        };
        let dow = if self.dow_star {
            valid
        } else {
            let mut md = self.dow_by_first[wd_first as usize] & valid;
            let mut last = self.dow_last;
            while last != 0 {
                let w = last.trailing_zeros();
                last &= last - 1;
                let wd_last = (wd_first + dim - 1) % 7;
                md |= 1 << (dim - (wd_last + 7 - w) % 7);
            }
            let mut nth = self.dow_nth;
            while nth != 0 {
                let bit = nth.trailing_zeros();
                nth &= nth - 1;
                let (n, w) = (bit / 7 + 1, bit % 7);
                let d = 1 + (w + 7 - wd_first) % 7 + 7 * (n - 1);
                if d <= dim {
                    md |= 1 << d;
                }
            }
            md
        };
        if self.dom_star {
            dow
        } else if self.dow_star {
            dom
        } else if self.days_and {
            dom & dow
        } else {
            dom | dow
        }
    }

    /// Whether the civil time `local` (local seconds) matches.
    pub(crate) fn matches_local(&self, local: i64) -> bool {
        let (y, m, d) = civil_from_days(local.div_euclid(DAY));
        let sod = local.rem_euclid(DAY);
        self.year_ok(y)
            && self.months >> m & 1 == 1
            && self.day_mask(y, m) >> d & 1 == 1
            && self.hours >> (sod / 3600) & 1 == 1
            && self.minutes >> (sod / 60 % 60) & 1 == 1
            && self.seconds >> (sod % 60) & 1 == 1
    }

    /// Whether some month in the 400-year Gregorian cycle (or in the allowed
    /// years) has a matching day. The time-of-day fields are never empty,
    /// so this decides whether the expression can ever fire.
    pub(crate) fn can_fire(&self) -> bool {
        // The Gregorian calendar repeats every 400 years; a year field
        // limits the scan to its own years.
        let (first, last) = match self.years {
            None => (2000, 2399),
            Some(_) => (YEAR_MIN as i64, YEAR_MAX as i64),
        };
        (first..=last).any(|y| {
            self.year_ok(y)
                && (1..=12).any(|m| self.months >> m & 1 == 1 && self.day_mask(y, m) != 0)
        })
    }

    /// The first matching time of day at or after second `sod` of a day.
    #[inline]
    pub(crate) fn next_tod(&self, sod: i64) -> Option<i64> {
        let (mut h, mut m, mut s) = (sod / 3600, sod / 60 % 60, sod % 60);
        loop {
            let nh = next_bit(self.hours, h)?;
            if nh != h {
                (h, m, s) = (nh, 0, 0);
            }
            if let Some(nm) = next_bit(self.minutes, m) {
                if nm != m {
                    (m, s) = (nm, 0);
                }
                if let Some(ns) = next_bit(self.seconds, s) {
                    return Some(h * 3600 + m * 60 + ns);
                }
                if let Some(nm) = next_bit(self.minutes, m + 1) {
                    return Some(h * 3600 + nm * 60 + i64::from(self.seconds.trailing_zeros()));
                }
            }
            (h, m, s) = (h + 1, 0, 0);
        }
    }

    /// The first matching civil time strictly after `after` (local
    /// seconds), or `None` past year 9999.
    #[inline]
    pub(crate) fn next_local(&self, after: i64) -> Option<i64> {
        if self.all_days {
            // Fast path: only the time of day matters.
            let t = after.checked_add(1)?;
            let (days, sod) = (t.div_euclid(DAY), t.rem_euclid(DAY));
            let r = match self.next_tod(sod) {
                Some(tod) => days * DAY + tod,
                None => (days + 1) * DAY + self.first_tod,
            };
            return (r <= MAX_UNIX).then_some(r);
        }
        self.next_local_slow(after)
    }

    fn next_local_slow(&self, after: i64) -> Option<i64> {
        let t = after.checked_add(1)?;
        let (mut y, mut m, mut d) = civil_from_days(t.div_euclid(DAY));
        let sod = t.rem_euclid(DAY);
        let (mut h, mut mi, mut s) = (sod / 3600, sod / 60 % 60, sod % 60);
        let mut months_scanned = 0u32;
        'year: loop {
            if y > YEAR_MAX as i64 {
                return None;
            }
            if !self.year_ok(y) {
                y = self.next_year(y + 1)?;
                (m, d, h, mi, s) = (1, 1, 0, 0, 0);
            }
            'month: loop {
                months_scanned += 1;
                if months_scanned > 12 * 500 {
                    return None;
                }
                match next_bit(self.months, i64::from(m)) {
                    Some(nm) if nm <= 12 => {
                        if nm as u32 != m {
                            (m, d, h, mi, s) = (nm as u32, 1, 0, 0, 0);
                        }
                    }
                    _ => {
                        (y, m, d, h, mi, s) = (y + 1, 1, 1, 0, 0, 0);
                        continue 'year;
                    }
                }
                let days = self.day_mask(y, m);
                'day: loop {
                    match next_bit(u64::from(days), i64::from(d)) {
                        Some(nd) => {
                            if nd as u32 != d {
                                (d, h, mi, s) = (nd as u32, 0, 0, 0);
                            }
                        }
                        None => {
                            (d, h, mi, s) = (1, 0, 0, 0);
                            if m == 12 {
                                (y, m) = (y + 1, 1);
                                continue 'year;
                            }
                            m += 1;
                            continue 'month;
                        }
                    }
                    'hour: loop {
                        match next_bit(self.hours, h) {
                            Some(nh) => {
                                if nh != h {
                                    (h, mi, s) = (nh, 0, 0);
                                }
                            }
                            None => {
                                (d, h, mi, s) = (d + 1, 0, 0, 0);
                                continue 'day;
                            }
                        }
                        loop {
                            match next_bit(self.minutes, mi) {
                                Some(nmi) => {
                                    if nmi != mi {
                                        (mi, s) = (nmi, 0);
                                    }
                                }
                                None => {
                                    (h, mi, s) = (h + 1, 0, 0);
                                    continue 'hour;
                                }
                            }
                            match next_bit(self.seconds, s) {
                                Some(ns) => {
                                    return Some(
                                        days_from_civil(y, m, d) * DAY + h * 3600 + mi * 60 + ns,
                                    );
                                }
                                None => {
                                    (mi, s) = (mi + 1, 0);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The last matching civil time strictly before `before` (local
    /// seconds), or `None` before year 1.
    pub(crate) fn prev_local(&self, before: i64) -> Option<i64> {
        let t = before.checked_sub(1)?;
        let (mut y, mut m, mut d) = civil_from_days(t.div_euclid(DAY));
        let sod = t.rem_euclid(DAY);
        let (mut h, mut mi, mut s) = (sod / 3600, sod / 60 % 60, sod % 60);
        let mut months_scanned = 0u32;
        'year: loop {
            if y < YEAR_MIN as i64 {
                return None;
            }
            if !self.year_ok(y) {
                y = self.prev_year(y - 1)?;
                (m, d, h, mi, s) = (12, 31, 23, 59, 59);
            }
            'month: loop {
                months_scanned += 1;
                if months_scanned > 12 * 500 {
                    return None;
                }
                match prev_bit(self.months, i64::from(m)) {
                    Some(nm) if nm >= 1 => {
                        if nm as u32 != m {
                            (m, d, h, mi, s) = (nm as u32, 31, 23, 59, 59);
                        }
                    }
                    _ => {
                        (y, m, d, h, mi, s) = (y - 1, 12, 31, 23, 59, 59);
                        continue 'year;
                    }
                }
                let days = self.day_mask(y, m);
                'day: loop {
                    match prev_bit(u64::from(days), i64::from(d)) {
                        Some(nd) if nd >= 1 => {
                            if nd as u32 != d {
                                (d, h, mi, s) = (nd as u32, 23, 59, 59);
                            }
                        }
                        _ => {
                            (d, h, mi, s) = (31, 23, 59, 59);
                            if m == 1 {
                                (y, m) = (y - 1, 12);
                                continue 'year;
                            }
                            m -= 1;
                            continue 'month;
                        }
                    }
                    'hour: loop {
                        match prev_bit(self.hours, h) {
                            Some(nh) => {
                                if nh != h {
                                    (h, mi, s) = (nh, 59, 59);
                                }
                            }
                            None => {
                                (d, h, mi, s) = (d - 1, 23, 59, 59);
                                continue 'day;
                            }
                        }
                        loop {
                            match prev_bit(self.minutes, mi) {
                                Some(nmi) => {
                                    if nmi != mi {
                                        (mi, s) = (nmi, 59);
                                    }
                                }
                                None => {
                                    (h, mi, s) = (h - 1, 59, 59);
                                    continue 'hour;
                                }
                            }
                            match prev_bit(self.seconds, s) {
                                Some(ns) => {
                                    return Some(
                                        days_from_civil(y, m, d) * DAY + h * 3600 + mi * 60 + ns,
                                    );
                                }
                                None => {
                                    (mi, s) = (mi - 1, 59);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::{YEAR_MAX, YEAR_MIN};

    /// The word-at-a-time year scans agree with a year-by-year scan.
    #[test]
    // Long differential runs of safe code: too slow under Miri.
    #[cfg_attr(miri, ignore)]
    fn year_scans_agree_with_linear_scan() {
        let exprs = [
            "0 0 0 1 1 * 9999",
            "0 0 0 1 1 * 1",
            "0 0 0 1 1 * 1,64,127,128,9983,9984",
            "0 0 0 1 1 * 1970-2100/7",
            "0 0 0 1 1 * 63-65",
            "0 0 0 1 1 * */1000",
            "0 0 0 1 1 * 5000/999",
        ];
        let (lo, hi) = (-70i64, 10_070i64);
        for e in exprs {
            let spec = parse(e, false).unwrap();
            // The linear answers for every year, by one pass each way.
            let mut next = vec![None; (hi - lo + 2) as usize];
            for y in (lo..=hi).rev() {
                let i = (y - lo) as usize;
                let ok = (YEAR_MIN as i64..=YEAR_MAX as i64).contains(&y) && spec.year_ok(y);
                next[i] = if ok { Some(y) } else { next[i + 1] };
            }
            let mut prev = None;
            for y in lo..=hi {
                if (YEAR_MIN as i64..=YEAR_MAX as i64).contains(&y) && spec.year_ok(y) {
                    prev = Some(y);
                }
                assert_eq!(
                    spec.next_year(y),
                    next[(y - lo) as usize],
                    "{e} next from {y}"
                );
                assert_eq!(spec.prev_year(y), prev, "{e} prev from {y}");
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_general_search() {
        let exprs = [
            "0 */5 * * * *",
            "*/7 3-5 * * * *",
            "59 59 23 * * *",
            "0 0 0 * * *",
            "10-40/7 * 2,20 * * *",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for e in exprs {
            let spec = parse(e, false).unwrap();
            assert!(spec.all_days, "{e}");
            for _ in 0..2000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let t = (x % 8_000_000_000) as i64 - 4_000_000_000;
                assert_eq!(spec.next_local(t), spec.next_local_slow(t), "{e} at {t}");
            }
        }
    }
}
