#[test]
fn submit_timeout_too_long_to_represent_waits_instead_of_following_the_policy() {
    // `Duration::MAX` overflows an `Instant`: it must mean "wait as long as
    // it takes", not fall back to the pool's (here: reject) policy.
    let pool = bounded(1, FullPolicy::Reject);
    let gate = hold_worker(&pool);
    let _queued = pool.submit(|_| ()).unwrap();
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            pool.submit_timeout(|_| "waited", Duration::MAX)
                .map_err(|e| e.kind())
        });
        gate.send(()).unwrap();
        let handle = waiter.join().unwrap().expect("refused instead of waiting");
        assert_eq!(handle.wait(), Ok("waited"));
    });
}
