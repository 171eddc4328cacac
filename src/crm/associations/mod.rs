//! Associations: the type matrix (which pairs exist, who keeps the rows, HubSpot's type
//! ids), the association service the API calls, and the checked reads and writes of
//! association rows that other services (records, merge) share as plain functions.

mod links;
mod matrix;
mod service;
mod targets;

pub(in crate::crm) use links::{
    associate, forget_associations_to, read_links, resolve_association_filters,
};
pub use links::{invalid_object_ids, invalid_type, parse_record_id, Link, Links};
pub use matrix::{Association, AssociationCategory, AssociationPair, AssociationSpec};
pub use service::AssociationService;
pub(in crate::crm) use targets::{require_live_targets, split_associations, validate_associations};
