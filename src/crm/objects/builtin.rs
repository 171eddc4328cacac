//! The built-in object types and HubSpot's defined associations between them, as data.
//!
//! Sources: HubSpot's object guides (names, ids, required properties, defaults, `query`
//! properties, timestamps) and the associations guide's type id tables, listed in
//! `docs/compatibility.md`; the catalogues
//! cite theirs in `catalogue/SOURCES*.md`.

use std::sync::OnceLock;

use super::{ObjectType, ObjectTypeDef, PipelineProperties};

/// The engagement timestamps and defaults every activity type shares.
const ENGAGEMENT_ALWAYS: &[&str] = &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"];
const RECORD_ALWAYS: &[&str] = &["createdate", "hs_lastmodifieddate", "hs_object_id"];
/// HubSpot grants engagements (calls, notes, …) with the contacts scopes.
const CONTACT_READ: &[&str] = &["crm.objects.contacts.read"];
const CONTACT_WRITE: &[&str] = &["crm.objects.contacts.write"];

macro_rules! object_type {
    ($file:literal, $($field:ident: $value:expr),* $(,)?) => {
        ObjectTypeDef {
            $($field: $value,)*
            properties_json: include_str!(concat!("../../../catalogue/", $file, "-properties.json")),
            groups_json: include_str!(concat!("../../../catalogue/", $file, "-property-groups.json")),
            catalogue: OnceLock::new(),
            groups: OnceLock::new(),
        }
    };
}

