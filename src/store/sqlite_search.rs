//! Compiles a [`SearchPlan`] to SQL over the SQLite search index.
//!
//! Two forms of every filter are built:
//! - a **set** form, `SELECT call_id FROM <index> WHERE …`, answered from covering indexes and
//!   combined with `INTERSECT` / `UNION` / `EXCEPT`; it gives the exact total cheaply;
//! - a **probe** form, `EXISTS (… WHERE call_id = <x> …)`, a primary-key lookup per candidate;
//!   it lets a page be read in sort order straight from an index, stopping after `limit`.
//!
//! Which page query runs depends on how many rows a sort-order scan would touch (see
//! [`SearchStrategy`]); both return what `SearchPlan::evaluate` returns.

use rusqlite::types::Value;

use crate::crm::call::PortalId;
use crate::crm::properties::PropertyType;
use crate::crm::search::{
    Condition, Filter, FilterTarget, Operand, SearchPlan, SortKey, QUERY_PROPERTIES,
};

/// Accumulates SQL text and its positional parameters together, so they cannot drift apart.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.params.push(value.into());
        self
    }

    fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.params.extend(other.params.iter().cloned());
        self
    }
}

fn operand_value(operand: &Operand) -> Value {
    match operand {
        Operand::Number(n) => Value::Real(*n),
        Operand::Text(t) => Value::Text(t.clone()),
    }
}

fn column_for(property_type: PropertyType) -> &'static str {
    if property_type.is_numeric() {
        "number"
    } else {
        "text"
    }
}

/// Appends ` AND <column> <op> ?` for the *positive* form of `condition`.
fn push_comparison(sql: &mut Sql, column: &str, condition: &Condition) {
    let mut compare = |op: &str, operand: &Operand| {
        sql.push(&format!(" AND {column} {op} "))
            .bind(operand_value(operand));
    };
    match condition {
        Condition::Eq(o) | Condition::Neq(o) => compare("=", o),
        Condition::Lt(o) => compare("<", o),
        Condition::Lte(o) => compare("<=", o),
        Condition::Gt(o) => compare(">", o),
        Condition::Gte(o) => compare(">=", o),
        Condition::Between(low, high) => {
            compare(">=", low);
            compare("<=", high);
        }
        Condition::In(set) | Condition::NotIn(set) => {
            sql.push(&format!(" AND {column} IN ("));
            for (i, operand) in set.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(operand_value(operand));
            }
            sql.push(")");
        }
        Condition::HasProperty | Condition::NotHasProperty => {}
        // Token conditions are compiled against `call_tokens`, never here.
        Condition::ContainsToken(_) | Condition::NotContainsToken(_) => {
            sql.push(" AND 0");
        }
    }
}

/// `SELECT id AS call_id` of every live call of the portal.
fn live_set(portal: PortalId) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT id AS call_id FROM calls WHERE portal = ")
        .bind(i64::from(portal))
        .push(" AND archived = 0");
    sql
}

/// The ids of calls for which the positive form of `filter` holds (no duplicates). Value
/// and token rows exist only for live calls; association rows are joined to live calls.
fn positive_set(portal: PortalId, filter: &Filter) -> Sql {
    let mut sql = Sql::default();
    match (&filter.target, &filter.condition) {
        (
            FilterTarget::Property { name, .. },
            Condition::ContainsToken(pattern) | Condition::NotContainsToken(pattern),
        ) => {
            for (i, part) in pattern.parts.iter().enumerate() {
                if i > 0 {
                    sql.push(" INTERSECT ");
                }
                // Parts hold only letters, digits and `*`, which GLOB reads as HubSpot's
                // wildcard: no escaping needed.
                sql.push("SELECT DISTINCT call_id FROM call_tokens WHERE portal = ")
                    .bind(i64::from(portal))
                    .push(" AND name = ")
                    .bind(name.clone())
                    .push(" AND token GLOB ")
                    .bind(part.clone());
            }
        }
        (
            FilterTarget::Property {
                name,
                property_type,
            },
            condition,
        ) => {
            sql.push("SELECT call_id FROM call_values WHERE portal = ")
                .bind(i64::from(portal))
                .push(" AND name = ")
                .bind(name.clone());
            push_comparison(&mut sql, column_for(*property_type), condition);
        }
        (FilterTarget::Association(kind), condition) => {
            sql.push(
                "SELECT DISTINCT a.call_id FROM call_associations a JOIN calls c ON c.id = a.call_id AND c.archived = 0 WHERE a.portal = ",
            )
            .bind(i64::from(portal))
            .push(" AND a.kind = ")
            .bind(kind.singular().to_owned());
            push_comparison(&mut sql, "a.to_id", condition);
        }
    }
    sql
}

