//! Compiles a [`SearchPlan`] to PostgreSQL over the value and token index tables.
//!
//! Every filter becomes a set query (`SELECT call_id FROM … WHERE …`) answered from the
//! indexes on `call_values` (its words included) and `call_associations`; groups combine with
//! `INTERSECT` and `UNION`, negations with `EXCEPT` from the portal's live calls (a call
//! that lacks the property matches a negation, as the evaluator says). The same set gives
//! the exact total and, joined to the sort key, the page. PostgreSQL's planner picks the
//! join and sort strategy, so no per-server state is involved.

use postgres::types::{ToSql, Type};

use crate::crm::objects::Partition;
use crate::crm::properties::PropertyType;
use crate::crm::record::Projection;
use crate::crm::search::{Condition, Filter, FilterTarget, Operand, SearchPlan, SortKey};

use super::records::{projected_names, projected_record_columns};
use super::words::{lexeme, part_match, tsquery_term, PartMatch};

/// A parameter of a compiled query.
#[derive(Debug, Clone)]
pub enum Param {
    Int(i64),
    Real(f64),
    Text(String),
    Texts(Vec<String>),
}

impl Param {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Int(v) => v,
            Param::Real(v) => v,
            Param::Text(v) => v,
            Param::Texts(v) => v,
        }
    }

    fn sql_type(&self) -> Type {
        match self {
            Param::Int(_) => Type::INT8,
            Param::Real(_) => Type::FLOAT8,
            Param::Text(_) => Type::TEXT,
            Param::Texts(_) => Type::TEXT_ARRAY,
        }
    }
}

/// SQL text and its positional parameters (`$1`, `$2`, …), built together so they cannot
/// drift apart. Sub-queries get numbered aliases, which PostgreSQL requires.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    params: Vec<Param>,
    aliases: usize,
}

impl Sql {
    fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    fn bind(&mut self, value: Param) -> &mut Self {
        let placeholder = self.placeholder(value);
        self.text.push_str(&placeholder);
        self
    }

    /// Adds a parameter and returns its placeholder, for text that names it later.
    fn placeholder(&mut self, value: Param) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    fn text_param(&mut self, value: &str) -> &mut Self {
        self.bind(Param::Text(value.to_owned()))
    }

    fn partition(&mut self, partition: Partition) -> &mut Self {
        self.bind(Param::Int(partition.key()))
    }

    /// Closes a sub-query in `FROM (…)` with a fresh alias.
    fn close_subquery(&mut self) -> &mut Self {
        self.aliases += 1;
        let alias = format!(") AS q{}", self.aliases);
        self.text.push_str(&alias);
        self
    }

    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(Param::as_sql).collect()
    }

    /// The parameters with their types, for a statement run without preparing it first
    /// (one round trip: PostgreSQL need not describe the parameters back).
    pub fn typed_params(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.params
            .iter()
            .map(|param| (param.as_sql(), param.sql_type()))
            .collect()
    }
}

/// A column a filter compares, with how its values compare.
#[derive(Clone, Copy)]
enum Column {
    /// `call_values.number`: doubles.
    Number,
    /// `call_values.text`: text in the "C" collation.
    Text,
    /// `call_associations.to_id`: integer ids.
    AssociationId,
}

impl Column {
    fn for_property(property_type: PropertyType) -> Self {
        if property_type.is_numeric() {
            Self::Number
        } else {
            Self::Text
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Text => "text",
            Self::AssociationId => "a.to_id",
        }
    }
}

/// Appends `<column> <op> $n`. Numeric columns meet numeric operands and text columns
/// text ones (the plan types operands by the property); anything else never matches, as
/// in the evaluator. Association ids are integers: whole numbers compare on the indexed
/// column, fractions on its value as a double.
fn push_compare(sql: &mut Sql, column: Column, op: &str, operand: &Operand) {
    let name = column.name();
    match (operand, column) {
        (Operand::Number(n), Column::AssociationId) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            sql.push(&format!("{name} {op} "))
                .bind(Param::Int(*n as i64));
        }
        (Operand::Number(n), Column::AssociationId) => {
            sql.push(&format!("{name}::DOUBLE PRECISION {op} "))
                .bind(Param::Real(*n));
        }
        (Operand::Number(n), Column::Number) => {
            sql.push(&format!("{name} {op} ")).bind(Param::Real(*n));
        }
        (Operand::Text(t), Column::Text) => {
            sql.push(&format!("{name} {op} ")).text_param(t);
        }
        _ => {
            sql.push("FALSE");
        }
    }
}

