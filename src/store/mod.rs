//! Storage engines. Each implements `crm::store::CallStore`.

mod index;
pub mod sqlite;

pub use sqlite::SqliteStore;
