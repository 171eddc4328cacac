//! Storage engines. Each implements `crm::store::CallStore`.

pub mod sqlite;
mod sqlite_search;

pub use sqlite::SqliteStore;