/// Appends ` AND …` for the *positive* form of `condition` on `column`.
fn push_comparison(sql: &mut Sql, column: Column, condition: &Condition) {
    let compare = |sql: &mut Sql, op: &str, operand: &Operand| {
        sql.push(" AND ");
        push_compare(sql, column, op, operand);
    };
    match condition {
        Condition::Eq(o) | Condition::Neq(o) => compare(sql, "=", o),
        Condition::Lt(o) => compare(sql, "<", o),
        Condition::Lte(o) => compare(sql, "<=", o),
        Condition::Gt(o) => compare(sql, ">", o),
        Condition::Gte(o) => compare(sql, ">=", o),
        Condition::Between(low, high) => {
            compare(sql, ">=", low);
            compare(sql, "<=", high);
        }
        Condition::In(set) | Condition::NotIn(set) => {
            sql.push(" AND (FALSE");
            for operand in set {
                sql.push(" OR ");
                push_compare(sql, column, "=", operand);
            }
            sql.push(")");
        }
        Condition::HasProperty | Condition::NotHasProperty => {}
        // Token conditions are compiled against `call_values.words`, never here.
        Condition::ContainsToken(_) | Condition::NotContainsToken(_) => {
            sql.push(" AND FALSE");
        }
    }
}

/// `SELECT id AS call_id` of every live call of the portal.
fn live_set(sql: &mut Sql, partition: Partition) {
    sql.push("SELECT id AS call_id FROM calls WHERE portal = ")
        .partition(partition)
        .push(" AND NOT archived");
}

