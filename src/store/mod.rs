//! Storage engines. Each implements `crm::store::RecordStore`: SQLite embedded in the
//! process (the default), PostgreSQL shared by several servers.

mod index;
pub mod postgres;
mod postgres_schema;
mod postgres_search;
pub mod sqlite;
mod sqlite_history;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
