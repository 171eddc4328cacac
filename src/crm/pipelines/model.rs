//! A pipeline and its stages as the rules and the stores hold them.
//!
//! The stored form is this struct as JSON (one row per pipeline, stages inline): stages never
//! exist apart from their pipeline, and a pipeline is always read and written whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::crm::time::EpochMillis;

/// HubSpot's only `writePermissions` value for stages a portal may use through the API.
pub const WRITE_PERMISSIONS: &str = "CRM_PERMISSIONS_ENFORCEMENT";

/// How many changes a pipeline keeps in its audit trail; older ones are dropped.
pub const MAX_AUDIT_ENTRIES: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub id: String,
    pub label: String,
    pub display_order: i32,
    pub stages: Vec<PipelineStage>,
    pub created_at: EpochMillis,
    pub updated_at: EpochMillis,
    #[serde(default)]
    pub archived_at: Option<EpochMillis>,
    /// What happened to the pipeline and its stages through this server, oldest first.
    #[serde(default)]
    pub audit: Vec<AuditEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineStage {
    pub id: String,
    pub label: String,
    pub display_order: i32,
    /// Deals: `probability` ("0.0".."1.0") and `isClosed`; tickets: `ticketState`.
    pub metadata: BTreeMap<String, String>,
    pub created_at: EpochMillis,
    pub updated_at: EpochMillis,
    #[serde(default)]
    pub archived_at: Option<EpochMillis>,
}

/// One change of a pipeline or of one of its stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The pipeline's or the stage's id.
    pub identifier: String,
    pub action: AuditAction,
    pub timestamp: EpochMillis,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditAction {
    Create,
    Update,
    Archive,
    Restore,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Archive => "ARCHIVE",
            Self::Restore => "RESTORE",
        }
    }
}

impl Pipeline {
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }

    /// The stage `id`, archived or not.
    pub fn stage(&self, id: &str) -> Option<&PipelineStage> {
        self.stages.iter().find(|s| s.id == id)
    }

    pub fn stage_mut(&mut self, id: &str) -> Option<&mut PipelineStage> {
        self.stages.iter_mut().find(|s| s.id == id)
    }

    /// The stages records may be in, in display order.
    pub fn live_stages(&self) -> impl Iterator<Item = &PipelineStage> {
        self.stages.iter().filter(|s| !s.is_archived())
    }

    /// Stages in HubSpot's display order: by `displayOrder`, ties by label.
    pub fn sort_stages(&mut self) {
        self.stages.sort_by(|a, b| {
            (a.display_order, &a.label, &a.id).cmp(&(b.display_order, &b.label, &b.id))
        });
    }

    /// Notes a change in the audit trail, keeping only the newest entries.
    pub fn record(
        &mut self,
        identifier: &str,
        action: AuditAction,
        at: EpochMillis,
        message: String,
    ) {
        self.audit.push(AuditEntry {
            identifier: identifier.to_owned(),
            action,
            timestamp: at,
            message,
        });
        if self.audit.len() > MAX_AUDIT_ENTRIES {
            let excess = self.audit.len() - MAX_AUDIT_ENTRIES;
            self.audit.drain(..excess);
        }
    }
}

impl PipelineStage {
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}
