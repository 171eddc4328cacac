//! Storage engines, one folder each. Each implements the ports of `crm::ports`: SQLite
//! embedded in the process (the default), PostgreSQL shared by several servers, and
//! several PostgreSQL databases as shards of one store.

pub mod postgres;
mod rows;
pub mod sharded;
pub mod sqlite;
mod stored_json;

pub use postgres::PostgresStore;
pub use sharded::ShardedStore;
pub use sqlite::SqliteStore;
