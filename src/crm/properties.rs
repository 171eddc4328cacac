//! Property definitions and the rules that turn a client's value into a stored one.
//!
//! The built-in call properties ship as `catalogue/call-properties.json`, written in
//! HubSpot's own `Property` shape so the properties API can serve it as it is. Every value a
//! client writes is checked against its definition here, before anything reaches a store.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::time::{format_date, format_datetime, parse_date, parse_datetime};

/// The longest string value HubSpot accepts (documented for string properties).
pub const MAX_STRING_LENGTH: usize = 65_536;

/// A property's value type, as HubSpot names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyType {
    Bool,
    Enumeration,
    Date,
    Datetime,
    String,
    Number,
    PhoneNumber,
    ObjectCoordinates,
    Json,
}

impl PropertyType {
    /// Types whose values compare as numbers in search (datetimes and dates as instants).
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Number | Self::Datetime | Self::Date)
    }

    /// Types compared case-sensitively in search (HubSpot: enumerations are exact).
    pub fn is_case_sensitive(self) -> bool {
        matches!(self, Self::Enumeration | Self::Bool)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    pub label: String,
    pub value: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub hidden: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    pub archivable: bool,
    pub read_only_definition: bool,
    pub read_only_value: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_options: Option<bool>,
}

/// One property of the calls object, built-in or custom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDefinition {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub property_type: PropertyType,
    pub field_type: String,
    pub group_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub external_options: bool,
    #[serde(default)]
    pub has_unique_value: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub hubspot_defined: bool,
    #[serde(default)]
    pub form_field: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sensitivity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_object_type: Option<String>,
    pub modification_metadata: ModificationMetadata,
}

impl PropertyDefinition {
    pub fn is_read_only(&self) -> bool {
        self.modification_metadata.read_only_value
    }

    /// Multi-select enumerations keep `;`-separated values.
    pub fn is_multi_valued(&self) -> bool {
        self.property_type == PropertyType::Enumeration && self.field_type == "checkbox"
    }
}

/// Why one property value was refused. `code` is HubSpot's error code for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyProblem {
    pub name: String,
    pub code: &'static str,
    pub message: String,
}

impl PropertyProblem {
    pub fn unknown(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            code: "PROPERTY_DOESNT_EXIST",
            message: format!("Property \"{name}\" does not exist"),
        }
    }

    pub fn read_only(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            code: "READ_ONLY_VALUE",
            message: format!("\"{name}\" is a calculated property; its value cannot be set."),
        }
    }

    pub fn required(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            code: "REQUIRED_PROPERTY",
            message: format!("Property \"{name}\" is required"),
        }
    }

    fn invalid(def: &PropertyDefinition, code: &'static str, message: String) -> Self {
        Self {
            name: def.name.clone(),
            code,
            message,
        }
    }
}

/// Every property a portal's calls may carry, by name.
#[derive(Debug, Clone)]
pub struct PropertyCatalogue {
    definitions: BTreeMap<String, Arc<PropertyDefinition>>,
}

impl PropertyCatalogue {
    /// The built-in call properties shipped with hubcalls (see
    /// [`ObjectType::catalogue`](super::objects::ObjectType::catalogue) for every type).
    pub fn builtin() -> Self {
        super::objects::ObjectType::CALLS.catalogue().clone()
    }

