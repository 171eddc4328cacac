//! A TCP relay the tests can cut and restore, to play a database outage.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A TCP relay to the database that the test can cut and restore, to play an outage, or
/// freeze and thaw, to play a network that drops packets without closing connections.
pub struct Relay {
    pub port: u16,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    frozen: Arc<AtomicBool>,
}

impl Relay {
    pub async fn start(port: u16, target: String) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let frozen = Arc::new(AtomicBool::new(false));
        let registry = tasks.clone();
        let frozen_flag = frozen.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let target = target.clone();
                let frozen = frozen_flag.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(outbound) = tokio::net::TcpStream::connect(&target).await {
                        let (in_read, in_write) = inbound.into_split();
                        let (out_read, out_write) = outbound.into_split();
                        tokio::join!(
                            pump(in_read, out_write, frozen.clone()),
                            pump(out_read, in_write, frozen)
                        );
                    }
                });
                registry.lock().unwrap().push(relay);
            }
        });
        tasks.lock().unwrap().push(accept);
        Self {
            port,
            tasks,
            frozen,
        }
    }

    /// Holds every byte from now on, in both directions, with every connection left open.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Passes bytes again, those held first.
    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }

    /// Stops listening and drops every relayed connection.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Copies `from` to `to` until either closes, holding what it read while `frozen`.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, frozen: Arc<AtomicBool>) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// Where a relay of `url`'s database forwards to (host and port).
pub fn target_of(url: &str) -> String {
    let parsed: postgres::Config = url.parse().expect("a database URL");
    let host = match parsed.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    format!(
        "{host}:{}",
        parsed.get_ports().first().copied().unwrap_or(5432)
    )
}

/// A fresh relay to `url`'s database and a URL that reaches the database through it.
pub async fn relayed(url: &str) -> (Relay, String) {
    let parsed: postgres::Config = url.parse().expect("a database URL");
    let relay = Relay::start(0, target_of(url)).await;
    let user = parsed.get_user().unwrap_or("postgres");
    let dbname = parsed.get_dbname().unwrap_or("postgres");
    let relayed_url = format!("postgres://{user}@127.0.0.1:{}/{dbname}", relay.port);
    (relay, relayed_url)
}
