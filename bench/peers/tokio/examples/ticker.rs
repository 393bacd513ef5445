// SPDX-License-Identifier: MIT
//
// ticker: an interval, a timeout, select and a lagging broadcast
// subscriber; the tokio version of examples/ticker, measured against it.
//
// An interval ticks every 200 ms, the first tick at once.  On tick n main
// publishes n on a broadcast channel of capacity 2, then runs work(n)
// under a 50 ms timeout: work sleeps 20 ms for odd n (done) and 80 ms for
// even n (timed out, and dropped).  main selects between the next tick and
// shutdown, a deadline 1100 ms after the start that stands for Ctrl+C;
// shutdown wins, so ticks 1 to 6 come (at 0, 200, ... 1000 ms).
//
// One subscriber lags: it takes 700 ms over each message, so messages are
// overwritten before it reads them.  A receive that finds its next
// message gone reports how many it lost (Lagged) and goes on from the
// oldest one still held.  When main has shut down it drops the sender; the
// subscriber reads what is left, sees the channel closed and returns what
// it got.  Every moment at which one thing happens is 50 ms or more from
// any other, so the output is always:
//
//   tick 1: done
//   tick 2: timed out
//   tick 3: done
//   tick 4: timed out
//   tick 5: done
//   tick 6: timed out
//   shutdown after 6 ticks
//   slow subscriber: got [1, 3, 5, 6], lost 2
//
// (It takes 1 at 0 ms; at 700 ms 2 is gone and it takes 3; at 1400 ms 4 is
// gone and it takes 5; 6 at 2100 ms; closed at 2800 ms.)

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{interval, sleep, timeout, Duration};

async fn work(n: u64) {
    sleep(Duration::from_millis(if n % 2 == 1 { 20 } else { 80 })).await;
}

#[tokio::main]
async fn main() {
    let (tx, mut rx) = broadcast::channel(2);
    let slow = tokio::spawn(async move {
        let (mut got, mut lost) = (Vec::new(), 0);
        loop {
            match rx.recv().await {
                Ok(n) => {
                    got.push(n);
                    sleep(Duration::from_millis(700)).await;
                }
                Err(RecvError::Lagged(skipped)) => lost += skipped,
                Err(RecvError::Closed) => return (got, lost),
            }
        }
    });

    let mut ticks = interval(Duration::from_millis(200));
    let shutdown = sleep(Duration::from_millis(1100));
    tokio::pin!(shutdown);
    let mut n = 0;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticks.tick() => {
                n += 1;
                let _ = tx.send(n);
                match timeout(Duration::from_millis(50), work(n)).await {
                    Ok(()) => println!("tick {}: done", n),
                    Err(_) => println!("tick {}: timed out", n),
                }
            }
        }
    }
    println!("shutdown after {} ticks", n);
    drop(tx);
    let (got, lost) = slow.await.expect("the subscriber panicked");
    println!("slow subscriber: got {:?}, lost {}", got, lost);
}
