//! A portal's write validation rules: properties required on the "Create record" form and
//! properties required when another has a given value.
//!
//! HubSpot admins configure these in the portal's settings; from the `2026-09` API version on,
//! HubSpot enforces them on every CRM write through the API (older versions ignore them). The
//! API layer decides when they apply; this module holds them and checks a write against them.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use super::error::CrmError;
use super::objects::{ObjectType, Partition};
use super::properties::PropertyProblem;
use super::record::{PortalId, Record};
use super::records::PropertyValues;

/// The rules of one object type in one portal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectWriteRules {
    /// Properties a create must give a value.
    #[serde(
        default,
        rename = "requiredOnCreate",
        alias = "required_on_create",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub required_on_create: Vec<String>,
    /// Properties a write must leave with a value when another property has one of some
    /// values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditional: Vec<ConditionalRequirement>,
}

/// `property` is required while `when_property` holds one of `values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionalRequirement {
    pub property: String,
    #[serde(rename = "whenProperty", alias = "when_property")]
    pub when_property: String,
    pub values: Vec<String>,
}

/// One `[[validation_rules]]` entry of the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteRuleSettings {
    pub portal: PortalId,
    pub object_type: String,
    #[serde(flatten)]
    pub rules: ObjectWriteRules,
}

/// Every portal's rules, changed at run time by the admin API.
#[derive(Debug, Default)]
pub struct WriteRules {
    by_partition: RwLock<HashMap<Partition, ObjectWriteRules>>,
}

impl WriteRules {
    /// The rules of the configuration file; an unknown object type is refused.
    pub fn from_settings(settings: Vec<WriteRuleSettings>) -> Result<Self, String> {
        let rules = Self::default();
        for entry in settings {
            let object_type = ObjectType::parse(&entry.object_type).ok_or_else(|| {
                format!(
                    "validation rules for portal {}: unknown object type \"{}\"",
                    entry.portal, entry.object_type
                )
            })?;
            rules.set(Partition::new(entry.portal, object_type), entry.rules);
        }
        Ok(rules)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Partition, ObjectWriteRules>> {
        // A panic while holding the lock leaves the map whole (writes replace one entry).
        self.by_partition
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Partition, ObjectWriteRules>> {
        self.by_partition
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces one type's rules in a portal (empty rules remove them).
    pub fn set(&self, partition: Partition, rules: ObjectWriteRules) {
        let mut map = self.write();
        if rules == ObjectWriteRules::default() {
            map.remove(&partition);
        } else {
            map.insert(partition, rules);
        }
    }

    /// Removes every rule of a portal.
    pub fn clear_portal(&self, portal: PortalId) {
        self.write()
            .retain(|partition, _| partition.portal != portal);
    }

    /// A portal's rules per object type, in registry order.
    pub fn of_portal(&self, portal: PortalId) -> Vec<(ObjectType, ObjectWriteRules)> {
        let map = self.read();
        ObjectType::all()
            .filter_map(|t| {
                map.get(&Partition::new(portal, t))
                    .map(|rules| (t, rules.clone()))
            })
            .collect()
    }

    /// Whether writes to `partition` have anything to check (so an update need not read
    /// the record first when they do not).
    pub fn any(&self, partition: Partition) -> bool {
        self.read().contains_key(&partition)
    }

    /// Checks a create's values.
    pub fn check_create(
        &self,
        partition: Partition,
        properties: &PropertyValues,
    ) -> Result<(), CrmError> {
        let Some(rules) = self.read().get(&partition).cloned() else {
            return Ok(());
        };
        let value = |name: &str| given(properties, name);
        let mut problems: Vec<PropertyProblem> = rules
            .required_on_create
            .iter()
            .filter(|name| value(name).is_none())
            .map(|name| missing_required(name))
            .collect();
        problems.extend(conditional_problems(&rules, value));
        refuse(problems)
    }

    /// Checks an update of `current` by `properties`: the record as the update would
    /// leave it must satisfy the conditional requirements.
    pub fn check_update(
        &self,
        partition: Partition,
        current: &Record,
        properties: &PropertyValues,
    ) -> Result<(), CrmError> {
        let Some(rules) = self.read().get(&partition).cloned() else {
            return Ok(());
        };
        let value = |name: &str| match properties.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => non_empty(v),
            None => current.property(name).and_then(non_empty),
        };
        refuse(conditional_problems(&rules, value))
    }
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.trim().is_empty()).then_some(value)
}

/// The value a write gives `name` (the last one, as the write keeps), if not empty.
fn given<'a>(properties: &'a PropertyValues, name: &str) -> Option<&'a str> {
    properties
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| non_empty(v))
}

