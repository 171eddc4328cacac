//! A TCP relay the tests can cut and restore, to play a database outage.

use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A TCP relay to the database that the test can cut and restore, to play an outage.
pub struct Relay {
    pub port: u16,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    pub async fn start(port: u16, target: String) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let registry = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().unwrap().push(relay);
            }
        });
        tasks.lock().unwrap().push(accept);
        Self { port, tasks }
    }

    /// Stops listening and drops every relayed connection.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
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