/// The ids of calls for which the positive form of `filter` holds (no duplicates).
fn positive_set(sql: &mut Sql, partition: Partition, filter: &Filter) {
    match (&filter.target, &filter.condition) {
        (
            FilterTarget::Property { name, .. },
            Condition::ContainsToken(pattern) | Condition::NotContainsToken(pattern),
        ) => {
            // One row per value: every part must match one of that value's words.
            sql.push("SELECT call_id FROM call_values WHERE portal = ")
                .partition(partition);
            let parts: Vec<PartMatch> = pattern
                .parts
                .iter()
                .map(|part| part_match(name, part))
                .collect();
            let terms: Vec<&str> = parts.iter().filter_map(|p| p.term.as_deref()).collect();
            if terms.is_empty() {
                // Nothing for the GIN index: the property's rows, each rechecked below.
                sql.push(" AND name = ")
                    .text_param(name)
                    .push(" AND words IS NOT NULL");
            } else {
                // The lexemes name the property. Naming it again would let PostgreSQL
                // intersect the GIN matches with every row of the property (a 1M-entry
                // btree range, 400 ms at 1M calls) before it reads a single match.
                sql.push(" AND words @@ ")
                    .bind(Param::Text(terms.join(" & ")))
                    .push("::TEXT::tsquery");
            }
            for recheck in parts.iter().filter_map(|p| p.recheck.as_deref()) {
                sql.push(" AND EXISTS (SELECT 1 FROM unnest(words) w WHERE w.lexeme LIKE ")
                    .text_param(recheck)
                    .push(")");
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
                .partition(partition)
                .push(" AND name = ")
                .text_param(name);
            push_comparison(sql, Column::for_property(*property_type), condition);
        }
        (FilterTarget::Association(kind), condition) => {
            sql.push("SELECT DISTINCT a.call_id FROM call_associations a JOIN calls c ON c.id = a.call_id AND NOT c.archived WHERE a.portal = ")
                .partition(partition)
                .push(" AND a.kind = ")
                .text_param(kind.singular);
            push_comparison(sql, Column::AssociationId, condition);
        }
    }
}

/// The set of calls matching one filter.
fn filter_set(sql: &mut Sql, partition: Partition, filter: &Filter) {
    if !filter.condition.matches_missing() {
        positive_set(sql, partition, filter);
        return;
    }
    sql.push("SELECT call_id FROM (");
    live_set(sql, partition);
    sql.push(" EXCEPT SELECT call_id FROM (");
    positive_set(sql, partition, filter);
    sql.close_subquery().close_subquery();
}

/// Calls having a token of a query property that starts with `token`: one index probe,
/// each property's lexemes being a prefix range of their own.
fn query_token_set(sql: &mut Sql, partition: Partition, properties: &[&str], token: &str) {
    let terms: Vec<String> = properties
        .iter()
        .map(|name| tsquery_term(&lexeme(name, token), true))
        .collect();
    sql.push("SELECT DISTINCT call_id FROM call_values WHERE portal = ")
        .partition(partition);
    if terms.is_empty() {
        // No property to search: nothing matches (an empty `tsquery` would be an error).
        sql.push(" AND FALSE");
        return;
    }
    sql.push(" AND words @@ ")
        .bind(Param::Text(terms.join(" | ")))
        .push("::TEXT::tsquery");
}

/// Whether the plan has no filter and no query.
fn matches_every_live_call(plan: &SearchPlan) -> bool {
    plan.groups.is_empty() && plan.query_tokens.is_empty()
}

/// Appends the plan as one set query (`SELECT call_id …`); returns false (appending
/// nothing) when the plan matches every live call.
fn plan_set(sql: &mut Sql, partition: Partition, plan: &SearchPlan) -> bool {
    if matches_every_live_call(plan) {
        return false;
    }
    let mut first = true;
    let mut part = |sql: &mut Sql| {
        sql.push(if first {
            "SELECT call_id FROM ("
        } else {
            " INTERSECT SELECT call_id FROM ("
        });
        first = false;
    };
    if !plan.groups.is_empty() {
        part(sql);
        for (i, group) in plan.groups.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ");
            }
            if group.is_empty() {
                live_set(sql, partition);
                continue;
            }
            sql.push("SELECT call_id FROM (");
            for (j, filter) in group.iter().enumerate() {
                if j > 0 {
                    sql.push(" INTERSECT ");
                }
                sql.push("SELECT call_id FROM (");
                filter_set(sql, partition, filter);
                sql.close_subquery();
            }
            sql.close_subquery();
        }
        sql.close_subquery();
    }
    for token in &plan.query_tokens {
        part(sql);
        query_token_set(sql, partition, plan.query_properties, token);
        sql.close_subquery();
    }
    true
}

/// `SELECT count(*)` of the plan's matches.
pub fn count_query(partition: Partition, plan: &SearchPlan) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT count(*) FROM (");
    if !plan_set(&mut sql, partition, plan) {
        live_set(&mut sql, partition);
    }
    sql.close_subquery();
    sql
}

fn direction(descending: bool) -> &'static str {
    if descending {
        "DESC"
    } else {
        "ASC"
    }
}

/// Appends ` AND <id column> IN (<the plan's matches>)`, unless the plan matches every
/// live record.
fn restrict_to_matches(sql: &mut Sql, id_column: &str, partition: Partition, plan: &SearchPlan) {
    if !matches_every_live_call(plan) {
        sql.push(&format!(" AND {id_column} IN ("));
        plan_set(sql, partition, plan);
        sql.push(")");
    }
}

/// Appends the record columns of a page (`SELECT …`), the projection's names bound.
fn push_record_columns(sql: &mut Sql, projection: &Projection<'_>) {
    let columns = match projected_names(projection) {
        Some(names) => {
            let names = sql.placeholder(Param::Texts(names));
            projected_record_columns(projection, &names)
        }
        None => projected_record_columns(projection, ""),
    };
    sql.push("SELECT ").push(&columns);
}

