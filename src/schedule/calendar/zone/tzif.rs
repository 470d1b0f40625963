//! A reader for TZif files, versions 1 to 4 (RFC 8536, RFC 9636): the
//! compiled zoneinfo database under `/usr/share/zoneinfo`. Version 2+ files
//! are read from their 64-bit data block and their POSIX TZ footer, which
//! gives the offsets after the last transition (zic writes "slim" files by
//! default, whose transitions stop at the present rules' start).

use super::Segment;
use super::posix::PosixTz;

/// A local time type: its UTC offset and whether it is daylight time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LocalType {
    pub(crate) offset: i32,
    pub(crate) is_dst: bool,
}

/// A parsed TZif file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tzif {
    /// Transition instants, strictly ascending.
    transitions: Vec<i64>,
    /// The local time type index in effect from each transition on.
    type_of: Vec<u8>,
    types: Vec<LocalType>,
    footer: Option<PosixTz>,
    /// The largest distance from UTC of any offset the zone uses.
    max_abs_offset: u32,
}

struct Counts {
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    typ: usize,
    chr: usize,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn header(b: &[u8], at: usize) -> Result<(u8, Counts), &'static str> {
    if b.len() < at + 44 {
        return Err("truncated header");
    }
    if &b[at..at + 4] != b"TZif" {
        return Err("missing TZif magic");
    }
    let version = b[at + 4];
    if version != 0 && !(b'2'..=b'9').contains(&version) {
        return Err("unknown version");
    }
    let c = |i: usize| be32(b, at + 20 + 4 * i) as usize;
    Ok((
        version,
        Counts {
            isut: c(0),
            isstd: c(1),
            leap: c(2),
            time: c(3),
            typ: c(4),
            chr: c(5),
        },
    ))
}

impl Counts {
    /// Length of the data block with `tsize`-byte times, if it fits in usize.
    fn len(&self, tsize: usize) -> Option<usize> {
        let parts = [
            self.time.checked_mul(tsize + 1)?,
            self.typ.checked_mul(6)?,
            self.chr,
            self.leap.checked_mul(tsize + 4)?,
            self.isstd,
            self.isut,
        ];
        parts.iter().try_fold(0usize, |a, &p| a.checked_add(p))
    }
}

