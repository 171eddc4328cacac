//! When two values of a unique property are "the same": the one rule the engines enforce
//! and every check above them must repeat.
//!
//! The engines compare a stored value by what search compares it as
//! ([`value_operand`] of its [`IndexedValue`]): the SQLite index keys its entries by it, and
//! PostgreSQL's `call_values` rows hold its `number` (numbers, dates and datetimes, as
//! instants) or its `text` (folded unless the type is case-sensitive). A check that compared
//! otherwise (text lower-cased, dates as text) would pass values the store then refuses, or
//! refuse values it takes.

use super::properties::PropertyType;
use super::search::{value_operand, IndexedValue, Operand};

/// A unique value in the form the engines compare it, usable as a map key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UniqueKey {
    /// A number or an instant (epoch milliseconds), as the bits of its `f64` with `-0`
    /// folded into `0` (equal for the engines).
    Number(u64),
    /// Text, folded unless the type compares case-sensitively.
    Text(String),
}

impl UniqueKey {
    /// The key of a stored (normalised) value of a property of `property_type`.
    pub fn of(property_type: PropertyType, stored: &str) -> Self {
        match value_operand(property_type, &IndexedValue::new(property_type, stored)) {
            Operand::Number(n) => Self::Number(if n == 0.0 { 0.0f64 } else { n }.to_bits()),
            Operand::Text(text) => Self::Text(text),
        }
    }

    /// The text that finds this value's holders through
    /// [`crate::crm::ports::RecordStore::find_by_value`], which reads a number as a number
    /// and text as text: an instant is given as its milliseconds, so a date stored as
    /// `2025-01-01` finds holders of the same day however it was written.
    pub fn probe(&self) -> String {
        match self {
            Self::Number(bits) => f64::from_bits(*bits).to_string(),
            Self::Text(text) => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_as_the_engines_compare_them() {
        let same = |t: PropertyType, a: &str, b: &str| UniqueKey::of(t, a) == UniqueKey::of(t, b);
        assert!(same(PropertyType::String, "Ab@X.com", "ab@x.com"));
        assert!(same(PropertyType::Number, "1.0", "1"));
        assert!(same(PropertyType::Number, "-0", "0"));
        assert!(!same(PropertyType::String, "1.0", "1"));
        // Instants compare as instants, not as their text.
        assert!(same(
            PropertyType::Datetime,
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00.000Z"
        ));
        assert!(same(PropertyType::Date, "2025-01-01", "1735689600000"));
        // Enumerations are exact.
        assert!(!same(PropertyType::Enumeration, "A", "a"));
    }

    #[test]
    fn probes_read_back_as_the_same_value() {
        let key = UniqueKey::of(PropertyType::Date, "2025-01-01");
        assert_eq!(key.probe(), "1735689600000");
        assert_eq!(
            UniqueKey::of(PropertyType::Number, key.probe().as_str()),
            key
        );
        assert_eq!(UniqueKey::of(PropertyType::String, "Ab").probe(), "ab");
    }
}