/// Appends the page query; with `sort_columns`, it also selects its sort keys as `sort_1`
/// and `sort_2` for a query around it to order by. Returns the direction of the order.
fn push_page(
    sql: &mut Sql,
    partition: Partition,
    plan: &SearchPlan,
    projection: &Projection<'_>,
    sort_columns: bool,
) -> &'static str {
    push_record_columns(sql, projection);
    let (keys, d) = match &plan.sort {
        SortKey::Created => {
            let keys = ["c.created_at".to_owned(), "c.id".to_owned()];
            push_sort_columns(sql, sort_columns, &keys);
            sql.push(" FROM calls c WHERE c.portal = ")
                .partition(partition)
                .push(" AND NOT c.archived");
            restrict_to_matches(sql, "c.id", partition, plan);
            (keys, direction(false))
        }
        SortKey::Property {
            name,
            property_type,
            descending,
        } => {
            let value = Column::for_property(*property_type).name();
            let keys = [format!("s.{value}"), "s.call_id".to_owned()];
            push_sort_columns(sql, sort_columns, &keys);
            // Index rows exist for live records only.
            sql.push(" FROM call_values s JOIN calls c ON c.id = s.call_id WHERE s.portal = ")
                .partition(partition)
                .push(" AND s.name = ")
                .text_param(name);
            restrict_to_matches(sql, "s.call_id", partition, plan);
            (keys, direction(*descending))
        }
    };
    sql.push(&format!(
        " ORDER BY {} {d}, {} {d} LIMIT ",
        keys[0], keys[1]
    ))
    .bind(Param::Int(plan.limit.min(i64::MAX as usize) as i64))
    .push(" OFFSET ")
    .bind(Param::Int(plan.offset.min(i64::MAX as usize) as i64));
    d
}

fn push_sort_columns(sql: &mut Sql, wanted: bool, keys: &[String; 2]) {
    if wanted {
        sql.push(&format!(", {} AS sort_1, {} AS sort_2", keys[0], keys[1]));
    }
}

/// The page, or its first part when it is sorted by a property: `Created` pages are the
/// matches in creation order; property-sorted pages read the matches that hold the sort
/// value, walking the sort property's index in the sort's direction (ties by id in that
/// direction), so a broad filter stops after the page instead of sorting every match.
/// Matches without the value come after them all: see [`unvalued_page_query`].
pub fn page_query(partition: Partition, plan: &SearchPlan, projection: &Projection<'_>) -> Sql {
    let mut sql = Sql::default();
    push_page(&mut sql, partition, plan, projection, false);
    sql
}

/// The total and the page in one statement, so that they agree without a transaction
/// around two: the columns of [`page_query`], its two sort keys and the total last. When
/// the page is empty, one row holds the total and NULL elsewhere.
pub fn page_with_total_query(
    partition: Partition,
    plan: &SearchPlan,
    projection: &Projection<'_>,
) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT p.*, t.total FROM (SELECT count(*) AS total FROM (");
    if !plan_set(&mut sql, partition, plan) {
        live_set(&mut sql, partition);
    }
    sql.close_subquery().push(") AS t LEFT JOIN (");
    let d = push_page(&mut sql, partition, plan, projection, true);
    sql.push(&format!(
        ") AS p ON TRUE ORDER BY p.sort_1 {d}, p.sort_2 {d}"
    ));
    sql
}

/// How many matches hold the sort property's value (where the unvalued ones start).
pub fn valued_count_query(partition: Partition, plan: &SearchPlan, name: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT count(*) FROM call_values s WHERE s.portal = ")
        .partition(partition)
        .push(" AND s.name = ")
        .text_param(name);
    restrict_to_matches(&mut sql, "s.call_id", partition, plan);
    sql
}

/// The matches without the sort property's value, by id in the sort's direction: the
/// end of a property-sorted result.
pub fn unvalued_page_query(
    partition: Partition,
    plan: &SearchPlan,
    projection: &Projection<'_>,
    name: &str,
    descending: bool,
    limit: usize,
    offset: usize,
) -> Sql {
    let mut sql = Sql::default();
    push_record_columns(&mut sql, projection);
    sql.push(" FROM calls c WHERE c.portal = ")
        .partition(partition)
        .push(" AND NOT c.archived AND NOT EXISTS (SELECT 1 FROM call_values s WHERE s.call_id = c.id AND s.name = ")
        .text_param(name)
        .push(")");
    restrict_to_matches(&mut sql, "c.id", partition, plan);
    sql.push(&format!(" ORDER BY c.id {} LIMIT ", direction(descending)))
        .bind(Param::Int(limit as i64))
        .push(" OFFSET ")
        .bind(Param::Int(offset as i64));
    sql
}
