//! What a type's schema says about its associations: HubSpot's defined association types
//! (`DEFINED_ASSOCIATIONS`) seen from one type, both directions of each pair, named and
//! with cardinalities the way HubSpot's object schemas list them.

use super::{ObjectType, DEFINED_ASSOCIATIONS};

/// One association type of a schema's `associations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationDefinition {
    pub from: ObjectType,
    pub to: ObjectType,
    pub type_id: u32,
    /// `CONTACT_TO_COMPANY`; the unlabelled type of a pair that also has a primary one ends in
    /// `_UNLABELED` (HubSpot's v3 association names: `deal_to_company_unlabeled`).
    pub name: String,
    pub cardinality: &'static str,
    pub inverse_cardinality: &'static str,
}

/// A primary association points at a company (a contact's, deal's or ticket's primary
/// company): one per record that way, many the other way. HubSpot's contact schema has
/// `CONTACT_TO_COMPANY` (1) `ONE_TO_ONE` / `COMPANY_TO_CONTACT` (2) `ONE_TO_MANY`.
fn cardinality(to: ObjectType, primary: bool) -> &'static str {
    if primary && to == ObjectType::COMPANIES {
        "ONE_TO_ONE"
    } else {
        "ONE_TO_MANY"
    }
}

/// Every defined association type `object_type` takes part in, each pair's direction from
/// `object_type` first.
pub fn association_definitions(object_type: ObjectType) -> Vec<AssociationDefinition> {
    let has_primary = |from: ObjectType, to: ObjectType| {
        DEFINED_ASSOCIATIONS
            .iter()
            .any(|d| d.primary && ((d.from, d.to) == (from, to) || (d.from, d.to) == (to, from)))
    };
    let mut definitions: Vec<AssociationDefinition> = Vec::new();
    for defined in DEFINED_ASSOCIATIONS.iter() {
        let names = defined
            .named
            .map(|[forward, backward]| (forward.0, backward.0));
        let directions = [
            (
                defined.from,
                defined.to,
                defined.forward,
                names.map(|n| n.0),
            ),
            (
                defined.to,
                defined.from,
                defined.backward,
                names.map(|n| n.1),
            ),
        ];
        let ordered = if defined.from == object_type {
            directions
        } else if defined.to == object_type {
            [directions[1], directions[0]]
        } else {
            continue;
        };
        for (from, to, type_id, named) in ordered {
            // A pair declared from both sides (deals and line items) is listed once.
            if definitions
                .iter()
                .any(|d| d.from == from && d.type_id == type_id)
            {
                continue;
            }
            let suffix = if !defined.primary && has_primary(from, to) {
                "_UNLABELED"
            } else {
                ""
            };
            definitions.push(AssociationDefinition {
                from,
                to,
                type_id,
                name: named.map_or_else(
                    || format!("{}_TO_{}{suffix}", from.internal_name, to.internal_name),
                    str::to_owned,
                ),
                cardinality: cardinality(to, defined.primary),
                inverse_cardinality: cardinality(from, defined.primary),
            });
        }
    }
    definitions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: ObjectType, type_id: u32) -> AssociationDefinition {
        association_definitions(t)
            .into_iter()
            .find(|d| d.type_id == type_id)
            .unwrap()
    }

    #[test]
    fn contacts_read_like_hubspots_schema() {
        let primary = find(ObjectType::CONTACTS, 1);
        assert_eq!(primary.name, "CONTACT_TO_COMPANY");
        assert_eq!(
            (primary.cardinality, primary.inverse_cardinality),
            ("ONE_TO_ONE", "ONE_TO_MANY")
        );
        let back = find(ObjectType::CONTACTS, 2);
        assert_eq!(back.name, "COMPANY_TO_CONTACT");
        assert_eq!(back.cardinality, "ONE_TO_MANY");
        assert_eq!(
            find(ObjectType::CONTACTS, 279).name,
            "CONTACT_TO_COMPANY_UNLABELED"
        );
        assert_eq!(find(ObjectType::CONTACTS, 193).name, "CONTACT_TO_CALL");
        assert_eq!(
            find(ObjectType::CONTACTS, 199).name,
            "CONTACT_TO_MEETING_EVENT"
        );
        assert_eq!(find(ObjectType::CONTACTS, 4).to, ObjectType::DEALS);
    }

    #[test]
    fn same_type_pairs_list_each_type_once() {
        let companies = association_definitions(ObjectType::COMPANIES);
        let same: Vec<(u32, &str)> = companies
            .iter()
            .filter(|d| (d.from, d.to) == (ObjectType::COMPANIES, ObjectType::COMPANIES))
            .map(|d| (d.type_id, d.name.as_str()))
            .collect();
        assert_eq!(
            same,
            [
                (450, "COMPANY_TO_COMPANY"),
                (13, "PARENT_TO_CHILD_COMPANY"),
                (14, "CHILD_TO_PARENT_COMPANY")
            ]
        );
        let contacts = association_definitions(ObjectType::CONTACTS);
        assert_eq!(contacts.iter().filter(|d| d.type_id == 449).count(), 1);
    }

    #[test]
    fn pairs_declared_twice_are_listed_once() {
        let deals = association_definitions(ObjectType::DEALS);
        assert_eq!(deals.iter().filter(|d| d.type_id == 19).count(), 1);
        assert_eq!(deals.iter().filter(|d| d.type_id == 20).count(), 1);
        let calls = association_definitions(ObjectType::CALLS);
        assert_eq!(calls.len(), 8, "{calls:?}");
        assert_eq!(calls[0].from, ObjectType::CALLS);
    }
}