/// The set of calls matching one filter.
fn filter_set(portal: PortalId, filter: &Filter) -> Sql {
    let positive = positive_set(portal, filter);
    if !filter.condition.matches_missing() {
        return positive;
    }
    let mut sql = Sql::default();
    sql.push("SELECT call_id FROM (")
        .append(&live_set(portal))
        .push(" EXCEPT SELECT call_id FROM (")
        .append(&positive)
        .push("))");
    sql
}

/// Calls having a token of a query property that starts with `token`.
fn query_token_set(portal: PortalId, token: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT DISTINCT call_id FROM call_tokens WHERE portal = ")
        .bind(i64::from(portal))
        .push(" AND name IN (");
    for (i, name) in QUERY_PROPERTIES.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(name.to_string());
    }
    // Query tokens are letters and digits only, so they are safe in a GLOB pattern.
    sql.push(") AND token GLOB ").bind(format!("{token}*"));
    sql
}

/// The whole plan as one set query (`SELECT call_id …`), or `None` when it matches every
/// live call.
pub fn plan_set(portal: PortalId, plan: &SearchPlan) -> Option<Sql> {
    let mut parts: Vec<Sql> = Vec::new();
    if !plan.groups.is_empty() {
        let mut groups = Sql::default();
        for (i, group) in plan.groups.iter().enumerate() {
            if i > 0 {
                groups.push(" UNION ");
            }
            if group.is_empty() {
                groups.append(&live_set(portal));
                continue;
            }
            groups.push("SELECT call_id FROM (");
            for (j, filter) in group.iter().enumerate() {
                if j > 0 {
                    groups.push(" INTERSECT ");
                }
                groups
                    .push("SELECT call_id FROM (")
                    .append(&filter_set(portal, filter))
                    .push(")");
            }
            groups.push(")");
        }
        parts.push(groups);
    }
    parts.extend(
        plan.query_tokens
            .iter()
            .map(|token| query_token_set(portal, token)),
    );
    let mut parts = parts.into_iter();
    let mut set = Sql::default();
    set.push("SELECT call_id FROM (")
        .append(&parts.next()?)
        .push(")");
    for part in parts {
        set.push(" INTERSECT SELECT call_id FROM (")
            .append(&part)
            .push(")");
    }
    Some(set)
}

/// `SELECT count(*)` of the plan's matches.
pub fn count_query(portal: PortalId, plan: &SearchPlan) -> Sql {
    match plan_set(portal, plan) {
        Some(set) => {
            let mut sql = Sql::default();
            sql.push("SELECT count(*) FROM (").append(&set).push(")");
            sql
        }
        None => {
            let mut sql = Sql::default();
            sql.push("SELECT count(*) FROM calls WHERE portal = ")
                .bind(i64::from(portal))
                .push(" AND archived = 0");
            sql
        }
    }
}

// ----- probe form -------------------------------------------------------------------------------

