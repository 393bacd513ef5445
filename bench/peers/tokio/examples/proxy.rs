// SPDX-License-Identifier: MIT
//
// proxy: a TCP proxy with idle timeouts and graceful shutdown; the tokio
// version of examples/proxy, which is measured against it.
//
// Usage: proxy PORT UPSTREAM_PORT [IDLE_MS [GRACE_MS]]
//
// Listens on 127.0.0.1:PORT (0: a free port) and prints
// "listening on 127.0.0.1:P" once it accepts connections, with SIGINT
// already caught.  Each connection, numbered 1, 2, ... in the order
// accepted, gets its own task that connects to 127.0.0.1:UPSTREAM_PORT
// and copies bytes both ways.  An end of stream from one side is passed on
// as a shutdown of writing to the other; the connection ends when both
// directions have ended, or when nothing has moved either way for IDLE_MS
// (default 10000), and the task prints one of:
//
//   conn N: closed, U bytes up, D bytes down
//   conn N: idle timeout
//   conn N: error: MESSAGE          (e.g. the upstream refused)
//
// On Ctrl+C (SIGINT) it stops accepting, closes the listening socket and
// prints "shutting down, K open"; it then waits up to GRACE_MS (default
// 5000) for those connections to end as above.  Any left then are cut off
// after "grace period over, K cut off".  Last comes "bye", and exit 0.
// Wrong arguments: the usage line on stderr, exit 2.  An error binding or
// accepting ends the proxy with that error, exit 1.

use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinSet;
use tokio::time::{timeout, Duration};

const USAGE: &str = "usage: proxy PORT UPSTREAM_PORT [IDLE_MS [GRACE_MS]]";

// Copies both ways until both have ended: bytes up (client to upstream)
// and down.  Each step is one read and its write; if a step takes longer
// than `idle`, the connection is idle.
async fn relay(mut client: TcpStream, upstream: u16, idle: Duration) -> io::Result<(usize, usize)> {
    let mut server = TcpStream::connect(("127.0.0.1", upstream)).await?;
    let (mut client_rd, mut client_wr) = client.split();
    let (mut server_rd, mut server_wr) = server.split();
    let (mut up_buf, mut down_buf) = ([0u8; 8192], [0u8; 8192]);
    let (mut up, mut down, mut up_open, mut down_open) = (0, 0, true, true);
    while up_open || down_open {
        let step = async {
            tokio::select! {
                n = client_rd.read(&mut up_buf), if up_open => match n? {
                    0 => { up_open = false; server_wr.shutdown().await }
                    n => { up += n; server_wr.write_all(&up_buf[..n]).await }
                },
                n = server_rd.read(&mut down_buf), if down_open => match n? {
                    0 => { down_open = false; client_wr.shutdown().await }
                    n => { down += n; client_wr.write_all(&down_buf[..n]).await }
                },
            }
        };
        timeout(idle, step)
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    }
    Ok((up, down))
}

// Argument i, or its default when absent; usage and exit 2 when wrong.
fn arg<T: std::str::FromStr>(i: usize, default: Option<T>) -> T {
    match std::env::args().nth(i) {
        Some(a) => a.parse().ok(),
        None => default,
    }
    .unwrap_or_else(|| {
        eprintln!("{}", USAGE);
        std::process::exit(2)
    })
}

async fn serve(id: u32, client: TcpStream, upstream: u16, idle: Duration) {
    match relay(client, upstream, idle).await {
        Ok((up, down)) => println!("conn {}: closed, {} bytes up, {} bytes down", id, up, down),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => println!("conn {}: idle timeout", id),
        Err(e) => println!("conn {}: error: {}", id, e),
    }
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let (port, upstream): (u16, u16) = (arg(1, None), arg(2, None));
    let idle = Duration::from_millis(arg(3, Some(10_000)));
    let grace = Duration::from_millis(arg(4, Some(5_000)));

    // Caught before the listening line, so that a Ctrl+C sent on seeing it
    // is never the default one that kills.
    let mut sigint = signal(SignalKind::interrupt())?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);

    let mut conns = JoinSet::new();
    let mut accepted = 0;
    loop {
        tokio::select! {
            _ = sigint.recv() => break,
            Some(_) = conns.join_next() => {} // a connection has ended
            conn = listener.accept() => {
                let (client, _) = conn?;
                accepted += 1;
                conns.spawn(serve(accepted, client, upstream, idle));
            }
        }
    }

    drop(listener);
    println!("shutting down, {} open", conns.len());
    let drain = async { while conns.join_next().await.is_some() {} };
    if timeout(grace, drain).await.is_err() {
        println!("grace period over, {} cut off", conns.len());
        conns.shutdown().await;
    }
    println!("bye");
    Ok(())
}
