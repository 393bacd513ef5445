// SPDX-License-Identifier: MIT
//
// pipeline: a producer and a pool of workers over a bounded channel; the
// tokio version of examples/pipeline, which is measured against it.
//
// The producer sends the jobs 1, 2, ... 20 over an mpsc channel of
// capacity 4, so it waits whenever the workers fall behind.  Four workers
// share the receiver: each takes the next job, works on it for
// (job % 4) * 5 ms (a sleep) and keeps (job, job * job).  When the
// producer is done it drops its sender, which closes the channel; a worker
// stops when it finds the channel closed and empty, and hands back what it
// did.  main waits for the producer and every worker, then prints, in job
// order, and exits 0:
//
//   job 1 -> 1
//   job 2 -> 4
//   ...
//   job 20 -> 400
//   20 jobs, 4 workers, sum 2870
//
// Which worker did which job varies from run to run; the output does not.

use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};
use tokio::time::{sleep, Duration};

const JOBS: u64 = 20;
const WORKERS: usize = 4;
const CAPACITY: usize = 4;

// The lock is held only while waiting for a job, not while working on it.
async fn next_job(rx: &Mutex<mpsc::Receiver<u64>>) -> Option<u64> {
    rx.lock().await.recv().await
}

#[tokio::main]
async fn main() {
    let (tx, rx) = mpsc::channel(CAPACITY);
    let producer = tokio::spawn(async move {
        for job in 1..=JOBS {
            tx.send(job).await.expect("the workers stopped early");
        }
    });

    let rx = Arc::new(Mutex::new(rx));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let rx = Arc::clone(&rx);
            tokio::spawn(async move {
                let mut done = Vec::new();
                while let Some(job) = next_job(&rx).await {
                    sleep(Duration::from_millis(job % 4 * 5)).await;
                    done.push((job, job * job));
                }
                done
            })
        })
        .collect();

    producer.await.expect("the producer panicked");
    let mut results = Vec::new();
    for worker in workers {
        results.extend(worker.await.expect("a worker panicked"));
    }
    results.sort();
    for (job, square) in &results {
        println!("job {} -> {}", job, square);
    }
    let sum: u64 = results.iter().map(|(_, square)| square).sum();
    println!("{} jobs, {} workers, sum {}", results.len(), WORKERS, sum);
}
