//! Configuration from the environment: every variable, every malformed
//! value, prefixes, and `parse_duration`. Tests use `Config::from_vars`, so
//! the process environment is never mutated.

use gosling::config::{
    Config, ConfigError, ParseDurationError, QueueSize, Timeout, parse_duration,
};
use std::error::Error as _;
use std::num::NonZeroUsize;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn reject(key: &str, value: &str) -> ConfigError {
    match Config::from_vars([(key, value)]) {
        Ok(config) => panic!("{key}={value:?} was accepted as {config:?}"),
        Err(err) => {
            assert_eq!(err.variable(), key);
            assert_eq!(err.value(), value);
            let message = err.to_string();
            assert!(message.contains(key), "{message}");
            assert!(message.contains(&format!("{value:?}")), "{message}");
            err
        }
    }
}

#[test]
fn unset_variables_stay_none() {
    let config = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.pool_size, None);
    assert_eq!(config.queue_size, None);
    assert_eq!(config.priority, None);
    assert_eq!(config.task_timeout, None);
    assert_eq!(config.shutdown_timeout, None);
}

#[test]
fn every_variable() {
    let config = Config::from_vars([
        ("WORKER_POOL_SIZE", "16"),
        ("WORKER_QUEUE_SIZE", "1000"),
        ("WORKER_PRIORITY", "true"),
        ("WORKER_TASK_TIMEOUT", "250ms"),
        ("WORKER_SHUTDOWN_TIMEOUT", "1h30m"),
    ])
    .unwrap();
    assert_eq!(config.pool_size, NonZeroUsize::new(16));
    assert_eq!(
        config.queue_size,
        Some(QueueSize::Bounded(NonZeroUsize::new(1000).unwrap()))
    );
    assert_eq!(config.priority, Some(true));
    assert_eq!(
        config.task_timeout,
        Some(Timeout::After(Duration::from_millis(250)))
    );
    assert_eq!(config.shutdown_timeout, Some(Timeout::After(secs(5400))));
}

#[test]
fn zero_means_unbounded_or_none() {
    let config = Config::from_vars([
        ("WORKER_QUEUE_SIZE", "0"),
        ("WORKER_TASK_TIMEOUT", "0"),
        ("WORKER_SHUTDOWN_TIMEOUT", "0s"),
    ])
    .unwrap();
    assert_eq!(config.queue_size, Some(QueueSize::Unbounded));
    assert_eq!(config.queue_size.unwrap().bound(), None);
    assert_eq!(config.task_timeout, Some(Timeout::Unlimited));
    assert_eq!(config.shutdown_timeout, Some(Timeout::Unlimited));
    assert_eq!(config.task_timeout.unwrap().duration(), None);
}

#[test]
fn every_boolean_spelling() {
    for (text, expected) in [
        ("true", true),
        ("false", false),
        ("1", true),
        ("0", false),
        ("yes", true),
        ("no", false),
        ("on", true),
        ("off", false),
        ("TRUE", true),
        ("Off", false),
        ("YeS", true),
    ] {
        let config = Config::from_vars([("WORKER_PRIORITY", text)]).unwrap();
        assert_eq!(config.priority, Some(expected), "{text}");
    }
}

#[test]
fn malformed_pool_sizes() {
    for value in [
        "",
        " 4",
        "4 ",
        "\t4",
        "-1",
        "+4",
        "0",
        "four",
        "4.0",
        "4k",
        "0x10",
        "1_000",
        "99999999999999999999999999",
    ] {
        reject("WORKER_POOL_SIZE", value);
    }
    let message = reject("WORKER_POOL_SIZE", "0").to_string();
    assert!(message.contains("at least 1"), "{message}");
    let message = reject("WORKER_POOL_SIZE", "-1").to_string();
    assert!(message.contains("negative"), "{message}");
    let message = reject("WORKER_POOL_SIZE", "99999999999999999999999999").to_string();
    assert!(message.contains("too large"), "{message}");
    let message = reject("WORKER_POOL_SIZE", "").to_string();
    assert!(message.contains("empty"), "{message}");
    let message = reject("WORKER_POOL_SIZE", " 4").to_string();
    assert!(message.contains("whitespace"), "{message}");
}

#[test]
fn malformed_queue_sizes() {
    for value in ["", "-1", "-0", "lots", "1e3", "18446744073709551616", " 0"] {
        reject("WORKER_QUEUE_SIZE", value);
    }
}

#[test]
fn malformed_booleans() {
    for value in [
        "", "maybe", "2", "tru", "y", "n", " true", "true ", "enabled", "-1",
    ] {
        let message = reject("WORKER_PRIORITY", value).to_string();
        assert!(!message.is_empty());
    }
}

