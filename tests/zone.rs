//! Time zones: the TZif reader and POSIX rules against the system's own
//! `zdump`, plus errors for missing, corrupt and badly named zones.

use gosling::schedule::{DateTime, LocalResult, TimeZone, ZoneError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

const ZONEINFO: &str = "/usr/share/zoneinfo";

fn have_zoneinfo() -> bool {
    Path::new(ZONEINFO).join("Europe/Paris").exists()
}

/// Every TZif zone under the database (skipping the `posix/` and `right/`
/// copies and the non-zone files), sorted.
fn all_zones() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == "posix" || rel == "right" || path.is_symlink() && path.is_dir() {
                continue;
            }
            if path.is_dir() {
                walk(&path, root, out);
            } else if rel.starts_with(|c: char| c.is_ascii_uppercase())
                && std::fs::read(&path).is_ok_and(|b| b.starts_with(b"TZif"))
            {
                out.push(rel);
            }
        }
    }
    let root = PathBuf::from(ZONEINFO);
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

fn month(name: &str) -> u8 {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == name)
    .expect("month name") as u8
        + 1
}

/// Runs `zdump -v -c 1970,2100` on `zones` and checks every line against
/// our offset and DST flag. Returns the number of lines checked.
fn compare(zones: &[String]) -> usize {
    let out = Command::new("zdump")
        .args(["-v", "-c", "1970,2100"])
        .args(zones)
        .output()
        .expect("run zdump");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut checked = 0;
    let mut current: Option<(String, TimeZone)> = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // zone wd mon day hh:mm:ss year UT = wd mon day hh:mm:ss year abbr isdst=N gmtoff=N
        if f.len() < 16 || f[6] != "UT" {
            continue;
        }
        let zone = f[0];
        if current.as_ref().is_none_or(|(n, _)| n != zone) {
            current = Some((zone.to_string(), TimeZone::named(zone).unwrap()));
        }
        let tz = &current.as_ref().unwrap().1;
        let hms: Vec<u8> = f[4].split(':').map(|x| x.parse().unwrap()).collect();
        let utc = DateTime::new(
            f[5].parse().unwrap(),
            month(f[2]),
            f[3].parse().unwrap(),
            hms[0],
            hms[1],
            hms[2],
        )
        .unwrap()
        .to_unix();
        let gmtoff: i32 = f[15].strip_prefix("gmtoff=").unwrap().parse().unwrap();
        let isdst = f[14] == "isdst=1";
        assert_eq!(
            tz.offset_at_unix(utc),
            gmtoff,
            "{zone} at {} (unix {utc}): zdump says {line}",
            DateTime::from_unix(utc).unwrap()
        );
        assert_eq!(
            tz.is_dst_unix(utc),
            isdst,
            "{zone} DST flag at unix {utc}: {line}"
        );
        let t = UNIX_EPOCH + Duration::from_secs(utc as u64);
        assert_eq!(
            tz.to_local(t).to_unix() - utc,
            i64::from(gmtoff),
            "{zone} local time at unix {utc}"
        );
        checked += 1;
    }
    checked
}

