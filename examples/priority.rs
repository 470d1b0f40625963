//! A support desk triages tickets: a priority queue starts urgent tickets
//! first, and tickets of equal urgency in the order they arrived.
//!
//! Run with `cargo run --example priority`.

use gosling::{Pool, QueueKind, Task};
use std::sync::mpsc;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let desk = Pool::builder()
        .workers(2)
        .queue(QueueKind::Priority)
        .thread_name("agent")
        .build()?;

    // Both agents are in a meeting until the inbox has filled up.
    let (end_meeting, meeting) = mpsc::channel::<()>();
    let meeting = std::sync::Arc::new(std::sync::Mutex::new(meeting));
    for _ in 0..2 {
        let meeting = meeting.clone();
        desk.spawn(move |_| {
            let _ = meeting.lock().unwrap().recv();
        })?;
    }

    let tickets = [
        ("printer jammed", 1),
        ("site down", 100),
        ("password reset", 10),
        ("refund request", 10),
        ("typo on pricing page", 1),
        ("payments failing", 100),
    ];
    let (done_tx, done) = mpsc::channel();
    let mut handles = Vec::new();
    for (number, (title, urgency)) in tickets.into_iter().enumerate() {
        let done_tx = done_tx.clone();
        let task = Task::new(move |_| {
            let agent = std::thread::current().name().unwrap_or("?").to_string();
            std::thread::sleep(Duration::from_millis(2));
            done_tx.send((number, title, urgency, agent)).unwrap();
        })
        .priority(urgency);
        handles.push(desk.submit_task(task)?);
    }
    drop(done_tx);
    println!("{} tickets queued; the meeting ends", handles.len());
    end_meeting.send(())?;
    end_meeting.send(())?;
    for handle in handles {
        handle.wait()?;
    }
    for (number, title, urgency, agent) in done.iter() {
        println!("#{number} {title:<22} urgency {urgency:>3}  handled by {agent}");
    }
    println!("(with two agents, neighbours may finish in either order; starts follow urgency)");
    Ok(())
}
