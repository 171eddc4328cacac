//! The rules of HubSpot's CRM objects, independent of HTTP and of any storage engine.

pub mod associations;
pub mod body_preview;
pub mod derived;
pub mod error;
pub mod history;
pub mod merge;
pub mod migration;
pub mod objects;
pub mod owners;
pub mod pipelines;
pub mod ports;
pub mod properties;
pub mod record;
pub mod records;
pub mod schema;
pub mod schema_cache;
pub mod search;
pub mod search_lag;
pub mod services;
pub mod staging;
pub mod time;
pub mod transfer;
pub mod unique_values;
pub mod webhooks;
pub mod write_rules;