#[test]
fn malformed_timeouts() {
    for key in ["WORKER_TASK_TIMEOUT", "WORKER_SHUTDOWN_TIMEOUT"] {
        for value in [
            "",
            " 5s",
            "5s ",
            "5 s",
            "1h 30m",
            "-5s",
            "+5s",
            "5",
            "1h30",
            "1.5s",
            "5x",
            "5sec",
            "5S",
            "s",
            "ms",
            "h1",
            "99999999999999999999h",
            "18446744073709551615d",
            "1,5s",
        ] {
            let err = reject(key, value);
            let message = err.to_string();
            assert!(!message.is_empty());
        }
    }
    let err = reject("WORKER_TASK_TIMEOUT", "1h30");
    assert_eq!(
        err.duration_error(),
        Some(&ParseDurationError::MissingUnit { position: 2 })
    );
    assert!(err.source().is_some());
    let err = reject("WORKER_TASK_TIMEOUT", "5sec");
    assert_eq!(
        err.duration_error(),
        Some(&ParseDurationError::UnknownUnit {
            unit: "sec".into(),
            position: 1
        })
    );
    // Whitespace is reported as whitespace, not as a duration problem.
    assert_eq!(reject("WORKER_TASK_TIMEOUT", " 5s").duration_error(), None);
}

#[test]
fn first_bad_variable_is_reported() {
    let err =
        Config::from_vars([("WORKER_PRIORITY", "maybe"), ("WORKER_POOL_SIZE", "x")]).unwrap_err();
    assert_eq!(err.variable(), "WORKER_POOL_SIZE");
}

#[test]
fn later_pairs_win_and_other_keys_are_ignored() {
    let config = Config::from_vars([
        ("WORKER_POOL_SIZE", "bad"),
        ("WORKER_POOL_SIZE", "3"),
        ("PATH", "/usr/bin"),
        ("WORKER_POOL_SIZE_EXTRA", "junk"),
        ("worker_pool_size", "junk"),
    ])
    .unwrap();
    assert_eq!(config.pool_size, NonZeroUsize::new(3));
}

#[test]
fn prefixed_variables() {
    let vars = [
        ("PAYMENTS_WORKER_POOL_SIZE", "2"),
        ("PAYMENTS_WORKER_TASK_TIMEOUT", "30s"),
        ("WORKER_POOL_SIZE", "64"),
        ("EMAIL_WORKER_POOL_SIZE", "oops"),
    ];
    let payments = Config::from_vars_prefixed("PAYMENTS_", vars).unwrap();
    assert_eq!(payments.pool_size, NonZeroUsize::new(2));
    assert_eq!(payments.task_timeout, Some(Timeout::After(secs(30))));
    let plain = Config::from_vars(vars).unwrap();
    assert_eq!(plain.pool_size, NonZeroUsize::new(64));
    assert_eq!(plain.task_timeout, None);
    let err = Config::from_vars_prefixed("EMAIL_", vars).unwrap_err();
    assert_eq!(err.variable(), "EMAIL_WORKER_POOL_SIZE");
    assert_eq!(err.value(), "oops");
}

#[test]
fn from_env_reads_nothing_for_an_unused_prefix() {
    // Reading is safe; only setting variables is not, so use a prefix no
    // environment defines.
    let config = Config::from_env_prefixed("GOSLING_TEST_UNUSED_PREFIX_7F3A_").unwrap();
    assert_eq!(config, Config::default());
}

#[test]
fn error_message_format() {
    let err = reject("WORKER_POOL_SIZE", "eight");
    assert_eq!(
        err.to_string(),
        "invalid WORKER_POOL_SIZE=\"eight\": expected a whole number"
    );
    let err = reject("WORKER_SHUTDOWN_TIMEOUT", "10 s");
    assert_eq!(
        err.to_string(),
        "invalid WORKER_SHUTDOWN_TIMEOUT=\"10 s\": unexpected ' ' at byte 2"
    );
}

// ---------------------------------------------------------- parse_duration

#[test]
fn durations_in_every_unit() {
    for (text, expected) in [
        ("0", Duration::ZERO),
        ("0s", Duration::ZERO),
        ("0h0m", Duration::ZERO),
        ("1ns", Duration::from_nanos(1)),
        ("7us", Duration::from_micros(7)),
        ("7µs", Duration::from_micros(7)),
        ("7μs", Duration::from_micros(7)),
        ("250ms", Duration::from_millis(250)),
        ("30s", secs(30)),
        ("5m", secs(300)),
        ("1h", secs(3600)),
        ("2d", secs(172_800)),
        ("1h30m", secs(5400)),
        ("90m", secs(5400)),
        ("1d2h3m4s5ms6us7ns", Duration::new(93_784, 5_006_007)),
        ("1s1s", secs(2)),
        ("007s", secs(7)),
        ("1500ms", Duration::from_millis(1500)),
        ("18446744073709551615s", Duration::from_secs(u64::MAX)),
    ] {
        assert_eq!(parse_duration(text), Ok(expected), "{text}");
    }
}

