//! Search: HubSpot's filter language as a typed plan, and a pure evaluator of it.
//!
//! A [`SearchPlan`] is an `Or` of `And`s of typed filters plus an optional full-text query,
//! one sort and a page. [`SearchPlan::evaluate`] is the reference semantics: every store's
//! search must return exactly what it returns on the same calls (property-based tests compare
//! them). The typing rules live in [`IndexedValue`]: stores index what it computes.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::associations::Association;
use super::error::CrmError;
use super::objects::ObjectType;
use super::properties::{is_decimal_number, PropertyCatalogue, PropertyType};
use super::record::{Record, RecordId};
use super::time::{parse_date, parse_datetime};

/// Limits HubSpot applies to a search request (current guide: 5 groups, 6 filters per
/// group, 18 filters in all). Configurable because HubSpot's own numbers have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLimits {
    pub max_groups: usize,
    pub max_filters_per_group: usize,
    pub max_filters: usize,
    pub max_page_size: usize,
    /// No result past this position can be paged to.
    pub max_results: usize,
    pub max_query_chars: usize,
    /// Search-index lag to rehearse (0: none): search sees the calls as they were this many
    /// milliseconds ago (see `search_lag`).
    pub index_lag_ms: u64,
}

impl Default for SearchLimits {
    fn default() -> Self {
        Self {
            max_groups: 5,
            max_filters_per_group: 6,
            max_filters: 18,
            max_page_size: 200,
            max_results: 10_000,
            max_query_chars: 3_000,
            index_lag_ms: 0,
        }
    }
}

/// The properties full-text `query` looks in, for calls (each type declares its own).
pub const QUERY_PROPERTIES: [&str; 2] = ["hs_call_title", "hs_body_preview"];

/// A search request as the API decoded it, before any rule is applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchRequest {
    pub filter_groups: Vec<Vec<FilterSpec>>,
    pub query: Option<String>,
    pub sort: Option<SortSpec>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterSpec {
    pub property_name: String,
    pub operator: String,
    pub value: Option<String>,
    pub high_value: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    pub property_name: String,
    pub descending: bool,
}

/// What a filter looks at: a property (with its type) or an association pseudo-property.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterTarget {
    Property {
        name: String,
        property_type: PropertyType,
    },
    /// `associations.contact` and friends: the ids of associated records, compared as
    /// numbers.
    Association(ObjectType),
}

/// A filter operand, already in the form the index compares (folded text or a number).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Number(f64),
    Text(String),
}

/// A `CONTAINS_TOKEN` pattern: every part must match some token of the value; a part may
/// hold `*` wildcards.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenPattern {
    pub parts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Eq(Operand),
    Neq(Operand),
    Lt(Operand),
    Lte(Operand),
    Gt(Operand),
    Gte(Operand),
    Between(Operand, Operand),
    In(Vec<Operand>),
    NotIn(Vec<Operand>),
    HasProperty,
    NotHasProperty,
    ContainsToken(TokenPattern),
    NotContainsToken(TokenPattern),
}

