//! Storage engines, one folder each. Each implements the ports of `crm::ports`: SQLite
//! embedded in the process (the default), PostgreSQL shared by several servers.

pub mod postgres;
mod rows;
pub mod sqlite;
mod stored_json;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
