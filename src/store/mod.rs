//! Storage engines. Each implements `crm::store::CallStore`: SQLite embedded in the
//! process (the default), PostgreSQL shared by several servers.

pub mod postgres;
mod postgres_schema;
mod postgres_search;
pub mod sqlite;
mod sqlite_search;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