impl Condition {
    /// Negated conditions also match calls that have no value at all (as HubSpot's
    /// `must_not` queries do).
    pub fn matches_missing(&self) -> bool {
        matches!(
            self,
            Self::Neq(_) | Self::NotIn(_) | Self::NotHasProperty | Self::NotContainsToken(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub target: FilterTarget,
    pub condition: Condition,
}

/// How results are ordered. Calls without a value for the sort property come last in either
/// direction; ties are broken by id, in the sort's direction, so paging is stable (and an
/// index can serve the whole order).
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// No sort given: oldest created first.
    Created,
    Property {
        name: String,
        property_type: PropertyType,
        descending: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchPlan {
    /// Ored groups of anded filters. No group at all matches every call.
    pub groups: Vec<Vec<Filter>>,
    /// Full-text query tokens: each must be a prefix of some token of a query property.
    pub query_tokens: Vec<String>,
    /// The properties `query_tokens` look in: the searched type's (calls' by default).
    pub query_properties: &'static [&'static str],
    pub sort: SortKey,
    pub offset: usize,
    pub limit: usize,
}

/// One page of search results and the exact number of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHits {
    pub total: usize,
    pub calls: Vec<Record>,
}

/// A property value in the form search compares it, derived from its stored text and type.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedValue {
    /// Text compared by `EQ`, `IN`, ...: lower-cased for case-insensitive types.
    pub text: String,
    /// The value as a number, for numbers, dates and datetimes.
    pub number: Option<f64>,
    /// Lower-cased word tokens, for `CONTAINS_TOKEN` and `query`.
    pub tokens: Vec<String>,
}

impl IndexedValue {
    pub fn new(property_type: PropertyType, stored: &str) -> Self {
        let number = match property_type {
            PropertyType::Number => stored.parse::<f64>().ok(),
            PropertyType::Datetime => parse_datetime(stored).map(|ms| ms as f64),
            PropertyType::Date => parse_date(stored).map(|ms| ms as f64),
            _ => None,
        };
        let text = if property_type.is_case_sensitive() {
            stored.to_owned()
        } else if stored.is_ascii() {
            // The same text as `to_lowercase` gives ASCII, without its Unicode tables.
            stored.to_ascii_lowercase()
        } else {
            stored.to_lowercase()
        };
        let tokens = if supports_tokens(property_type) {
            tokenize(stored)
        } else {
            Vec::new()
        };
        Self {
            text,
            number,
            tokens,
        }
    }
}

/// Token operators apply to text-like properties; numbers, instants and booleans have no
/// words in them (HubSpot rejects them there too).
pub fn supports_tokens(property_type: PropertyType) -> bool {
    !(property_type.is_numeric() || property_type == PropertyType::Bool)
}

/// Splits text into lower-cased tokens at every character that is not a letter or digit.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = if text.is_ascii() {
        // Every value of a write is tokenized for the index: on ASCII text, letters, digits
        // and lower case are their ASCII forms, the same tokens without Unicode tables.
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_ascii_lowercase)
            .collect()
    } else {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    // Equal tokens are indistinguishable, so an unstable sort gives the same list.
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}

impl TokenPattern {
    fn parse(value: &str) -> Option<Self> {
        let parts: Vec<String> = value
            .split(|c: char| !(c.is_alphanumeric() || c == '*'))
            .filter(|p| !p.is_empty())
            .map(str::to_lowercase)
            .collect();
        (!parts.is_empty()).then_some(Self { parts })
    }

    pub fn matches(&self, tokens: &[String]) -> bool {
        self.parts
            .iter()
            .all(|part| tokens.iter().any(|token| wildcard_match(part, token)))
    }
}