/// `EXISTS (…)` for the positive form of `filter`, for the call whose id is `id_column`.
fn positive_probe(portal: PortalId, filter: &Filter, id_column: &str) -> Sql {
    let mut sql = Sql::default();
    match (&filter.target, &filter.condition) {
        (
            FilterTarget::Property { name, .. },
            Condition::ContainsToken(pattern) | Condition::NotContainsToken(pattern),
        ) => {
            sql.push("(");
            for (i, part) in pattern.parts.iter().enumerate() {
                if i > 0 {
                    sql.push(" AND ");
                }
                sql.push(&format!(
                    "EXISTS (SELECT 1 FROM call_tokens t INDEXED BY call_tokens_by_call WHERE t.call_id = {id_column} AND t.name = "
                ))
                .bind(name.clone())
                .push(" AND t.portal = ")
                .bind(i64::from(portal))
                .push(" AND t.token GLOB ")
                .bind(part.clone())
                .push(")");
            }
            sql.push(")");
        }
        (
            FilterTarget::Property {
                name,
                property_type,
            },
            condition,
        ) => {
            sql.push(&format!(
                "EXISTS (SELECT 1 FROM call_values f WHERE f.call_id = {id_column} AND f.name = "
            ))
            .bind(name.clone());
            push_comparison(
                &mut sql,
                &format!("f.{}", column_for(*property_type)),
                condition,
            );
            sql.push(")");
        }
        (FilterTarget::Association(kind), condition) => {
            sql.push(&format!(
                "EXISTS (SELECT 1 FROM call_associations a WHERE a.call_id = {id_column} AND a.kind = "
            ))
            .bind(kind.singular().to_owned());
            push_comparison(&mut sql, "a.to_id", condition);
            sql.push(")");
        }
    }
    sql
}

/// The whole plan as a boolean expression over the call whose id is `id_column`.
fn plan_probe(portal: PortalId, plan: &SearchPlan, id_column: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push("1");
    if !plan.groups.is_empty() {
        sql.push(" AND (");
        for (i, group) in plan.groups.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(1");
            for filter in group {
                sql.push(if filter.condition.matches_missing() {
                    " AND NOT "
                } else {
                    " AND "
                })
                .append(&positive_probe(portal, filter, id_column));
            }
            sql.push(")");
        }
        sql.push(")");
    }
    for token in &plan.query_tokens {
        sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM call_tokens t INDEXED BY call_tokens_by_call WHERE t.call_id = {id_column} AND t.name IN ("
        ));
        for (i, name) in QUERY_PROPERTIES.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(name.to_string());
        }
        sql.push(") AND t.token GLOB ")
            .bind(format!("{token}*"))
            .push(")");
    }
    sql
}

// ----- page queries -----------------------------------------------------------------------------

const CALL_COLUMNS: &str = "c.id, c.properties, c.created_at, c.updated_at, c.archived_at";

/// How a page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchStrategy {
    /// Walk the sort order on its index, probing each call, until the page is full: cheap
    /// when matches are dense in that order.
    SortOrderScan,
    /// Collect the matching set, then sort it: cheap when the matches are few.
    SortMatches,
}

impl SearchStrategy {
    /// A sort-order scan touches about `(offset + limit) * live / total` rows; past
    /// `scan_budget` rows, sorting the (then small) set of matches is cheaper.
    pub fn choose(plan: &SearchPlan, total: usize, live: usize, scan_budget: usize) -> Self {
        if total == 0 {
            return Self::SortMatches;
        }
        let wanted = (plan.offset + plan.limit) as u128;
        let touched = wanted * live as u128 / total as u128;
        if touched <= scan_budget as u128 {
            Self::SortOrderScan
        } else {
            Self::SortMatches
        }
    }
}

fn direction(descending: bool) -> &'static str {
    if descending {
        "DESC"
    } else {
        "ASC"
    }
}

fn bind_page(sql: &mut Sql, limit: usize, offset: usize) {
    sql.push(" LIMIT ").bind(limit as i64);
    sql.push(" OFFSET ").bind(offset as i64);
}

