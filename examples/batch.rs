//! Collecting the results of many tasks: checksum a set of "files" in
//! parallel with one batch submission, then gather results in input order.
//!
//! Run with `cargo run --release --example batch`.

use gosling::Pool;
use gosling::context::Context;

/// FNV-1a, standing in for real per-file work.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<(String, Vec<u8>)> = (0..64)
        .map(|i| {
            (
                format!("part-{i:02}.bin"),
                vec![(i * 7 % 251) as u8; 256 * 1024],
            )
        })
        .collect();

    let pool = Pool::new(std::thread::available_parallelism().map_or(2, |n| n.get()))?;
    let started = std::time::Instant::now();
    // One lock acquisition for the whole batch; handles come back in input order.
    let handles = pool
        .submit_batch(files.iter().map(|(name, data)| {
            let name = name.clone();
            let data = data.clone();
            move |_: &Context| (name, checksum(&data))
        }))
        .map_err(|e| e.to_string())?;
    let mut combined = 0u64;
    for handle in handles {
        let (name, sum) = handle.wait()?;
        combined ^= sum;
        if name.ends_with("00.bin") || name.ends_with("63.bin") {
            println!("{name}: {sum:016x}");
        }
    }
    println!(
        "... {} files checksummed in {:?}",
        files.len(),
        started.elapsed()
    );
    let serial = files
        .iter()
        .fold(0u64, |acc, (_, data)| acc ^ checksum(data));
    assert_eq!(combined, serial);
    println!("combined checksum {combined:016x} matches the serial computation");
    let stats = pool.stats();
    println!(
        "stats: {} submitted, {} succeeded, busy time {:?} across {} workers",
        stats.submitted, stats.succeeded, stats.busy_time, stats.workers
    );
    Ok(())
}