#[test]
fn duration_errors_say_what_and_where() {
    use ParseDurationError::*;
    for (text, expected) in [
        ("", Empty),
        ("5", MissingUnit { position: 0 }),
        ("00", MissingUnit { position: 0 }),
        ("1h30", MissingUnit { position: 2 }),
        (
            "-5s",
            UnexpectedChar {
                found: '-',
                position: 0,
            },
        ),
        (
            " 5s",
            UnexpectedChar {
                found: ' ',
                position: 0,
            },
        ),
        (
            "5s ",
            UnexpectedChar {
                found: ' ',
                position: 2,
            },
        ),
        (
            "1.5s",
            UnexpectedChar {
                found: '.',
                position: 1,
            },
        ),
        (
            "s",
            UnexpectedChar {
                found: 's',
                position: 0,
            },
        ),
        (
            "5x",
            UnknownUnit {
                unit: "x".into(),
                position: 1,
            },
        ),
        (
            "5H",
            UnknownUnit {
                unit: "H".into(),
                position: 1,
            },
        ),
        (
            "1hh",
            UnknownUnit {
                unit: "hh".into(),
                position: 1,
            },
        ),
        ("99999999999999999999s", Overflow),
        ("18446744073709551615s1s", Overflow),
        ("18446744073709551615d", Overflow),
        (
            "5€",
            UnknownUnit {
                unit: "€".into(),
                position: 1,
            },
        ),
    ] {
        assert_eq!(parse_duration(text), Err(expected), "{text:?}");
    }
}

#[test]
fn duration_error_messages() {
    assert_eq!(
        parse_duration("1h30").unwrap_err().to_string(),
        "number without a unit at byte 2 (units: ns, us, ms, s, m, h, d)"
    );
    assert_eq!(
        parse_duration("5x").unwrap_err().to_string(),
        "unknown unit \"x\" at byte 1 (units: ns, us, ms, s, m, h, d)"
    );
    assert_eq!(
        parse_duration("").unwrap_err().to_string(),
        "empty duration"
    );
    assert_eq!(
        parse_duration("99999999999999999999s")
            .unwrap_err()
            .to_string(),
        "duration too large"
    );
}

/// Random well-formed durations round-trip through their text form.
#[test]
fn randomised_durations_round_trip() {
    let seed = 0x00D0_B1E5_u64;
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let units: [(&str, u64); 7] = [
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    for case in 0..1_000 {
        let mut text = String::new();
        let mut total: u128 = 0;
        for (unit, nanos) in units {
            if next() % 2 == 0 {
                let n = next() % 10_000;
                text.push_str(&format!("{n}{unit}"));
                total += u128::from(n) * u128::from(nanos);
            }
        }
        if text.is_empty() {
            continue;
        }
        let expected = Duration::new(
            u64::try_from(total / 1_000_000_000).unwrap(),
            (total % 1_000_000_000) as u32,
        );
        assert_eq!(
            parse_duration(&text),
            Ok(expected),
            "seed {seed:#x} case {case}: {text}"
        );
    }
}

#[test]
fn builder_from_config_applies_each_setting_and_explicit_settings_win() {
    use gosling::{Builder, QueueKind};
    let config = Config::from_vars([
        ("WORKER_POOL_SIZE", "3"),
        ("WORKER_QUEUE_SIZE", "0"),
        ("WORKER_PRIORITY", "yes"),
        ("WORKER_TASK_TIMEOUT", "250ms"),
        ("WORKER_SHUTDOWN_TIMEOUT", "1m"),
    ])
    .unwrap();
    let described = format!("{:?}", Builder::from_config(&config));
    for expected in [
        "workers: Some(3)",
        "capacity: None",
        "queue: Priority",
        "task_timeout: Some(250ms)",
        "shutdown_timeout: 60s",
    ] {
        assert!(
            described.contains(expected),
            "{expected} missing from {described}"
        );
    }
    let pool = Builder::from_config(&config)
        .workers(1)
        .queue(QueueKind::Fifo)
        .build()
        .unwrap();
    assert_eq!(
        pool.stats().workers,
        1,
        "builder settings override the environment"
    );
    let unset = format!(
        "{:?}",
        Builder::from_config(&Config::from_vars(Vec::<(&str, &str)>::new()).unwrap())
    );
    assert_eq!(
        unset,
        format!("{:?}", Builder::new()),
        "unset variables change nothing"
    );
}
