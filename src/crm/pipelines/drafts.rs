//! What a client asks for when it creates or changes a pipeline or a stage, and the checks
//! that turn it into one: labels, ids, and the stage metadata each type requires.

use std::collections::BTreeMap;

use crate::crm::error::CrmError;
use crate::crm::objects::ObjectType;

/// HubSpot's cap on stages in one pipeline (legacy pipelines guide: "up to 100 stages").
pub const MAX_STAGES: usize = 100;
/// Longest pipeline or stage id a client may choose.
const MAX_ID_LENGTH: usize = 100;

/// A new pipeline, or the whole replacement of one (`PUT`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineDraft {
    /// The id the client chose (`pipelineId`); generated when `None`.
    pub id: Option<String>,
    pub label: String,
    pub display_order: i32,
    pub stages: Vec<StageDraft>,
}

/// A new stage, or the whole replacement of one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageDraft {
    /// The id the client chose (`stageId`); generated when `None`. In a pipeline
    /// replacement, the id of an existing stage keeps that stage.
    pub id: Option<String>,
    pub label: String,
    pub display_order: i32,
    pub metadata: BTreeMap<String, String>,
}

/// Changes to a pipeline (`PATCH`); `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelinePatch {
    pub label: Option<String>,
    pub display_order: Option<i32>,
    /// Only `false`, to restore an archived pipeline.
    pub archived: Option<bool>,
}

/// Changes to a stage (`PATCH`); `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StagePatch {
    pub label: Option<String>,
    pub display_order: Option<i32>,
    /// Replaces the stage's metadata whole (checked as on create).
    pub metadata: Option<BTreeMap<String, String>>,
    /// `true` archives the stage, `false` restores an archived one.
    pub archived: Option<bool>,
}

/// A label with its surrounding blanks removed; an empty one is refused.
pub(in crate::crm) fn check_label(kind: &str, label: &str) -> Result<String, CrmError> {
    let label = label.trim();
    if label.is_empty() {
        return Err(CrmError::invalid(format!(
            "A {kind} needs a non-empty label"
        )));
    }
    Ok(label.to_owned())
}

/// Ids a client chooses become property values (`dealstage=<id>`) and, at HubSpot, parts of
/// property names (`hs_v2_date_entered_<stage>`, which must be lower case): lower-case
/// letters, digits, `_` and `-` only.
pub(in crate::crm) fn check_id(kind: &str, id: &str) -> Result<(), CrmError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LENGTH
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return Err(CrmError::invalid(format!(
            "Invalid {kind} id \"{id}\": ids contain only lower-case letters, digits, '_' and '-' (at most {MAX_ID_LENGTH} characters)"
        )));
    }
    Ok(())
}

/// A fresh numeric id, as HubSpot generates them (nine digits), that `taken` does not know.
pub(super) fn new_id(taken: impl Fn(&str) -> bool) -> String {
    loop {
        let candidate = rand::random_range(100_000_000u32..1_000_000_000).to_string();
        if !taken(&candidate) {
            return candidate;
        }
    }
}

/// The stage metadata `object_type` requires, normalised: deals need `probability`, a
/// number from 0.0 to 1.0 (kept as text, `"0.5"`), and get `isClosed` from it when not given
/// (1.0 is Closed Won and 0.0 Closed Lost); tickets may give `ticketState`, `OPEN` or
/// `CLOSED`. Other keys are kept as given.
pub(in crate::crm) fn check_metadata(
    object_type: ObjectType,
    stage_label: &str,
    metadata: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, CrmError> {
    let mut checked = metadata.clone();
    if object_type == ObjectType::DEALS {
        let Some(raw) = metadata.get("probability") else {
            return Err(CrmError::Invalid {
                message: format!(
                    "Stage \"{stage_label}\" of a deals pipeline needs metadata.probability, a number from 0.0 to 1.0"
                ),
                context: vec![("metadata".to_owned(), vec!["probability".to_owned()])],
            });
        };
        let probability = raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|p| (0.0..=1.0).contains(p))
            .ok_or_else(|| {
                CrmError::invalid(format!(
                    "Invalid probability \"{raw}\" for stage \"{stage_label}\": expected a number from 0.0 to 1.0"
                ))
            })?;
        // `{:?}` keeps one decimal on whole numbers ("1.0"), as HubSpot writes them.
        checked.insert("probability".to_owned(), format!("{probability:?}"));
        let closed = match metadata.get("isClosed") {
            None => probability == 0.0 || probability == 1.0,
            Some(text) if text.eq_ignore_ascii_case("true") => true,
            Some(text) if text.eq_ignore_ascii_case("false") => false,
            Some(text) => {
                return Err(CrmError::invalid(format!(
                "Invalid isClosed \"{text}\" for stage \"{stage_label}\": expected true or false"
            )))
            }
        };
        checked.insert("isClosed".to_owned(), closed.to_string());
    }
    if object_type == ObjectType::TICKETS {
        if let Some(raw) = metadata.get("ticketState") {
            let state = raw.trim().to_ascii_uppercase();
            if state != "OPEN" && state != "CLOSED" {
                return Err(CrmError::invalid(format!(
                    "Invalid ticketState \"{raw}\" for stage \"{stage_label}\": expected OPEN or CLOSED"
                )));
            }
            checked.insert("ticketState".to_owned(), state);
        }
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn deal_stages_need_a_probability() {
        let deals = ObjectType::DEALS;
        assert!(check_metadata(deals, "S", &meta(&[])).is_err());
        assert!(check_metadata(deals, "S", &meta(&[("probability", "1.5")])).is_err());
        assert!(check_metadata(deals, "S", &meta(&[("probability", "x")])).is_err());
        let won = check_metadata(deals, "S", &meta(&[("probability", "1")])).unwrap();
        assert_eq!(won["probability"], "1.0");
        assert_eq!(won["isClosed"], "true");
        let open = check_metadata(deals, "S", &meta(&[("probability", "0.25")])).unwrap();
        assert_eq!(
            (open["probability"].as_str(), open["isClosed"].as_str()),
            ("0.25", "false")
        );
        let given = meta(&[("probability", "0.5"), ("isClosed", "TRUE")]);
        assert_eq!(
            check_metadata(deals, "S", &given).unwrap()["isClosed"],
            "true"
        );
    }

    #[test]
    fn ticket_states_are_open_or_closed() {
        let tickets = ObjectType::TICKETS;
        assert!(check_metadata(tickets, "S", &meta(&[])).unwrap().is_empty());
        let closed = check_metadata(tickets, "S", &meta(&[("ticketState", "closed")])).unwrap();
        assert_eq!(closed["ticketState"], "CLOSED");
        assert!(check_metadata(tickets, "S", &meta(&[("ticketState", "DONE")])).is_err());
    }

    #[test]
    fn ids_and_labels() {
        assert!(check_id("stage", "contract_sent-2").is_ok());
        for bad in ["", "Upper", "with space", "semi;colon"] {
            assert!(check_id("stage", bad).is_err(), "{bad}");
        }
        assert_eq!(check_label("stage", "  Won ").unwrap(), "Won");
        assert!(check_label("stage", "  ").is_err());
        let id = new_id(|_| false);
        assert_eq!(id.len(), 9);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
    }
}
