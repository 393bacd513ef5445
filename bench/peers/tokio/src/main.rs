// SPDX-License-Identifier: MIT
//
// The tokio peer of bench/run: the same workloads as the weft, libuv and
// libevent programs, on tokio's current_thread or multi_thread runtime.
//
// Usage: weft-bench-tokio ct|mt WORKLOAD DIV
// Prints one line: nanoseconds per operation, then peak RSS in KiB.
// DIV divides the operation counts (1 for the full sizes).
//
// Usage: weft-bench-tokio ct|mt echo PORT
// The echo server: 127.0.0.1:PORT, one task per connection that reads up
// to 4 KiB and writes it all back, until end of stream.  Runs until killed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{oneshot, Notify};

const MILLION: usize = 1_000_000;

// Counts finished tasks; the last one wakes the waiting root.
struct Countdown {
    left: AtomicUsize,
    done: Notify,
}

impl Countdown {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Countdown {
            left: AtomicUsize::new(n),
            done: Notify::new(),
        })
    }

    fn one(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
    }
}

// The same pseudo-random sequence as the C programs (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmHWM:") {
            let num: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
            return num.parse().unwrap_or(0);
        }
    }
    0
}

fn spawn_many(rt: &Runtime, n: usize) -> usize {
    let cd = Countdown::new(n);
    rt.block_on(async {
        let c = cd.clone();
        tokio::spawn(async move {
            for _ in 0..n {
                let c = c.clone();
                tokio::spawn(async move { c.one() });
            }
        });
        cd.done.notified().await;
    });
    n
}

fn yield_many(rt: &Runtime, tasks: usize, each: usize) -> usize {
    let cd = Countdown::new(tasks);
    rt.block_on(async {
        for _ in 0..tasks {
            let c = cd.clone();
            tokio::spawn(async move {
                for _ in 0..each {
                    tokio::task::yield_now().await;
                }
                c.one();
            });
        }
        cd.done.notified().await;
    });
    tasks * each
}

// Each round's message carries the next round's two channels.
struct Ping(Option<(oneshot::Receiver<Ping>, oneshot::Sender<()>)>);

fn ping_pong(rt: &Runtime, pairs: usize, rounds: usize) -> usize {
    let cd = Countdown::new(pairs);
    rt.block_on(async {
        for _ in 0..pairs {
            let c = cd.clone();
            tokio::spawn(async move {
                let (mut ta, ra) = oneshot::channel::<Ping>();
                let (tb, mut rb) = oneshot::channel::<()>();
                tokio::spawn(async move {
                    let (mut ra, mut tb) = (ra, tb);
                    loop {
                        let Ping(next) = ra.await.unwrap();
                        tb.send(()).unwrap();
                        match next {
                            Some((a, b)) => {
                                ra = a;
                                tb = b;
                            }
                            None => break,
                        }
                    }
                });
                for r in 0..rounds {
                    if r + 1 < rounds {
                        let (ta2, ra2) = oneshot::channel::<Ping>();
                        let (tb2, rb2) = oneshot::channel::<()>();
                        let _ = ta.send(Ping(Some((ra2, tb2))));
                        rb.await.unwrap();
                        ta = ta2;
                        rb = rb2;
                    } else {
                        let _ = ta.send(Ping(None));
                        rb.await.unwrap();
                        break;
                    }
                }
                c.one();
            });
        }
        cd.done.notified().await;
    });
    pairs * rounds
}

fn chain(c: Arc<Countdown>, n: usize) {
    if n == 0 {
        c.one();
    } else {
        tokio::spawn(async move { chain(c, n - 1) });
    }
}

fn chained_spawn(rt: &Runtime, depth: usize) -> usize {
    let cd = Countdown::new(1);
    rt.block_on(async {
        let c = cd.clone();
        tokio::spawn(async move { chain(c, depth) });
        cd.done.notified().await;
    });
    depth
}

fn sleeps(rt: &Runtime, n: usize) -> usize {
    let cd = Countdown::new(n);
    rt.block_on(async {
        let c = cd.clone();
        tokio::spawn(async move {
            let mut rng = Rng(0x9e3779b97f4a7c15);
            for _ in 0..n {
                let c = c.clone();
                let ms = rng.next() % 101;
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    c.one();
                });
            }
        });
        cd.done.notified().await;
    });
    n
}

// Spawns n tasks that never finish; the time is the spawning.
fn pending_tasks(rt: &Runtime, n: usize) -> usize {
    let cd = Countdown::new(1);
    rt.block_on(async {
        let c = cd.clone();
        tokio::spawn(async move {
            for _ in 0..n {
                tokio::spawn(std::future::pending::<()>());
            }
            c.one();
        });
        cd.done.notified().await;
    });
    n
}

async fn echo_conn(mut s: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = s.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn echo(rt: &Runtime, port: u16) -> ! {
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("listen");
        loop {
            if let Ok((s, _)) = l.accept().await {
                tokio::spawn(echo_conn(s));
            }
        }
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: {} ct|mt WORKLOAD DIV", args[0]);
        std::process::exit(2);
    }
    let div: usize = args[3].parse().unwrap_or(1).max(1);
    let rt = match args[1].as_str() {
        "ct" => Builder::new_current_thread().enable_all().build(),
        "mt" => Builder::new_multi_thread().enable_all().build(),
        _ => {
            eprintln!("runtime: ct or mt");
            std::process::exit(2);
        }
    }
    .expect("runtime");
    if args[2] == "echo" {
        echo(&rt, args[3].parse().expect("port"));
    }
    let t0 = Instant::now();
    let ops = match args[2].as_str() {
        "spawn_many" => spawn_many(&rt, MILLION / div),
        "yield_many" => yield_many(&rt, 1000, 1000 / div),
        "ping_pong" => ping_pong(&rt, 1000, 1000 / div),
        "chained_spawn" => chained_spawn(&rt, MILLION / div),
        "sleeps" => sleeps(&rt, MILLION / div),
        "pending_tasks" => pending_tasks(&rt, MILLION / div),
        w => {
            eprintln!("{}: unknown workload", w);
            std::process::exit(3);
        }
    };
    let ns = t0.elapsed().as_nanos() as f64 / ops as f64;
    println!("{:.1} {}", ns, peak_rss_kib());
    // The runtime's teardown is not measured: leave at once.
    std::process::exit(0);
}