fn conditional_problems<'a>(
    rules: &ObjectWriteRules,
    value: impl Fn(&str) -> Option<&'a str>,
) -> Vec<PropertyProblem> {
    rules
        .conditional
        .iter()
        .filter(|rule| {
            value(&rule.when_property).is_some_and(|v| rule.values.iter().any(|w| w == v))
                && value(&rule.property).is_none()
        })
        .map(|rule| PropertyProblem {
            name: rule.property.clone(),
            code: "MISSING_CONDITIONAL_REQUIRED_PROPERTY",
            message: format!(
                "{} is required because of a conditional property rule based on [{}]",
                rule.property, rule.when_property
            ),
        })
        .collect()
}

fn missing_required(name: &str) -> PropertyProblem {
    PropertyProblem {
        name: name.to_owned(),
        code: "MISSING_REQUIRED_PROPERTY",
        message: format!("A value for {name} must be provided"),
    }
}

fn refuse(problems: Vec<PropertyProblem>) -> Result<(), CrmError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CrmError::RuleViolations(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deals(portal: PortalId) -> Partition {
        Partition::new(portal, ObjectType::DEALS)
    }

    fn rules() -> WriteRules {
        let rules = WriteRules::default();
        rules.set(
            deals(1),
            ObjectWriteRules {
                required_on_create: vec!["dealname".into()],
                conditional: vec![ConditionalRequirement {
                    property: "amount".into(),
                    when_property: "dealstage".into(),
                    values: vec!["closedwon".into()],
                }],
            },
        );
        rules
    }

    fn props(pairs: &[(&str, &str)]) -> PropertyValues {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn codes(result: Result<(), CrmError>) -> Vec<&'static str> {
        match result {
            Err(CrmError::RuleViolations(problems)) => problems.iter().map(|p| p.code).collect(),
            Err(other) => panic!("unexpected error {other}"),
            Ok(()) => Vec::new(),
        }
    }

    #[test]
    fn creates_need_the_form_and_the_conditional_properties() {
        let rules = rules();
        assert_eq!(
            codes(rules.check_create(deals(1), &props(&[("dealstage", "closedwon")]))),
            [
                "MISSING_REQUIRED_PROPERTY",
                "MISSING_CONDITIONAL_REQUIRED_PROPERTY"
            ]
        );
        assert_eq!(
            codes(rules.check_create(deals(1), &props(&[("dealname", " ")]))),
            ["MISSING_REQUIRED_PROPERTY"],
            "a blank value is no value"
        );
        let whole = props(&[
            ("dealname", "D"),
            ("dealstage", "closedwon"),
            ("amount", "5"),
        ]);
        assert!(rules.check_create(deals(1), &whole).is_ok());
        // Other portals and types have no rules.
        assert!(rules.check_create(deals(2), &props(&[])).is_ok());
        let calls = Partition::new(1, ObjectType::CALLS);
        assert!(rules.check_create(calls, &props(&[])).is_ok());
    }

    fn record(pairs: &[(&str, &str)]) -> Record {
        Record {
            id: 1,
            properties: pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            created_at: 0,
            updated_at: 0,
            archived_at: None,
        }
    }

    #[test]
    fn updates_are_checked_as_they_would_leave_the_record() {
        let rules = rules();
        let current = record(&[("amount", "100")]);
        let won = props(&[("dealstage", "closedwon")]);
        assert!(rules.check_update(deals(1), &current, &won).is_ok());
        let won_emptied = props(&[("dealstage", "closedwon"), ("amount", "")]);
        assert_eq!(
            codes(rules.check_update(deals(1), &current, &won_emptied)),
            ["MISSING_CONDITIONAL_REQUIRED_PROPERTY"]
        );
        // The form's required properties concern creates only.
        assert!(rules
            .check_update(deals(1), &record(&[]), &props(&[("description", "x")]))
            .is_ok());
    }

    #[test]
    fn empty_rules_remove_a_type_and_portals_clear() {
        let rules = rules();
        assert!(rules.any(deals(1)));
        rules.set(deals(1), ObjectWriteRules::default());
        assert!(!rules.any(deals(1)));
        let rules = self::rules();
        rules.clear_portal(1);
        assert!(rules.of_portal(1).is_empty());
    }
}
