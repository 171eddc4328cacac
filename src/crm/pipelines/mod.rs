//! HubSpot's pipelines: the stages deals and tickets move through.
//!
//! Every portal starts with HubSpot's default pipeline of each type ([`defaults`]); what it
//! creates or changes is stored per partition ([`crate::crm::ports::SchemaStore::save_pipeline`]).
//! The rules here decide what a pipeline may look like ([`drafts`]), what a portal has
//! ([`set`]), where a record may sit ([`placement`]), and serve the pipelines API
//! ([`service`]).

pub mod defaults;
pub mod drafts;
pub mod model;
pub mod placement;
pub mod service;
pub mod set;

pub use drafts::{PipelineDraft, PipelinePatch, StageDraft, StagePatch};
pub use model::{AuditAction, AuditEntry, Pipeline, PipelineStage, WRITE_PERMISSIONS};
pub use placement::{is_placement_property, Placement};
pub use set::PortalPipelines;
