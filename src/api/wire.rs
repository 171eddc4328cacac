//! HubSpot's JSON shapes, in and out. Field names and order follow HubSpot's responses.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::crm::time::format_datetime;

// ----- inputs -------------------------------------------------------------------------------

/// A scalar the client may send where HubSpot expects a string: strings, numbers and
/// booleans are taken as their text, `null` as the empty string (which clears a property).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(String::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Text, A::Error> {
                Err(de::Error::custom(
                    "Cannot deserialize value of type `java.lang.String` from Object value (token `JsonToken.START_OBJECT`)",
                ))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Text, A::Error> {
                Err(de::Error::custom(
                    "Cannot deserialize value of type `java.lang.String` from Array value (token `JsonToken.START_ARRAY`)",
                ))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// A record id as clients send it: a string or an integer (never null, a float or a
/// boolean, which name no record).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdText(pub String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = IdText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id (a string or an integer)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdText, E> {
                Ok(IdText(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// A `properties` object, keeping the client's order (so errors are reported in it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertiesInput(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for PropertiesInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PropertiesVisitor;
        impl<'de> Visitor<'de> for PropertiesVisitor {
            type Value = PropertiesInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of property values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut values: Vec<(String, String)> = Vec::new();
                while let Some((name, Text(value))) = map.next_entry::<String, Text>()? {
                    // A repeated key keeps its last value, like a JSON object does.
                    values.retain(|(existing, _)| *existing != name);
                    values.push((name, value));
                }
                Ok(PropertiesInput(values))
            }
        }
        deserializer.deserialize_map(PropertiesVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectIdInput {
    pub id: IdText,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationTypeInput {
    pub association_category: String,
    pub association_type_id: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationInput {
    pub to: ObjectIdInput,
    pub types: Vec<AssociationTypeInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInput {
    pub properties: PropertiesInput,
    #[serde(default)]
    pub associations: Option<Vec<AssociationInput>>,
    #[serde(default)]
    pub object_write_trace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInput {
    pub properties: PropertiesInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchUpdateItem {
    pub id: IdText,
    pub properties: PropertiesInput,
    #[serde(default)]
    pub id_property: Option<String>,
    #[serde(default)]
    pub object_write_trace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchUpsertItem {
    pub id: IdText,
    pub properties: PropertiesInput,
    #[serde(default)]
    pub id_property: Option<String>,
    #[serde(default)]
    pub object_write_trace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInput<T> {
    pub inputs: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchReadInput {
    pub inputs: Vec<ObjectIdInput>,
    #[serde(default)]
    pub properties: Option<Vec<String>>,
    #[serde(default)]
    pub properties_with_history: Option<Vec<String>>,
    #[serde(default)]
    pub id_property: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprDeleteInput {
    pub object_id: IdText,
    #[serde(default)]
    pub id_property: Option<String>,
}

// ----- outputs ------------------------------------------------------------------------------

/// An instant in HubSpot's response format.
pub fn instant(millis: i64) -> String {
    format_datetime(millis)
}

/// `ValueWithTimestamp`: one entry of a property's history.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueWithTimestamp {
    pub value: String,
    pub timestamp: String,
    pub source_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AssociatedId {
    pub id: String,
    #[serde(rename = "type")]
    pub association_type: String,
}

#[derive(Debug, Serialize)]
pub struct AssociatedIds {
    pub results: Vec<AssociatedId>,
}

/// `SimplePublicObject` and `SimplePublicObjectWithAssociations`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimplePublicObject {
    pub id: String,
    pub properties: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties_with_history: Option<BTreeMap<String, Vec<ValueWithTimestamp>>>,
    pub created_at: String,
    pub updated_at: String,
    pub archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub associations: Option<BTreeMap<String, AssociatedIds>>,
}

#[derive(Debug, Serialize)]
pub struct NextPage {
    pub after: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Paging {
    pub next: NextPage,
}

/// The list endpoint's page.
#[derive(Debug, Serialize)]
pub struct CollectionResponse {
    pub results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// The search endpoint's page.
#[derive(Debug, Serialize)]
pub struct SearchResponse {
    pub total: usize,
    pub results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// `StandardError`: one failure inside a 207 batch response.
#[derive(Debug, Serialize)]
pub struct StandardError {
    pub status: &'static str,
    pub category: &'static str,
    pub message: String,
    pub context: Map<String, Value>,
    /// The details, one per refused property, as in a single write's error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<super::error::ErrorDetail>,
}

/// `SimplePublicUpsertObject`: an upsert result, with whether it was created.
#[derive(Debug, Serialize)]
pub struct UpsertedObject {
    #[serde(flatten)]
    pub object: SimplePublicObject,
    pub new: bool,
}

/// `BatchResponseSimplePublicObject` (and `...WithErrors` when `errors` is not empty).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse<T = SimplePublicObject> {
    pub status: &'static str,
    pub results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_errors: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<StandardError>,
    pub started_at: String,
    pub completed_at: String,
}
