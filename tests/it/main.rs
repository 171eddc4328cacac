//! The integration tests, as one test binary: each former `tests/*.rs` file is a module here.
//!
//! One binary links the `hubcalls` library and its dependencies once instead of once per
//! file, which is most of what `cargo test` used to spend on a clean build (and most of
//! `target/`). Tests of different modules now share a process, so none of them may change
//! process-wide state: environment variables, the working directory, signal handlers or
//! fixed ports. Servers under test bind port 0, and the binaries the CLI tests run are
//! child processes. Run one module with `cargo test --test it <module>::`.

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod api_versions;
mod api_versions_sdk;
mod associations_consistency;
mod associations_objects;
mod associations_same_type;
mod associations_support;
mod associations_v3;
mod associations_v4;
mod associations_v4_batch;
mod auth_and_errors;
mod auth_enumeration;
mod calls_batch;
mod calls_crud;
mod calls_list;
mod calls_validation;
mod cli_transfer;
mod concurrency;
mod console;
mod crash_safety;
mod disk_full;
mod durability;
mod faults;
mod fixtures;
mod fuzz_regressions;
mod gdpr_and_associations;
mod hostile_input;
mod hubspot_paths;
mod index_snapshot;
mod limits;
mod merge;
mod migrate_store;
mod objects_crud;
mod operations;
mod owners;
mod pipelines;
mod postgres;
mod properties_definitions;
mod properties_groups;
mod properties_on_calls;
mod properties_support;
mod rate_limits;
mod schemas_and_legacy_properties;
mod search_api;
mod search_equivalence;
mod search_equivalence_types;
mod shards;
mod staged_writes;
mod store_migration;
mod store_restore;
mod transfer_all_types;
mod transfer_validation;
mod unique_and_upsert;
mod upgrade_in_place;
mod webhooks_delivery;
mod webhooks_events;
mod webhooks_settings;
mod webhooks_support;