/// The page by collecting the matches and sorting them (missing sort values last).
pub fn sorted_matches_page(portal: PortalId, plan: &SearchPlan) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {CALL_COLUMNS} FROM calls c"));
    let order = match &plan.sort {
        SortKey::Created => "c.created_at, c.id".to_owned(),
        SortKey::Property {
            name,
            property_type,
            descending,
        } => {
            sql.push(" LEFT JOIN call_values s ON s.call_id = c.id AND s.name = ")
                .bind(name.clone());
            let d = direction(*descending);
            format!(
                "(s.call_id IS NULL), s.{} {d}, c.id {d}",
                column_for(*property_type)
            )
        }
    };
    sql.push(" WHERE c.portal = ")
        .bind(i64::from(portal))
        .push(" AND c.archived = 0");
    if let Some(set) = plan_set(portal, plan) {
        sql.push(" AND c.id IN (").append(&set).push(")");
    }
    sql.push(&format!(" ORDER BY {order}"));
    bind_page(&mut sql, plan.limit, plan.offset);
    sql
}

/// The page by walking the sort order. For a property sort this reads only calls that have
/// the property; [`missing_tail_page`] continues with those that lack it.
pub fn sort_order_scan_page(portal: PortalId, plan: &SearchPlan) -> Sql {
    let mut sql = Sql::default();
    match &plan.sort {
        SortKey::Created => {
            sql.push(&format!(
                "SELECT {CALL_COLUMNS} FROM calls c WHERE c.portal = "
            ))
            .bind(i64::from(portal))
            .push(" AND c.archived = 0 AND ")
            .append(&plan_probe(portal, plan, "c.id"))
            .push(" ORDER BY c.created_at, c.id");
        }
        SortKey::Property {
            name,
            property_type,
            descending,
        } => {
            let column = column_for(*property_type);
            let index = if property_type.is_numeric() {
                "call_values_number"
            } else {
                "call_values_text"
            };
            let d = direction(*descending);
            sql.push(&format!(
                "SELECT {CALL_COLUMNS} FROM call_values s INDEXED BY {index} JOIN calls c ON c.id = s.call_id WHERE s.portal = "
            ))
            .bind(i64::from(portal))
            .push(" AND s.name = ")
            .bind(name.clone())
            .push(" AND ")
            .append(&plan_probe(portal, plan, "s.call_id"))
            .push(&format!(" ORDER BY s.{column} {d}, s.call_id {d}"));
        }
    }
    bind_page(&mut sql, plan.limit, plan.offset);
    sql
}

/// Matching calls without a value for the sort property, in id order of the sort direction.
pub fn missing_tail_page(
    portal: PortalId,
    plan: &SearchPlan,
    name: &str,
    descending: bool,
    limit: usize,
    offset: usize,
) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {CALL_COLUMNS} FROM calls c WHERE c.portal = "))
        .bind(i64::from(portal))
        .push(" AND c.archived = 0 AND NOT EXISTS (SELECT 1 FROM call_values v WHERE v.call_id = c.id AND v.name = ")
        .bind(name.to_owned())
        .push(") AND ")
        .append(&plan_probe(portal, plan, "c.id"))
        .push(&format!(" ORDER BY c.id {}", direction(descending)));
    bind_page(&mut sql, limit, offset);
    sql
}

/// How many matches have a value for the sort property (where the missing tail starts).
pub fn valued_count(portal: PortalId, plan: &SearchPlan, name: &str) -> Sql {
    let mut valued = Sql::default();
    valued
        .push("SELECT call_id FROM call_values WHERE portal = ")
        .bind(i64::from(portal))
        .push(" AND name = ")
        .bind(name.to_owned());
    let mut sql = Sql::default();
    sql.push("SELECT count(*) FROM (");
    match plan_set(portal, plan) {
        Some(set) => {
            sql.append(&set)
                .push(" INTERSECT SELECT call_id FROM (")
                .append(&valued)
                .push(")");
        }
        None => {
            sql.append(&valued);
        }
    }
    sql.push(")");
    sql
}

/// Whether a sort key reads from the value index (and so may leave a missing tail).
pub fn sort_property(plan: &SearchPlan) -> Option<(&str, bool)> {
    match &plan.sort {
        SortKey::Created => None,
        SortKey::Property {
            name, descending, ..
        } => Some((name.as_str(), *descending)),
    }
}
