//! How the PostgreSQL store connects: `config.rs` fills these in from flags, environment and
//! TOML.

/// How the PostgreSQL store connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSettings {
    pub url: String,
    /// Schema of hubcalls' tables; `None` uses the connection's search path.
    pub schema: Option<String>,
    /// Connections per server; a request waits for a free one up to the connect timeout,
    /// then gets a 503.
    pub pool_size: u32,
    /// Longest a statement may run before PostgreSQL cancels it (the request gets a 503).
    pub statement_timeout_ms: u64,
    /// Longest wait to connect, or for a pooled connection, before giving up with a 503.
    pub connect_timeout_secs: u64,
}

impl PostgresSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            pool_size: 16,
            statement_timeout_ms: 10_000,
            connect_timeout_secs: 5,
        }
    }

    /// Where the store is, for people: host, port, database and schema, never credentials.
    pub fn describe(&self) -> String {
        let schema = self.schema.as_deref().unwrap_or("search path");
        match self.url.parse::<postgres::Config>() {
            Ok(config) => {
                let hosts: Vec<String> = config
                    .get_hosts()
                    .iter()
                    .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
                    .map(|(host, port)| match host {
                        postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                        postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .collect();
                format!(
                    "{}/{} (schema: {schema})",
                    hosts.join(","),
                    config.get_dbname().unwrap_or("")
                )
            }
            Err(_) => format!("(unparsable URL) (schema: {schema})"),
        }
    }
}
