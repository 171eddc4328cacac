//! Compiles a [`SearchPlan`] to SQL over the SQLite search index.
//!
//! Each filter becomes a membership test of the call id in an indexed subquery on
//! `call_values` (typed values), `call_tokens` (word tokens) or `call_associations`; negated
//! operators become `NOT IN` of the positive set, which is how they also match calls without
//! the property. The semantics must stay exactly those of `SearchPlan::evaluate`.

use rusqlite::types::Value;

use crate::crm::associations::AssociatedKind;
use crate::crm::call::PortalId;
use crate::crm::properties::PropertyType;
use crate::crm::search::{
    Condition, Filter, FilterTarget, Operand, SearchPlan, SortKey, TokenPattern, QUERY_PROPERTIES,
};

pub struct CompiledSearch {
    pub count_sql: String,
    pub page_sql: String,
    /// Parameters of the shared `WHERE` clause (the count query takes just these).
    pub params: Vec<Value>,
    /// Parameters of the page query: sort join, `WHERE`, then limit and offset.
    pub page_params: Vec<Value>,
}

/// Accumulates SQL text and its positional parameters together, so they cannot drift apart.
struct SqlBuilder {
    sql: String,
    params: Vec<Value>,
}

impl SqlBuilder {
    fn new() -> Self {
        Self {
            sql: String::new(),
            params: Vec::new(),
        }
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    fn bind(&mut self, value: impl Into<Value>) {
        self.sql.push('?');
        self.params.push(value.into());
    }
}

fn operand_value(operand: &Operand) -> Value {
    match operand {
        Operand::Number(n) => Value::Real(*n),
        Operand::Text(t) => Value::Text(t.clone()),
    }
}

pub fn compile_search(portal: PortalId, plan: &SearchPlan) -> CompiledSearch {
    let mut filter = SqlBuilder::new();
    filter.push("c.portal = ");
    filter.bind(i64::from(portal));
    filter.push(" AND c.archived = 0");
    if !plan.groups.is_empty() {
        filter.push(" AND (");
        for (i, group) in plan.groups.iter().enumerate() {
            if i > 0 {
                filter.push(" OR ");
            }
            filter.push("(");
            for (j, f) in group.iter().enumerate() {
                if j > 0 {
                    filter.push(" AND ");
                }
                push_filter(&mut filter, portal, f);
            }
            if group.is_empty() {
                filter.push("1");
            }
            filter.push(")");
        }
        filter.push(")");
    }
    for token in &plan.query_tokens {
        filter.push(" AND c.id IN (SELECT call_id FROM call_tokens WHERE portal = ");
        filter.bind(i64::from(portal));
        filter.push(" AND name IN (");
        for (i, name) in QUERY_PROPERTIES.iter().enumerate() {
            if i > 0 {
                filter.push(", ");
            }
            filter.bind(name.to_string());
        }
        // Query tokens are letters and digits only, so they are safe in a GLOB pattern.
        filter.push(") AND token GLOB ");
        filter.bind(format!("{token}*"));
        filter.push(")");
    }

    let count_sql = format!("SELECT count(*) FROM calls c WHERE {}", filter.sql);

    let mut page = SqlBuilder::new();
    page.push("SELECT c.id, c.properties, c.created_at, c.updated_at, c.archived_at FROM calls c");
    let order = match &plan.sort {
        SortKey::Created => "c.created_at, c.id".to_owned(),
        SortKey::Property {
            name,
            property_type,
            descending,
        } => {
            page.push(" LEFT JOIN call_values s ON s.call_id = c.id AND s.name = ");
            page.bind(name.clone());
            let column = if property_type.is_numeric() {
                "s.number"
            } else {
                "s.text"
            };
            let direction = if *descending { "DESC" } else { "ASC" };
            format!("(s.call_id IS NULL), {column} {direction}, c.id")
        }
    };
    page.push(" WHERE ");
    page.push(&filter.sql);
    page.params.extend(filter.params.iter().cloned());
    page.push(&format!(" ORDER BY {order} LIMIT "));
    page.bind(plan.limit as i64);
    page.push(" OFFSET ");
    page.bind(plan.offset as i64);

    CompiledSearch {
        count_sql,
        page_sql: page.sql,
        params: filter.params,
        page_params: page.params,
    }
}

fn push_filter(sql: &mut SqlBuilder, portal: PortalId, filter: &Filter) {
    let negated = filter.condition.matches_missing();
    sql.push(if negated {
        "c.id NOT IN ("
    } else {
        "c.id IN ("
    });
    match &filter.target {
        FilterTarget::Property {
            name,
            property_type,
        } => push_property_set(sql, portal, name, *property_type, &filter.condition),
        FilterTarget::Association(kind) => {
            push_association_set(sql, portal, *kind, &filter.condition)
        }
    }
    sql.push(")");
}

/// The set of call ids whose value satisfies the *positive* form of `condition`.
fn push_property_set(
    sql: &mut SqlBuilder,
    portal: PortalId,
    name: &str,
    property_type: PropertyType,
    condition: &Condition,
) {
    if let Condition::ContainsToken(pattern) | Condition::NotContainsToken(pattern) = condition {
        push_token_set(sql, portal, name, pattern);
        return;
    }
    sql.push("SELECT call_id FROM call_values WHERE portal = ");
    sql.bind(i64::from(portal));
    sql.push(" AND name = ");
    sql.bind(name.to_owned());
    // The shape of the value selects the (partial) index: numbers or text.
    let column = if property_type.is_numeric() {
        sql.push(" AND number IS NOT NULL");
        "number"
    } else {
        sql.push(" AND number IS NULL");
        "text"
    };
    push_comparison(sql, column, condition);
}

fn push_association_set(
    sql: &mut SqlBuilder,
    portal: PortalId,
    kind: AssociatedKind,
    condition: &Condition,
) {
    sql.push("SELECT call_id FROM call_associations WHERE portal = ");
    sql.bind(i64::from(portal));
    sql.push(" AND kind = ");
    sql.bind(kind.singular().to_owned());
    push_comparison(sql, "to_id", condition);
}

/// Appends ` AND <column> <op> ?` for the positive form of `condition`.
fn push_comparison(sql: &mut SqlBuilder, column: &str, condition: &Condition) {
    let mut compare = |op: &str, operand: &Operand| {
        sql.push(&format!(" AND {column} {op} "));
        sql.bind(operand_value(operand));
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
        // Token conditions never reach here: they are compiled against `call_tokens`.
        Condition::ContainsToken(_) | Condition::NotContainsToken(_) => sql.push(" AND 0"),
    }
}

/// Calls having, for every part of the pattern, a token that matches it.
fn push_token_set(sql: &mut SqlBuilder, portal: PortalId, name: &str, pattern: &TokenPattern) {
    sql.push("SELECT call_id FROM call_values WHERE portal = ");
    sql.bind(i64::from(portal));
    sql.push(" AND name = ");
    sql.bind(name.to_owned());
    for part in &pattern.parts {
        // Pattern parts hold only letters, digits and `*`, which GLOB reads as HubSpot's
        // wildcard: no escaping needed.
        sql.push(" AND call_id IN (SELECT call_id FROM call_tokens WHERE portal = ");
        sql.bind(i64::from(portal));
        sql.push(" AND name = ");
        sql.bind(name.to_owned());
        sql.push(" AND token GLOB ");
        sql.bind(part.clone());
        sql.push(")");
    }
}