/// Every type, in storage-key order: append only (see [`ObjectType`]).
pub(super) static DEFINITIONS: [ObjectTypeDef; 11] = [
    object_type!("call",
        type_id: "0-48", singular: "call", plural: "calls", internal_name: "CALL",
        labels: ("Call", "Calls"), display_properties: &["hs_call_title"],
        always_returned: ENGAGEMENT_ALWAYS, returned_by_default: &[],
        created_property: "hs_createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &["hs_timestamp"], conflict_properties: &[],
        query_properties: &["hs_call_title", "hs_body_preview"],
        read_scopes: CONTACT_READ, write_scopes: CONTACT_WRITE,
        pipeline: None, mergeable: false,
    ),
    object_type!("note",
        type_id: "0-46", singular: "note", plural: "notes", internal_name: "NOTE",
        labels: ("Note", "Notes"), display_properties: &["hs_note_body"],
        always_returned: ENGAGEMENT_ALWAYS, returned_by_default: &[],
        created_property: "hs_createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &["hs_timestamp"], conflict_properties: &[],
        query_properties: &["hs_note_body"],
        read_scopes: CONTACT_READ, write_scopes: CONTACT_WRITE,
        pipeline: None, mergeable: false,
    ),
    object_type!("email",
        type_id: "0-49", singular: "email", plural: "emails", internal_name: "EMAIL",
        labels: ("Email", "Emails"), display_properties: &["hs_email_subject"],
        always_returned: ENGAGEMENT_ALWAYS, returned_by_default: &[],
        created_property: "hs_createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &["hs_timestamp", "hs_email_direction"], conflict_properties: &[],
        query_properties: &["hs_email_subject"],
        read_scopes: CONTACT_READ, write_scopes: CONTACT_WRITE,
        pipeline: None, mergeable: false,
    ),
    object_type!("meeting",
        type_id: "0-47", singular: "meeting", plural: "meetings", internal_name: "MEETING_EVENT",
        labels: ("Meeting", "Meetings"), display_properties: &["hs_meeting_title"],
        always_returned: ENGAGEMENT_ALWAYS, returned_by_default: &[],
        created_property: "hs_createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &["hs_timestamp"], conflict_properties: &[],
        query_properties: &["hs_meeting_title", "hs_meeting_body"],
        read_scopes: CONTACT_READ, write_scopes: CONTACT_WRITE,
        pipeline: None, mergeable: false,
    ),
    object_type!("task",
        type_id: "0-27", singular: "task", plural: "tasks", internal_name: "TASK",
        labels: ("Task", "Tasks"), display_properties: &["hs_task_subject"],
        always_returned: ENGAGEMENT_ALWAYS, returned_by_default: &[],
        created_property: "hs_createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &["hs_timestamp"], conflict_properties: &[],
        query_properties: &["hs_task_body", "hs_task_subject"],
        read_scopes: CONTACT_READ, write_scopes: CONTACT_WRITE,
        pipeline: None, mergeable: false,
    ),
    object_type!("contact",
        type_id: "0-1", singular: "contact", plural: "contacts", internal_name: "CONTACT",
        labels: ("Contact", "Contacts"), display_properties: &["firstname", "lastname", "email", "phone"],
        always_returned: &["createdate", "lastmodifieddate", "hs_object_id"],
        returned_by_default: &["email", "firstname", "lastname"],
        created_property: "createdate", modified_property: "lastmodifieddate",
        required_on_create: &[], conflict_properties: &["email"],
        query_properties: &[
            "firstname", "lastname", "email", "phone", "hs_additional_emails", "fax",
            "mobilephone", "company", "hs_marketable_until_renewal",
        ],
        read_scopes: CONTACT_READ, write_scopes: CONTACT_WRITE,
        pipeline: None, mergeable: true,
    ),
    object_type!("company",
        type_id: "0-2", singular: "company", plural: "companies", internal_name: "COMPANY",
        labels: ("Company", "Companies"), display_properties: &["name", "domain"],
        always_returned: RECORD_ALWAYS, returned_by_default: &["domain", "name"],
        created_property: "createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &[], conflict_properties: &[],
        query_properties: &["website", "phone", "name", "domain"],
        read_scopes: &["crm.objects.companies.read"],
        write_scopes: &["crm.objects.companies.write"],
        pipeline: None, mergeable: true,
    ),
    object_type!("deal",
        type_id: "0-3", singular: "deal", plural: "deals", internal_name: "DEAL",
        labels: ("Deal", "Deals"), display_properties: &["dealname"],
        always_returned: RECORD_ALWAYS,
        returned_by_default: &["amount", "closedate", "dealname", "dealstage", "pipeline"],
        created_property: "createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &["dealname", "dealstage"], conflict_properties: &[],
        query_properties: &["dealname", "pipeline", "dealstage", "description", "dealtype"],
        read_scopes: &["crm.objects.deals.read"],
        write_scopes: &["crm.objects.deals.write"],
        pipeline: Some(PipelineProperties { pipeline: "pipeline", stage: "dealstage" }),
        mergeable: true,
    ),
    object_type!("ticket",
        type_id: "0-5", singular: "ticket", plural: "tickets", internal_name: "TICKET",
        labels: ("Ticket", "Tickets"), display_properties: &["subject"],
        always_returned: RECORD_ALWAYS,
        returned_by_default: &[
            "content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_category",
            "hs_ticket_priority", "subject",
        ],
        created_property: "createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &["subject", "hs_pipeline_stage"], conflict_properties: &[],
        query_properties: &[
            "subject", "content", "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_id",
        ],
        read_scopes: &["tickets"], write_scopes: &["tickets"],
        pipeline: Some(PipelineProperties { pipeline: "hs_pipeline", stage: "hs_pipeline_stage" }),
        mergeable: true,
    ),
    object_type!("product",
        type_id: "0-7", singular: "product", plural: "products", internal_name: "PRODUCT",
        labels: ("Product", "Products"), display_properties: &["name"],
        always_returned: RECORD_ALWAYS, returned_by_default: &["description", "name", "price"],
        created_property: "createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &[], conflict_properties: &[],
        query_properties: &["name", "description", "hs_sku"],
        read_scopes: &["e-commerce", "crm.objects.products.read"],
        write_scopes: &["e-commerce", "crm.objects.products.write"],
        pipeline: None, mergeable: false,
    ),
    object_type!("line_item",
        type_id: "0-8", singular: "line_item", plural: "line_items", internal_name: "LINE_ITEM",
        labels: ("Line item", "Line items"), display_properties: &["name"],
        always_returned: RECORD_ALWAYS,
        returned_by_default: &["amount", "name", "price", "quantity"],
        created_property: "createdate", modified_property: "hs_lastmodifieddate",
        required_on_create: &[], conflict_properties: &[],
        query_properties: &["name", "description", "hs_sku"],
        read_scopes: &["e-commerce", "crm.objects.line_items.read"],
        write_scopes: &["e-commerce", "crm.objects.line_items.write"],
        pipeline: None, mergeable: false,
    ),
];