impl Tzif {
    /// Parses a whole TZif file.
    pub(crate) fn parse(b: &[u8]) -> Result<Tzif, &'static str> {
        let (version, c1) = header(b, 0)?;
        let v1_len = c1.len(4).ok_or("counts overflow")?;
        if version == 0 {
            let (mut tz, _) = Self::block(b, 44, &c1, 4)?;
            tz.max_abs_offset = tz.compute_max_abs_offset();
            return Ok(tz);
        }
        let at = 44usize.checked_add(v1_len).ok_or("counts overflow")?;
        let (_, c2) = header(b, at)?;
        let (mut tz, end) = Self::block(b, at + 44, &c2, 8)?;
        // Footer: "\n" TZ-string "\n".
        let rest = &b[end..];
        if rest.first() != Some(&b'\n') {
            return Err("missing footer");
        }
        let Some(close) = rest[1..].iter().position(|&c| c == b'\n') else {
            return Err("unterminated footer");
        };
        let tz_string = &rest[1..1 + close];
        if !tz_string.is_empty() {
            tz.footer = Some(PosixTz::parse(tz_string).ok_or("invalid TZ string in footer")?);
            tz.extend_with_footer();
        }
        tz.max_abs_offset = tz.compute_max_abs_offset();
        Ok(tz)
    }

    /// Appends the footer rule's transitions up to 2200 to the table, so
    /// that lookups there are a binary search rather than a rule
    /// evaluation (slim files stop their table at the current rule's
    /// start). Later instants still use the rule.
    fn extend_with_footer(&mut self) {
        const UNTIL: i64 = 7_258_118_400; // 2200-01-01T00:00:00Z
        let (Some(rule), Some(&last)) = (self.footer.clone(), self.transitions.last()) else {
            return;
        };
        let mut x = last;
        while self.transitions.len() < 8192 {
            let seg = rule.segment(x);
            if seg.end == i64::MAX || seg.end >= UNTIL || seg.end <= x {
                break;
            }
            let ty = LocalType {
                offset: seg.next_offset,
                is_dst: rule.is_dst_at(seg.end),
            };
            let index = match self.types.iter().position(|t| *t == ty) {
                Some(i) => i,
                None if self.types.len() < 256 => {
                    self.types.push(ty);
                    self.types.len() - 1
                }
                None => break,
            };
            self.transitions.push(seg.end);
            self.type_of.push(index as u8);
            x = seg.end;
        }
    }

    fn block(b: &[u8], at: usize, c: &Counts, tsize: usize) -> Result<(Tzif, usize), &'static str> {
        let len = c.len(tsize).ok_or("counts overflow")?;
        let end = at.checked_add(len).ok_or("counts overflow")?;
        if b.len() < end {
            return Err("truncated data");
        }
        if c.typ == 0 || c.typ > 256 {
            return Err("bad local time type count");
        }
        if c.chr == 0 {
            return Err("empty abbreviation table");
        }
        if (c.isstd != 0 && c.isstd != c.typ) || (c.isut != 0 && c.isut != c.typ) {
            return Err("bad indicator count");
        }
        if c.leap != 0 {
            return Err("leap-second (\"right/\") files are not supported");
        }
        let mut p = at;
        let mut transitions = Vec::with_capacity(c.time);
        for _ in 0..c.time {
            let t = if tsize == 8 {
                i64::from_be_bytes(b[p..p + 8].try_into().map_err(|_| "truncated data")?)
            } else {
                i64::from(be32(b, p) as i32)
            };
            if transitions.last().is_some_and(|&last| last >= t) {
                return Err("transitions out of order");
            }
            transitions.push(t);
            p += tsize;
        }
        let type_of = b[p..p + c.time].to_vec();
        if type_of.iter().any(|&i| usize::from(i) >= c.typ) {
            return Err("transition names a missing local time type");
        }
        p += c.time;
        let mut types = Vec::with_capacity(c.typ);
        for _ in 0..c.typ {
            let offset = be32(b, p) as i32;
            if offset == i32::MIN {
                return Err("bad UTC offset");
            }
            if b[p + 4] > 1 {
                return Err("bad DST flag");
            }
            if usize::from(b[p + 5]) >= c.chr {
                return Err("bad abbreviation index");
            }
            types.push(LocalType {
                offset,
                is_dst: b[p + 4] == 1,
            });
            p += 6;
        }
        Ok((
            Tzif {
                transitions,
                type_of,
                types,
                footer: None,
                max_abs_offset: 0,
            },
            end,
        ))
    }

    /// A zone with only a TZ rule (from a `TZ` variable).
    pub(crate) fn from_posix(rule: PosixTz) -> Tzif {
        let offset = rule.segment(0).offset;
        let mut tz = Tzif {
            transitions: Vec::new(),
            type_of: Vec::new(),
            types: vec![LocalType {
                offset,
                is_dst: false,
            }],
            footer: Some(rule),
            max_abs_offset: 0,
        };
        tz.max_abs_offset = tz.compute_max_abs_offset();
        tz
    }

    fn compute_max_abs_offset(&self) -> u32 {
        let types = self.types.iter().map(|t| t.offset.unsigned_abs());
        let footer = self.footer.as_ref().map(PosixTz::max_abs_offset);
        types.chain(footer).max().unwrap_or(0)
    }

    /// The largest distance from UTC of any offset in effect at any time
    /// (the cron search's bound on how far wall clocks can stray).
    pub(crate) fn max_abs_offset(&self) -> u32 {
        self.max_abs_offset
    }

    /// The single offset of a zone that never changes (`Etc/GMT+5`, `UTC`).
    pub(crate) fn constant_offset(&self) -> Option<i32> {
        let seg = self.segment(0);
        (seg.start == i64::MIN && seg.end == i64::MAX && !self.is_dst(0)).then_some(seg.offset)
    }

    fn type_offset(&self, i: usize) -> i32 {
        self.types[usize::from(self.type_of[i])].offset
    }

    /// The offset before the first transition: RFC 8536 uses type 0.
    fn initial_offset(&self) -> i32 {
        self.types[0].offset
    }

    /// The offset in effect at `t` and the transitions around it.
    pub(crate) fn segment(&self, t: i64) -> Segment {
        let n = self.transitions.len();
        let i = self.transitions.partition_point(|&tr| tr <= t);
        let before = |i: usize| {
            if i == 0 {
                self.initial_offset()
            } else {
                self.type_offset(i - 1)
            }
        };
        if i == n {
            if let Some(rule) = &self.footer {
                let mut s = rule.segment(t);
                if n > 0 && s.start < self.transitions[n - 1] {
                    s.start = self.transitions[n - 1];
                    s.prev_offset = before(n - 1);
                }
                return s;
            }
        }
        let offset = before(i);
        Segment {
            start: if i == 0 {
                i64::MIN
            } else {
                self.transitions[i - 1]
            },
            prev_offset: if i == 0 { offset } else { before(i - 1) },
            offset,
            end: if i == n {
                i64::MAX
            } else {
                self.transitions[i]
            },
            next_offset: if i == n { offset } else { self.type_offset(i) },
        }
    }

    /// Whether daylight time is in effect at `t` (from the transition data;
    /// the footer's rule says DST when its DST offset applies).
    pub(crate) fn is_dst(&self, t: i64) -> bool {
        let i = self.transitions.partition_point(|&tr| tr <= t);
        if i == self.transitions.len() {
            if let Some(rule) = &self.footer {
                return rule.is_dst_at(t);
            }
        }
        if i == 0 {
            self.types[0].is_dst
        } else {
            self.types[usize::from(self.type_of[i - 1])].is_dst
        }
    }
}