/// Matches `token` against `pattern`, where `*` stands for any run of characters.
pub fn wildcard_match(pattern: &str, token: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let token: Vec<char> = token.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < token.len() {
        if p < pattern.len() && pattern[p] != '*' && pattern[p] == token[t] {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Compares two operands of the same kind; numbers by value, text by code points.
fn compare(left: &Operand, right: &Operand) -> Option<Ordering> {
    match (left, right) {
        (Operand::Number(a), Operand::Number(b)) => a.partial_cmp(b),
        (Operand::Text(a), Operand::Text(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

impl Condition {
    /// Whether one value satisfies the condition (the call has the property).
    fn holds_for(&self, value: &Operand, tokens: &[String]) -> bool {
        let cmp = |operand: &Operand| compare(value, operand);
        match self {
            Self::Eq(o) => cmp(o) == Some(Ordering::Equal),
            Self::Neq(o) => cmp(o) != Some(Ordering::Equal),
            Self::Lt(o) => cmp(o) == Some(Ordering::Less),
            Self::Lte(o) => matches!(cmp(o), Some(Ordering::Less | Ordering::Equal)),
            Self::Gt(o) => cmp(o) == Some(Ordering::Greater),
            Self::Gte(o) => matches!(cmp(o), Some(Ordering::Greater | Ordering::Equal)),
            Self::Between(low, high) => {
                matches!(cmp(low), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(cmp(high), Some(Ordering::Less | Ordering::Equal))
            }
            Self::In(set) => set.iter().any(|o| cmp(o) == Some(Ordering::Equal)),
            Self::NotIn(set) => !set.iter().any(|o| cmp(o) == Some(Ordering::Equal)),
            Self::HasProperty => true,
            Self::NotHasProperty => false,
            Self::ContainsToken(pattern) => pattern.matches(tokens),
            Self::NotContainsToken(pattern) => !pattern.matches(tokens),
        }
    }
}

/// The operand a stored value compares as, for a property of `property_type`.
/// [`value_operand`] of a value needed no more, with its tokens: its text moves rather than
/// being copied (the index takes both for every value written).
pub fn into_operand(property_type: PropertyType, value: IndexedValue) -> (Operand, Vec<String>) {
    let operand = match (property_type.is_numeric(), value.number) {
        (true, Some(n)) => Operand::Number(n),
        _ => Operand::Text(value.text),
    };
    (operand, value.tokens)
}

pub fn value_operand(property_type: PropertyType, value: &IndexedValue) -> Operand {
    match (property_type.is_numeric(), value.number) {
        (true, Some(n)) => Operand::Number(n),
        _ => Operand::Text(value.text.clone()),
    }
}

impl Filter {
    fn matches(&self, call: &Record, associations: &[&Association]) -> bool {
        match &self.target {
            FilterTarget::Property {
                name,
                property_type,
            } => match call.property(name) {
                None => self.condition.matches_missing(),
                Some(stored) => {
                    let indexed = IndexedValue::new(*property_type, stored);
                    let operand = value_operand(*property_type, &indexed);
                    self.condition.holds_for(&operand, &indexed.tokens)
                }
            },
            FilterTarget::Association(kind) => {
                let ids: Vec<Operand> = associations
                    .iter()
                    .filter(|a| a.to_type == *kind)
                    .map(|a| Operand::Number(a.to_id as f64))
                    .collect();
                match self.condition {
                    // A call matches a positive condition when one associated id does, and a
                    // negated one when no associated id breaks it.
                    _ if ids.is_empty() => self.condition.matches_missing(),
                    Condition::Neq(_) | Condition::NotIn(_) => {
                        ids.iter().all(|id| self.condition.holds_for(id, &[]))
                    }
                    _ => ids.iter().any(|id| self.condition.holds_for(id, &[])),
                }
            }
        }
    }
}

impl SearchPlan {
    /// Whether one live call matches the filters and the query.
    pub fn matches(&self, call: &Record, associations: &[&Association]) -> bool {
        let filters_ok = self.groups.is_empty()
            || self
                .groups
                .iter()
                .any(|group| group.iter().all(|f| f.matches(call, associations)));
        filters_ok && self.query_matches(call)
    }

    fn query_matches(&self, call: &Record) -> bool {
        if self.query_tokens.is_empty() {
            return true;
        }
        let tokens: Vec<String> = self
            .query_properties
            .iter()
            .filter_map(|name| call.property(name))
            .flat_map(tokenize)
            .collect();
        self.query_tokens
            .iter()
            .all(|q| tokens.iter().any(|t| t.starts_with(q.as_str())))
    }

    /// The reference semantics: filters, sorts and pages `calls` (the portal's live calls).
    pub fn evaluate(&self, calls: &[Record], associations: &[Association]) -> SearchHits {
        let mut by_call: HashMap<RecordId, Vec<&Association>> = HashMap::new();
        for association in associations {
            by_call
                .entry(association.from_id)
                .or_default()
                .push(association);
        }
        let mut matched: Vec<&Record> = calls
            .iter()
            .filter(|call| {
                let own = by_call.get(&call.id).map(Vec::as_slice).unwrap_or(&[]);
                self.matches(call, own)
            })
            .collect();
        matched.sort_by(|a, b| self.compare_calls(a, b));
        let total = matched.len();
        let calls = matched
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .cloned()
            .collect();
        SearchHits { total, calls }
    }

    /// The plan's result order.
    pub(super) fn compare_calls(&self, a: &Record, b: &Record) -> Ordering {
        let by_id = a.id.cmp(&b.id);
        match &self.sort {
            SortKey::Created => a.created_at.cmp(&b.created_at).then(by_id),
            SortKey::Property {
                name,
                property_type,
                descending,
            } => {
                let key = |call: &Record| {
                    call.property(name).map(|stored| {
                        value_operand(*property_type, &IndexedValue::new(*property_type, stored))
                    })
                };
                let directed = |order: Ordering| if *descending { order.reverse() } else { order };
                match (key(a), key(b)) {
                    (None, None) => directed(by_id),
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(x), Some(y)) => {
                        directed(compare(&x, &y).unwrap_or(Ordering::Equal).then(by_id))
                    }
                }
            }
        }
    }

    /// Turns a decoded request into a plan, applying HubSpot's validation rules.
    pub fn build(
        schema: &PropertyCatalogue,
        request: SearchRequest,
        limits: &SearchLimits,
    ) -> Result<Self, CrmError> {
        let total_filters: usize = request.filter_groups.iter().map(Vec::len).sum();
        if request.filter_groups.len() > limits.max_groups {
            return Err(CrmError::invalid(format!(
                "Too many filter groups: {} were given and at most {} are allowed",
                request.filter_groups.len(),
                limits.max_groups
            )));
        }
        if let Some(group) = request
            .filter_groups
            .iter()
            .find(|g| g.len() > limits.max_filters_per_group)
        {
            return Err(CrmError::invalid(format!(
                "Too many filters in a filter group: {} were given and at most {} are allowed per group",
                group.len(),
                limits.max_filters_per_group
            )));
        }
        if total_filters > limits.max_filters {
            return Err(CrmError::invalid(format!(
                "Too many filters: {total_filters} were given and at most {} are allowed in all groups together",
                limits.max_filters
            )));
        }
        let groups = request
            .filter_groups
            .iter()
            .map(|group| group.iter().map(|f| build_filter(schema, f)).collect())
            .collect::<Result<Vec<Vec<Filter>>, CrmError>>()?;

        let query = request.query.unwrap_or_default();
        if query.chars().count() > limits.max_query_chars {
            return Err(CrmError::invalid(format!(
                "The query is {} characters long; at most {} are allowed",
                query.chars().count(),
                limits.max_query_chars
            )));
        }
        let sort = match request.sort {
            None => SortKey::Created,
            Some(spec) => {
                let def = schema.get(&spec.property_name).ok_or_else(|| {
                    CrmError::invalid(format!(
                        "Unable to sort by property \"{}\": it does not exist",
                        spec.property_name
                    ))
                })?;
                SortKey::Property {
                    name: spec.property_name,
                    property_type: def.property_type,
                    descending: spec.descending,
                }
            }
        };
        let limit = match request.limit {
            None => 10,
            Some(limit) if limit < 0 || limit as usize > limits.max_page_size => {
                return Err(CrmError::invalid(format!(
                    "limit must be between 0 and {}, but was {limit}",
                    limits.max_page_size
                )))
            }
            Some(limit) => limit as usize,
        };
        let offset = match request.after.as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(after) => after.parse::<usize>().map_err(|_| {
                CrmError::invalid(format!(
                    "after must be a non-negative integer offset, but was \"{after}\""
                ))
            })?,
        };
        if offset >= limits.max_results && offset > 0 {
            return Err(CrmError::invalid(format!(
                "Cannot page beyond {} results: after was {offset}",
                limits.max_results
            )));
        }
        // HubSpot never returns a result past position `max_results`.
        let limit = limit.min(limits.max_results - offset);
        Ok(Self {
            groups,
            query_tokens: tokenize_query(&query),
            query_properties: &QUERY_PROPERTIES,
            sort,
            offset,
            limit,
        })
    }
}

fn tokenize_query(query: &str) -> Vec<String> {
    let mut tokens: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect();
    tokens.dedup();
    tokens
}

fn build_filter(schema: &PropertyCatalogue, spec: &FilterSpec) -> Result<Filter, CrmError> {
    let name = spec.property_name.as_str();
    let target = if let Some(kind_name) = name.strip_prefix("associations.") {
        let kind = ObjectType::parse(kind_name).ok_or_else(|| {
            CrmError::invalid(format!(
                "Cannot filter on \"{name}\": associations can be searched for contact, company, deal and ticket"
            ))
        })?;
        FilterTarget::Association(kind)
    } else {
        let def = schema.get(name).ok_or_else(|| {
            CrmError::invalid(format!(
                "There was a problem with the request: property \"{name}\" does not exist"
            ))
        })?;
        if name == "hs_body_preview_html" {
            return Err(CrmError::invalid(
                "Filtering on hs_body_preview_html is not supported",
            ));
        }
        FilterTarget::Property {
            name: name.to_owned(),
            property_type: def.property_type,
        }
    };
    let condition = build_condition(&target, spec)?;
    Ok(Filter { target, condition })
}

fn build_condition(target: &FilterTarget, spec: &FilterSpec) -> Result<Condition, CrmError> {
    let name = &spec.property_name;
    let operand_of = |raw: &str, fold: bool| operand(target, name, raw, fold);
    let value = || {
        spec.value.as_deref().ok_or_else(|| {
            CrmError::invalid(format!(
                "operator {} requires a value {{propertyName: '{name}'}}",
                spec.operator
            ))
        })
    };
    let values = |fold: bool| -> Result<Vec<Operand>, CrmError> {
        let raw = spec.values.as_deref().unwrap_or_default();
        if raw.is_empty() {
            return Err(CrmError::invalid(format!(
                "operator {} requires a non-empty values array {{propertyName: '{name}'}}",
                spec.operator
            )));
        }
        raw.iter().map(|v| operand_of(v, fold)).collect()
    };
    let pattern = || {
        let text_like = match target {
            FilterTarget::Property { property_type, .. } => supports_tokens(*property_type),
            FilterTarget::Association(_) => false,
        };
        if !text_like {
            return Err(CrmError::invalid(format!(
                "operator {} is only supported for text properties {{propertyName: '{name}'}}",
                spec.operator
            )));
        }
        let raw = value()?;
        TokenPattern::parse(raw).ok_or_else(|| {
            CrmError::invalid(format!(
                "value must be non-empty and non-blank, if specified {{propertyName: '{name}'}}"
            ))
        })
    };
    Ok(match spec.operator.as_str() {
        "EQ" => Condition::Eq(operand_of(value()?, true)?),
        "NEQ" => Condition::Neq(operand_of(value()?, true)?),
        "LT" => Condition::Lt(operand_of(value()?, true)?),
        "LTE" => Condition::Lte(operand_of(value()?, true)?),
        "GT" => Condition::Gt(operand_of(value()?, true)?),
        "GTE" => Condition::Gte(operand_of(value()?, true)?),
        "BETWEEN" => {
            let high = spec.high_value.as_deref().ok_or_else(|| {
                CrmError::invalid(format!(
                    "operator BETWEEN requires a highValue {{propertyName: '{name}'}}"
                ))
            })?;
            Condition::Between(operand_of(value()?, true)?, operand_of(high, true)?)
        }
        // HubSpot documents that IN/NOT_IN values for string properties must be lower-case:
        // they are compared as given against the folded value, so upper-case never matches.
        "IN" => Condition::In(values(false)?),
        "NOT_IN" => Condition::NotIn(values(false)?),
        "HAS_PROPERTY" => Condition::HasProperty,
        "NOT_HAS_PROPERTY" => Condition::NotHasProperty,
        "CONTAINS_TOKEN" => Condition::ContainsToken(pattern()?),
        "NOT_CONTAINS_TOKEN" => Condition::NotContainsToken(pattern()?),
        other => {
            return Err(CrmError::invalid(format!(
                "Unknown filter operator \"{other}\" {{propertyName: '{name}'}}; expected one of EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN"
            )))
        }
    })
}

/// Reads a filter value as the target's type compares it.
fn operand(target: &FilterTarget, name: &str, raw: &str, fold: bool) -> Result<Operand, CrmError> {
    let not_a = |what: &str| {
        CrmError::invalid(format!(
            "\"{raw}\" is not a valid {what} for filtering on property \"{name}\""
        ))
    };
    let property_type = match target {
        FilterTarget::Association(_) => PropertyType::Number,
        FilterTarget::Property { property_type, .. } => *property_type,
    };
    let raw_trimmed = raw.trim();
    Ok(match property_type {
        PropertyType::Number => {
            if !is_decimal_number(raw_trimmed) {
                return Err(not_a("number"));
            }
            Operand::Number(raw_trimmed.parse().map_err(|_| not_a("number"))?)
        }
        PropertyType::Datetime => {
            Operand::Number(parse_datetime(raw_trimmed).ok_or_else(|| not_a("datetime"))? as f64)
        }
        PropertyType::Date => Operand::Number(
            parse_datetime(raw_trimmed)
                .or_else(|| parse_date(raw_trimmed))
                .ok_or_else(|| not_a("date"))? as f64,
        ),
        PropertyType::Bool => Operand::Text(raw_trimmed.to_ascii_lowercase()),
        PropertyType::Enumeration => Operand::Text(raw.to_owned()),
        _ if fold => Operand::Text(raw.to_lowercase()),
        _ => Operand::Text(raw.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("abc", "abc"));
        assert!(!wildcard_match("abc", "abcd"));
        assert!(wildcard_match("ab*", "abcd"));
        assert!(wildcard_match("*cd", "abcd"));
        assert!(wildcard_match("*b*d", "abcd"));
        assert!(wildcard_match("*", "x"));
        assert!(!wildcard_match("*x*", "abcd"));
    }

    #[test]
    fn tokens_are_words() {
        assert_eq!(
            tokenize("Discovery call: ACME, Inc."),
            vec!["acme", "call", "discovery", "inc"]
        );
        assert_eq!(tokenize("Zürich Ölbaum"), vec!["zürich", "ölbaum"]);
    }

    /// The ASCII path of `tokenize` and of the folded text must give what the Unicode one
    /// gives, for every ASCII character (punctuation, controls, digits, both cases).
    #[test]
    fn ascii_text_folds_and_tokenizes_as_unicode_text_does() {
        let ascii: String = (0u8..128).map(char::from).collect();
        let text = format!("{ascii} Call 42 with ACME_procurement-Team {ascii}");
        let mut unicode: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
            .collect();
        unicode.sort();
        unicode.dedup();
        assert!(text.is_ascii());
        assert_eq!(tokenize(&text), unicode);
        assert!(tokenize(&text).contains(&"procurement".to_owned()));
        let indexed = IndexedValue::new(PropertyType::String, &text);
        assert_eq!(indexed.text, text.to_lowercase());
        // Non-ASCII text still takes the Unicode path.
        assert_eq!(IndexedValue::new(PropertyType::String, "ÄB").text, "äb");
    }
}