    pub fn from_definitions(definitions: impl IntoIterator<Item = PropertyDefinition>) -> Self {
        let definitions = definitions
            .into_iter()
            .map(|def| (def.name.clone(), Arc::new(def)))
            .collect();
        Self { definitions }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<PropertyDefinition>> {
        self.definitions.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.definitions.contains_key(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<PropertyDefinition>> {
        self.definitions.values()
    }

    /// Checks and normalises one client-written value. `Ok(None)` means "clear the value"
    /// (HubSpot clears a property written as the empty string).
    pub fn normalize(&self, name: &str, raw: &str) -> Result<Option<String>, PropertyProblem> {
        let def = self
            .get(name)
            .ok_or_else(|| PropertyProblem::unknown(name))?;
        if def.is_read_only() {
            return Err(PropertyProblem::read_only(name));
        }
        normalize_value(def, raw)
    }
}

/// Normalises `raw` for `def` without the read-only check (used for computed values too).
pub fn normalize_value(
    def: &PropertyDefinition,
    raw: &str,
) -> Result<Option<String>, PropertyProblem> {
    if raw.is_empty() {
        return Ok(None);
    }
    let value = match def.property_type {
        PropertyType::Number => normalize_number(def, raw)?,
        PropertyType::Bool => normalize_bool(def, raw)?,
        PropertyType::Datetime => parse_datetime(raw).map(format_datetime).ok_or_else(|| {
            PropertyProblem::invalid(
                def,
                "INVALID_DATE",
                format!("{raw} was not a valid datetime; expected epoch milliseconds or ISO 8601"),
            )
        })?,
        PropertyType::Date => parse_date(raw).map(format_date).ok_or_else(|| {
            PropertyProblem::invalid(
                def,
                "INVALID_DATE",
                format!("{raw} was not a valid date; expected YYYY-MM-DD or epoch milliseconds at midnight UTC"),
            )
        })?,
        PropertyType::Enumeration => normalize_enumeration(def, raw)?,
        PropertyType::String
        | PropertyType::PhoneNumber
        | PropertyType::ObjectCoordinates
        | PropertyType::Json => {
            if raw.chars().count() > MAX_STRING_LENGTH {
                return Err(PropertyProblem::invalid(
                    def,
                    "INVALID_STRING_LENGTH",
                    format!(
                        "Value of property \"{}\" is longer than the maximum of {MAX_STRING_LENGTH} characters",
                        def.name
                    ),
                ));
            }
            raw.to_owned()
        }
    };
    // The empty string means "no value" and is never stored: a multi-select written as
    // separators only (`;`) holds no value (found by fuzzing; writes treat it as appending
    // nothing).
    Ok((!value.is_empty()).then_some(value))
}

fn normalize_number(def: &PropertyDefinition, raw: &str) -> Result<String, PropertyProblem> {
    if is_decimal_number(raw) {
        Ok(raw.to_owned())
    } else {
        Err(PropertyProblem::invalid(
            def,
            "INVALID_INTEGER",
            format!("{raw} was not a valid number"),
        ))
    }
}

/// A plain decimal as Java's `BigDecimal` reads it: optional minus, digits with an optional
/// fraction, optional exponent. Rejects what Rust's float parser would also take (`inf`,
/// `NaN`, `+1`, `.5`) because HubSpot does not store those.
pub fn is_decimal_number(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    digits(whole) && fraction.is_none_or(digits) && exponent_ok
}

fn normalize_bool(def: &PropertyDefinition, raw: &str) -> Result<String, PropertyProblem> {
    if raw.eq_ignore_ascii_case("true") {
        Ok("true".to_owned())
    } else if raw.eq_ignore_ascii_case("false") {
        Ok("false".to_owned())
    } else {
        Err(PropertyProblem::invalid(
            def,
            "INVALID_BOOLEAN",
            format!("{raw} was not a valid boolean; expected true or false"),
        ))
    }
}

fn normalize_enumeration(def: &PropertyDefinition, raw: &str) -> Result<String, PropertyProblem> {
    if def.external_options {
        // Owner-style properties point at records hubcalls does not hold (owners): any
        // numeric id is accepted.
        return if raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(raw.to_owned())
        } else {
            Err(PropertyProblem::invalid(
                def,
                "INVALID_OPTION",
                format!("{raw} was not a valid id for property \"{}\"", def.name),
            ))
        };
    }
    // An enumeration without options takes its values from the account (call types,
    // attachment ids, team ids): HubSpot accepts any value there, and so does hubcalls.
    let allowed = |value: &str| {
        def.options.is_empty() || def.options.iter().any(|option| option.value == value)
    };
    let values: Vec<&str> = if def.is_multi_valued() {
        raw.split(';').filter(|v| !v.is_empty()).collect()
    } else {
        vec![raw]
    };
    if let Some(bad) = values.iter().find(|value| !allowed(value)) {
        let options: Vec<&str> = def.options.iter().map(|o| o.value.as_str()).collect();
        return Err(PropertyProblem::invalid(
            def,
            "INVALID_OPTION",
            format!(
                "{bad} was not one of the allowed options: [{}]",
                options.join(", ")
            ),
        ));
    }
    Ok(values.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_alone_are_no_value() {
        let catalogue = PropertyCatalogue::builtin();
        let def = catalogue
            .get("hs_user_ids_of_all_notification_followers")
            .unwrap();
        assert!(def.is_multi_valued());
        for raw in [";", ";;", ""] {
            assert_eq!(normalize_value(def, raw), Ok(None), "{raw:?}");
        }
        assert_eq!(normalize_value(def, ";7;;8;"), Ok(Some("7;8".to_owned())));
    }

    fn catalogue() -> PropertyCatalogue {
        PropertyCatalogue::builtin()
    }

    #[test]
    fn builtin_catalogue_has_the_documented_properties() {
        let catalogue = catalogue();
        for name in [
            "hs_timestamp",
            "hs_call_body",
            "hs_call_direction",
            "hs_call_disposition",
            "hs_call_duration",
            "hs_call_status",
            "hs_call_title",
            "hs_object_id",
            "hs_createdate",
            "hs_lastmodifieddate",
        ] {
            assert!(catalogue.contains(name), "{name} missing");
        }
        assert!(catalogue.get("hs_object_id").unwrap().is_read_only());
    }

    #[test]
    fn values_are_typed() {
        let c = catalogue();
        assert_eq!(
            c.normalize("hs_timestamp", "1745524893000")
                .unwrap()
                .as_deref(),
            Some("2025-04-24T20:01:33Z")
        );
        assert_eq!(
            c.normalize("hs_call_duration", "3800").unwrap().as_deref(),
            Some("3800")
        );
        assert_eq!(
            c.normalize("hs_call_duration", "ten").unwrap_err().code,
            "INVALID_INTEGER"
        );
        assert_eq!(
            c.normalize("hs_call_direction", "SIDEWAYS")
                .unwrap_err()
                .code,
            "INVALID_OPTION"
        );
        assert_eq!(c.normalize("hs_call_direction", "").unwrap(), None);
        assert_eq!(
            c.normalize("nope", "x").unwrap_err().code,
            "PROPERTY_DOESNT_EXIST"
        );
        assert_eq!(
            c.normalize("hs_object_id", "1").unwrap_err().code,
            "READ_ONLY_VALUE"
        );
    }

    #[test]
    fn decimal_numbers() {
        for ok in ["0", "-1", "3.25", "1e3", "1E-3", "-0.5"] {
            assert!(is_decimal_number(ok), "{ok}");
        }
        for bad in ["", "-", ".5", "5.", "inf", "NaN", "+1", "1e", "0x10", " 1"] {
            assert!(!is_decimal_number(bad), "{bad}");
        }
    }
}