/// Splits `zones` over the available cores, one `zdump` process each.
fn compare_parallel(zones: &[String]) -> usize {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunk = zones.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = zones
            .chunks(chunk)
            .map(|c| s.spawn(|| compare(c)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn zdump_available() -> bool {
    Command::new("zdump")
        .arg("UTC")
        .output()
        .is_ok_and(|o| o.status.success())
}

const KEY_ZONES: [&str; 5] = [
    "America/New_York",
    "Europe/Paris",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
];

/// The default run compares the five DST zones the cron tests use plus
/// every 20th zone of the sorted list (about 35 zones, a few seconds); the
/// ignored `zdump_every_zone` compares all of them.
#[test]
fn zdump_sample() {
    if !have_zoneinfo() || !zdump_available() {
        println!("compared nothing: zdump or {ZONEINFO} is missing (install tzdata)");
        return;
    }
    let all = all_zones();
    let mut zones: Vec<String> = all.iter().step_by(20).cloned().collect();
    for k in KEY_ZONES {
        if !zones.iter().any(|z| z == k) {
            zones.push(k.to_string());
        }
    }
    let n = compare_parallel(&zones);
    println!(
        "compared {} transitions (2 zdump lines each) in {} of {} zones over 1970-2100",
        n / 2,
        zones.len(),
        all.len()
    );
    assert!(n > 1000, "zdump produced too little output ({n} lines)");
}

#[test]
#[ignore = "runs zdump on every zone: about 30 s of CPU"]
fn zdump_every_zone() {
    if !have_zoneinfo() || !zdump_available() {
        println!("compared nothing: zdump or {ZONEINFO} is missing (install tzdata)");
        return;
    }
    let zones = all_zones();
    let n = compare_parallel(&zones);
    println!(
        "compared {} transitions in {} zones over 1970-2100",
        n / 2,
        zones.len()
    );
    assert!(n > 10_000);
}

#[test]
fn every_zone_file_parses() {
    if !have_zoneinfo() {
        println!("checked nothing: {ZONEINFO} is missing");
        return;
    }
    let zones = all_zones();
    for z in &zones {
        TimeZone::named(z).unwrap_or_else(|e| panic!("{z}: {e}"));
    }
    println!("parsed {} zone files", zones.len());
}

#[test]
fn version_1_data_agrees_with_version_2() {
    if !have_zoneinfo() {
        return;
    }
    let bytes = std::fs::read(Path::new(ZONEINFO).join("America/New_York")).unwrap();
    let v2 = TimeZone::from_tzif_bytes("ny", &bytes).unwrap();
    // Keep only the version 1 header and data, marked as version 1.
    let count =
        |i: usize| u32::from_be_bytes(bytes[20 + 4 * i..24 + 4 * i].try_into().unwrap()) as usize;
    let (isut, isstd, leap, time, typ, chr) =
        (count(0), count(1), count(2), count(3), count(4), count(5));
    let v1_len = 44 + time * 5 + typ * 6 + chr + leap * 8 + isstd + isut;
    let mut v1 = bytes[..v1_len].to_vec();
    v1[4] = 0;
    let v1 = TimeZone::from_tzif_bytes("ny-v1", &v1).unwrap();
    if time == 0 {
        println!("slim file: the version 1 block has no transitions; checked it parses");
        return;
    }
    for t in (0..2_000_000_000i64).step_by(86_400 * 7 + 3_607) {
        assert_eq!(v1.offset_at_unix(t), v2.offset_at_unix(t), "unix {t}");
    }
}

#[test]
fn errors_are_typed() {
    for bad in [
        "",
        "/etc/localtime",
        "../etc/passwd",
        "Europe/../Paris",
        "Europe//Paris",
        "a b",
    ] {
        assert!(
            matches!(TimeZone::named(bad), Err(ZoneError::InvalidName { .. })),
            "{bad:?}"
        );
    }
    match TimeZone::named("Mars/Olympus_Mons") {
        Err(e @ ZoneError::NotFound { .. }) => {
            assert!(e.to_string().contains("Mars/Olympus_Mons"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        TimeZone::from_tzif_bytes("x", b""),
        Err(ZoneError::Corrupt { .. })
    ));
    assert!(matches!(
        TimeZone::fixed(93_600),
        Err(ZoneError::InvalidOffset(93_600))
    ));
    assert!(matches!(
        TimeZone::from_posix_rule("not a rule"),
        Err(ZoneError::InvalidRule { .. })
    ));
}

#[test]
fn truncated_and_damaged_files_are_corrupt_not_panics() {
    if !have_zoneinfo() {
        return;
    }
    let bytes = std::fs::read(Path::new(ZONEINFO).join("Europe/Paris")).unwrap();
    for cut in 0..bytes.len() {
        match TimeZone::from_tzif_bytes("cut", &bytes[..cut]) {
            Err(ZoneError::Corrupt { .. }) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // Flip every byte in turn: never a panic (an error or a zone).
    let mut b = bytes.clone();
    for i in 0..b.len() {
        b[i] ^= 0xA5;
        let _ = TimeZone::from_tzif_bytes("flip", &b);
        b[i] ^= 0xA5;
    }
}

#[test]
fn resolve_gap_and_overlap_in_new_york() {
    let Ok(ny) = TimeZone::named("America/New_York") else {
        println!("skipped: no America/New_York");
        return;
    };
    // 2024-03-10: 02:00 EST -> 03:00 EDT at 07:00Z.
    let gap = DateTime::new(2024, 3, 10, 2, 30, 0).unwrap();
    let jump = DateTime::new(2024, 3, 10, 7, 0, 0).unwrap().to_unix();
    assert_eq!(
        ny.resolve(gap),
        LocalResult::Gap {
            transition: UNIX_EPOCH + Duration::from_secs(jump as u64)
        }
    );
    // 2024-11-03: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
    let twice = DateTime::new(2024, 11, 3, 1, 30, 0).unwrap();
    let first = DateTime::new(2024, 11, 3, 5, 30, 0).unwrap().to_unix() as u64;
    assert_eq!(
        ny.resolve(twice),
        LocalResult::Ambiguous {
            earlier: UNIX_EPOCH + Duration::from_secs(first),
            later: UNIX_EPOCH + Duration::from_secs(first + 3600),
        }
    );
    let plain = DateTime::new(2024, 7, 1, 12, 0, 0).unwrap();
    let t = DateTime::new(2024, 7, 1, 16, 0, 0).unwrap().to_unix() as u64;
    assert_eq!(
        ny.resolve(plain),
        LocalResult::Single(UNIX_EPOCH + Duration::from_secs(t))
    );
}

#[test]
fn apia_skipped_30_december_2011() {
    let Ok(apia) = TimeZone::named("Pacific/Apia") else {
        println!("skipped: no Pacific/Apia");
        return;
    };
    let day = DateTime::new(2011, 12, 30, 12, 0, 0).unwrap();
    assert!(matches!(apia.resolve(day), LocalResult::Gap { .. }));
    let before = DateTime::new(2011, 12, 29, 23, 59, 59).unwrap();
    let after = DateTime::new(2011, 12, 31, 0, 0, 0).unwrap();
    let (LocalResult::Single(a), LocalResult::Single(b)) =
        (apia.resolve(before), apia.resolve(after))
    else {
        panic!("29th and 31st exist");
    };
    assert_eq!(b.duration_since(a).unwrap(), Duration::from_secs(1));
}

#[test]
fn pre_1970_offsets() {
    let Ok(ny) = TimeZone::named("America/New_York") else {
        return;
    };
    // 1960-07-01T12:00:00Z: EDT.
    let t = DateTime::new(1960, 7, 1, 12, 0, 0).unwrap().to_unix();
    assert_eq!(ny.offset_at_unix(t), -4 * 3600);
    let st = UNIX_EPOCH - Duration::from_secs(t.unsigned_abs());
    assert_eq!(ny.to_local(st).to_string(), "1960-07-01T08:00:00");
}

#[test]
fn local_zone_loads() {
    // Whatever TZ or /etc/localtime say, loading must not fail on a system
    // with a sane setup.
    let tz = TimeZone::local().unwrap();
    assert!(!tz.name().is_empty());
}

#[test]
fn versions_3_and_4_headers_are_read() {
    if !have_zoneinfo() {
        return;
    }
    let bytes = std::fs::read(Path::new(ZONEINFO).join("America/Nuuk"))
        .or_else(|_| std::fs::read(Path::new(ZONEINFO).join("America/Godthab")))
        .unwrap();
    let reference = TimeZone::from_tzif_bytes("nuuk", &bytes).unwrap();
    let count =
        |i: usize| u32::from_be_bytes(bytes[20 + 4 * i..24 + 4 * i].try_into().unwrap()) as usize;
    let v1_len = 44 + count(3) * 5 + count(4) * 6 + count(5) + count(2) * 8 + count(1) + count(0);
    for version in [b'3', b'4'] {
        let mut b = bytes.clone();
        b[4] = version;
        b[v1_len + 4] = version;
        let tz = TimeZone::from_tzif_bytes("nuuk", &b).unwrap();
        // Through 2300: the footer's version 3 rule (negative switch times
        // in recent tzdata) is evaluated past the table.
        for t in (0..10_000_000_000i64).step_by(86_400 * 13 + 1_801) {
            assert_eq!(tz.offset_at_unix(t), reference.offset_at_unix(t));
        }
    }
    // An unknown version byte is refused.
    let mut b = bytes.clone();
    b[4] = b'x';
    assert!(matches!(
        TimeZone::from_tzif_bytes("nuuk", &b),
        Err(ZoneError::Corrupt { .. })
    ));
}

#[test]
fn footer_rule_matches_zdump_far_future() {
    // Past 2200 the rule is evaluated directly: spot-check New York in 2250
    // (second Sunday of March, first Sunday of November).
    let Ok(ny) = TimeZone::named("America/New_York") else {
        return;
    };
    let before = DateTime::new(2250, 3, 10, 6, 59, 59).unwrap().to_unix();
    // 2250-03-10 is the second Sunday of March 2250.
    assert_eq!(DateTime::new(2250, 3, 10, 0, 0, 0).unwrap().weekday(), 0);
    assert_eq!(ny.offset_at_unix(before), -5 * 3600);
    assert_eq!(ny.offset_at_unix(before + 1), -4 * 3600);
}

#[test]
fn constant_zones_behave_like_fixed_offsets() {
    let Ok(gmt5) = TimeZone::named("Etc/GMT+5") else {
        return;
    };
    assert_eq!(gmt5.offset_at_unix(0), -5 * 3600);
    assert_eq!(gmt5.offset_at_unix(4_000_000_000), -5 * 3600);
    assert!(!gmt5.is_dst_unix(0));
    assert_eq!(gmt5.name(), "Etc/GMT+5");
    let rule = TimeZone::from_posix_rule("<+0545>-5:45").unwrap();
    assert_eq!(rule.offset_at_unix(0), 5 * 3600 + 45 * 60);
}
