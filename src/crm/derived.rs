//! Properties HubSpot calculates from others on every write: body previews, owner
//! bookkeeping, a contact's email domain and the normalised phone numbers search matches.
//!
//! Each rule runs only when a property it reads was written, and yields the new value of
//! what it derives (`None` clears it). Values for properties a portal's catalogue lacks
//! are dropped by the caller.

use super::body_preview::BodyPreview;
use super::objects::ObjectType;
use super::record::Record;
use super::time::{format_datetime, EpochMillis};

/// A derived property and its new value.
pub type Derived = (&'static str, Option<String>);

/// The property holding an engagement's body, which its previews derive from.
fn body_property(object_type: ObjectType) -> Option<&'static str> {
    match object_type {
        ObjectType::CALLS => Some("hs_call_body"),
        ObjectType::NOTES => Some("hs_note_body"),
        ObjectType::EMAILS => Some("hs_email_text"),
        ObjectType::MEETINGS => Some("hs_meeting_body"),
        ObjectType::TASKS => Some("hs_task_body"),
        _ => None,
    }
}

/// Contacts' phone properties and the searchable forms HubSpot keeps of them (HubSpot's
/// contacts and search guides).
const SEARCHABLE_PHONES: [(&str, &str, &str); 2] = [
    (
        "phone",
        "hs_searchable_calculated_phone_number",
        "hs_searchable_calculated_international_phone_number",
    ),
    (
        "mobilephone",
        "hs_searchable_calculated_mobile_number",
        "hs_searchable_calculated_international_mobile_number",
    ),
];

/// What `record`'s write of the properties `touched` says changes elsewhere.
pub fn derived_values(
    object_type: ObjectType,
    record: &Record,
    touched: &dyn Fn(&str) -> bool,
    now: EpochMillis,
) -> Vec<Derived> {
    let mut derived = Vec::new();
    if let Some(body) = body_property(object_type).filter(|name| touched(name)) {
        let preview = record.property(body).map(BodyPreview::of);
        derived.push((
            "hs_body_preview",
            preview
                .as_ref()
                .map(|p| p.text.clone())
                .filter(|t| !t.is_empty()),
        ));
        derived.push((
            "hs_body_preview_html",
            preview.as_ref().map(|p| p.html.clone()),
        ));
        derived.push((
            "hs_body_preview_is_truncated",
            preview.as_ref().map(|p| p.truncated.to_string()),
        ));
    }
    if touched("hubspot_owner_id") {
        let owner = record.property("hubspot_owner_id").map(str::to_owned);
        derived.push(("hs_all_owner_ids", owner.clone()));
        derived.push(("hs_user_ids_of_all_owners", owner.clone()));
        derived.push((
            "hubspot_owner_assigneddate",
            owner.map(|_| format_datetime(now)),
        ));
    }
    if object_type == ObjectType::CONTACTS {
        if touched("email") {
            let domain = record
                .property("email")
                .and_then(|email| email.rsplit_once('@'))
                .map(|(_, domain)| domain.to_ascii_lowercase())
                .filter(|domain| !domain.is_empty());
            derived.push(("hs_email_domain", domain));
        }
        for (source, national, international) in SEARCHABLE_PHONES {
            if touched(source) {
                let digits = record.property(source).map(phone_digits);
                derived.push((national, digits.as_deref().and_then(national_number)));
                derived.push((international, digits.filter(|d| !d.is_empty())));
            }
        }
    }
    if object_type == ObjectType::COMPANIES && touched("domain") && !touched("website") {
        // A company created or updated with a domain shows it as its website too.
        if record.property("website").is_none() {
            derived.push(("website", record.property("domain").map(str::to_owned)));
        }
    }
    derived
}

/// The digits of a phone number as written (`+1 (617) 555-0100` -> `16175550100`).
fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// The national part search matches on: HubSpot keeps "only the area code and local
/// number", so a leading trunk `0`s and a North American country code `1` on eleven
/// digits are dropped.
fn national_number(digits: &str) -> Option<String> {
    let trimmed = digits.trim_start_matches('0');
    let national = match trimmed.strip_prefix('1') {
        Some(rest) if trimmed.len() == 11 => rest,
        _ => trimmed,
    };
    (!national.is_empty()).then(|| national.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_drop_trunk_and_country_prefixes() {
        assert_eq!(
            national_number(&phone_digits("+1 (617) 555-0100")).as_deref(),
            Some("6175550100")
        );
        assert_eq!(national_number("6175550100").as_deref(), Some("6175550100"));
        assert_eq!(national_number("00004").as_deref(), Some("4"));
        assert_eq!(national_number("000"), None);
    }

    #[test]
    fn contacts_get_their_email_domain_and_searchable_phones() {
        let mut record = Record {
            id: 1,
            properties: Default::default(),
            created_at: 0,
            updated_at: 0,
            archived_at: None,
        };
        record
            .properties
            .insert("email".into(), "Ada@Example.COM".into());
        record
            .properties
            .insert("phone".into(), "+1 617-555-0100".into());
        let all = |_: &str| true;
        let derived = derived_values(ObjectType::CONTACTS, &record, &all, 0);
        let value = |name: &str| {
            derived
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.clone())
        };
        assert_eq!(value("hs_email_domain").as_deref(), Some("example.com"));
        assert_eq!(
            value("hs_searchable_calculated_phone_number").as_deref(),
            Some("6175550100")
        );
        assert_eq!(value("hs_body_preview"), None);
    }
}
