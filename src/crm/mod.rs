//! The rules of HubSpot's CRM objects, independent of HTTP and of any storage engine.

pub mod association_service;
pub mod associations;
pub mod body_preview;
pub mod csv_import;
pub mod derived;
pub mod error;
pub mod history;
pub mod migration;
pub mod objects;
pub mod owners;
pub mod pipelines;
pub mod properties;
pub mod record;
pub mod schema;
pub mod search;
pub mod search_lag;
pub mod service;
pub mod staging;
pub mod store;
pub mod time;
pub mod transfer;
pub mod webhooks;