/// A HubSpot-defined association between two types: its type id read from `from`, and the
/// id of the same association read from `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefinedAssociation {
    pub from: ObjectType,
    pub to: ObjectType,
    pub forward: u32,
    pub backward: u32,
    /// A labelled "primary" association (contact to primary company, …), not the default.
    pub primary: bool,
    /// A labelled type of a same-type pair (company parent/child): each direction's name
    /// and label, `forward` first. Not the default either.
    pub named: Option<[(&'static str, &'static str); 2]>,
}

impl DefinedAssociation {
    /// The pair's unlabelled type, the one default paths use.
    pub fn is_default(&self) -> bool {
        !self.primary && self.named.is_none()
    }
}

const fn pair(from: ObjectType, to: ObjectType, forward: u32, backward: u32) -> DefinedAssociation {
    DefinedAssociation {
        from,
        to,
        forward,
        backward,
        primary: false,
        named: None,
    }
}

const fn primary(
    from: ObjectType,
    to: ObjectType,
    forward: u32,
    backward: u32,
) -> DefinedAssociation {
    DefinedAssociation {
        from,
        to,
        forward,
        backward,
        primary: true,
        named: None,
    }
}

/// HubSpot's company parent/child types (its 2018 "Parent <-> Child Associations"
/// changelog): 13 reads parent -> child, 14 child -> parent. Each direction's label names
/// the record it points at, as "Primary" does.
const fn parent_child() -> DefinedAssociation {
    DefinedAssociation {
        from: ObjectType::COMPANIES,
        to: ObjectType::COMPANIES,
        forward: 13,
        backward: 14,
        primary: false,
        named: Some([
            ("PARENT_TO_CHILD_COMPANY", "Child Company"),
            ("CHILD_TO_PARENT_COMPANY", "Parent Company"),
        ]),
    }
}

use ObjectType as T;

/// HubSpot's association type ids (§4.1), each pair once.
pub static DEFINED_ASSOCIATIONS: [DefinedAssociation; 36] = [
    pair(T::CONTACTS, T::COMPANIES, 279, 280),
    primary(T::CONTACTS, T::COMPANIES, 1, 2),
    pair(T::CONTACTS, T::DEALS, 4, 3),
    pair(T::CONTACTS, T::TICKETS, 15, 16),
    pair(T::COMPANIES, T::DEALS, 342, 341),
    primary(T::COMPANIES, T::DEALS, 6, 5),
    pair(T::COMPANIES, T::TICKETS, 340, 339),
    primary(T::COMPANIES, T::TICKETS, 25, 26),
    pair(T::DEALS, T::TICKETS, 27, 28),
    pair(T::DEALS, T::LINE_ITEMS, 19, 20),
    pair(T::CALLS, T::CONTACTS, 194, 193),
    pair(T::CALLS, T::COMPANIES, 182, 181),
    pair(T::CALLS, T::DEALS, 206, 205),
    pair(T::CALLS, T::TICKETS, 220, 219),
    pair(T::EMAILS, T::CONTACTS, 198, 197),
    pair(T::EMAILS, T::COMPANIES, 186, 185),
    pair(T::EMAILS, T::DEALS, 210, 209),
    pair(T::EMAILS, T::TICKETS, 224, 223),
    pair(T::MEETINGS, T::CONTACTS, 200, 199),
    pair(T::MEETINGS, T::COMPANIES, 188, 187),
    pair(T::MEETINGS, T::DEALS, 212, 211),
    pair(T::MEETINGS, T::TICKETS, 226, 225),
    pair(T::NOTES, T::CONTACTS, 202, 201),
    pair(T::NOTES, T::COMPANIES, 190, 189),
    pair(T::NOTES, T::DEALS, 214, 213),
    pair(T::NOTES, T::TICKETS, 228, 227),
    pair(T::TASKS, T::CONTACTS, 204, 203),
    pair(T::TASKS, T::COMPANIES, 192, 191),
    pair(T::TASKS, T::DEALS, 216, 215),
    pair(T::TASKS, T::TICKETS, 230, 229),
    // Deals keep their line items; HubSpot defines no type between products and the rest.
    pair(T::LINE_ITEMS, T::DEALS, 20, 19),
    // Records of the same type: one symmetric type each (it reads the same from both
    // ends), and companies' parent/child pair.
    pair(T::CONTACTS, T::CONTACTS, 449, 449),
    pair(T::COMPANIES, T::COMPANIES, 450, 450),
    parent_child(),
    pair(T::DEALS, T::DEALS, 451, 451),
    pair(T::TICKETS, T::TICKETS, 452, 452),
];
