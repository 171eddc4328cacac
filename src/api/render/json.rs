//! Rendered objects written as JSON in one pass, straight into the response's bytes.
//!
//! serde_json escapes a string one byte at a time; a page of 100 calls is ~70 KB of text,
//! mostly property values without anything to escape, and escaping was ~10 % of a list
//! page's instructions (callgrind, issue 15). Here runs of plain text are found 16 bytes
//! at a time (`crate::json_text`) and copied whole. The bytes are exactly serde_json's (compact, fields in the
//! wire types' order): the tests compare the two.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::error::JSON_CONTENT_TYPE;
use super::super::wire::{CollectionResponse, Paging, SearchResponse, SimplePublicObject};
use crate::json_text::run_end;

/// A body that can write itself as serde_json would serialise it.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

/// A JSON response of `body`, written in one pass.
pub fn json_body_response(status: StatusCode, body: &impl WriteJson) -> Response {
    let mut bytes = Vec::with_capacity(1024);
    body.write_json(&mut bytes);
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, JSON_CONTENT_TYPE);
    response
}

impl WriteJson for SimplePublicObject {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        write_str(out, &self.id);
        out.extend_from_slice(b",\"properties\":{");
        for (position, (name, value)) in self.properties.iter().enumerate() {
            if position > 0 {
                out.push(b',');
            }
            write_str(out, name);
            out.push(b':');
            match value {
                Some(value) => write_str(out, value),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
        if let Some(history) = &self.properties_with_history {
            out.extend_from_slice(b",\"propertiesWithHistory\":");
            write_serialized(out, history);
        }
        out.extend_from_slice(b",\"createdAt\":");
        write_str(out, &self.created_at);
        out.extend_from_slice(b",\"updatedAt\":");
        write_str(out, &self.updated_at);
        out.extend_from_slice(if self.archived {
            b",\"archived\":true"
        } else {
            b",\"archived\":false"
        });
        if let Some(archived_at) = &self.archived_at {
            out.extend_from_slice(b",\"archivedAt\":");
            write_str(out, archived_at);
        }
        if let Some(associations) = &self.associations {
            out.extend_from_slice(b",\"associations\":");
            write_serialized(out, associations);
        }
        out.push(b'}');
    }
}

impl WriteJson for CollectionResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"results\":");
        write_results(out, &self.results);
        write_paging(out, self.paging.as_ref());
        out.push(b'}');
    }
}

impl WriteJson for SearchResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"total\":");
        out.extend_from_slice(self.total.to_string().as_bytes());
        out.extend_from_slice(b",\"results\":");
        write_results(out, &self.results);
        write_paging(out, self.paging.as_ref());
        out.push(b'}');
    }
}

fn write_results(out: &mut Vec<u8>, results: &[SimplePublicObject]) {
    out.push(b'[');
    for (position, object) in results.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        object.write_json(out);
    }
    out.push(b']');
}

fn write_paging(out: &mut Vec<u8>, paging: Option<&Paging>) {
    if let Some(paging) = paging {
        out.extend_from_slice(b",\"paging\":");
        write_serialized(out, paging);
    }
}

/// The rare parts (history, associations, paging) go through serde_json as they are.
fn write_serialized(out: &mut Vec<u8>, value: &impl serde::Serialize) {
    // Writing a map or struct of strings into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `text` as a JSON string, escaped exactly as serde_json escapes it: `"` and `\`, and the
/// control characters below 0x20 (short forms where JSON has them, `\u00xx` otherwise).
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut from = 0;
    loop {
        let stop = run_end(bytes, from);
        out.extend_from_slice(&bytes[from..stop]);
        let Some(&byte) = bytes.get(stop) else {
            break;
        };
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0C => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            _ => b'u',
        };
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0F)]);
        }
        from = stop + 1;
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::super::wire::{AssociatedId, AssociatedIds, NextPage, ValueWithTimestamp};
    use super::*;

    fn written(body: &impl WriteJson) -> String {
        let mut out = Vec::new();
        body.write_json(&mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    fn awkward_texts() -> Vec<String> {
        let mut texts: Vec<String> = vec![
            String::new(),
            "plain".to_owned(),
            "exactly8".to_owned(),
            "a \"quoted\" \\ back\\slash, twelve".to_owned(),
            "é ü 漢字 🎉 and \u{7f} del".to_owned(),
            "tab\there\r\nnew line\u{0c}\u{08}".to_owned(),
            "x".repeat(200) + "\"",
        ];
        texts.push((0u8..0x20).map(char::from).collect());
        texts.push((0u8..0x80).rev().map(char::from).collect());
        texts
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in awkward_texts() {
            let mut out = Vec::new();
            write_str(&mut out, &text);
            assert_eq!(
                String::from_utf8(out).expect("UTF-8"),
                serde_json::to_string(&text).expect("a string"),
                "{text:?}"
            );
        }
    }

    fn object(seed: usize, full: bool) -> SimplePublicObject {
        let texts = awkward_texts();
        let mut properties = BTreeMap::new();
        for (n, text) in texts.iter().enumerate() {
            properties.insert(format!("p{n}{}", texts[(n + seed) % texts.len()]), None);
            properties.insert(format!("v{n}"), Some(text.clone()));
        }
        SimplePublicObject {
            id: format!("1000{seed}"),
            properties,
            properties_with_history: full.then(|| {
                BTreeMap::from([(
                    "hs_call_title".to_owned(),
                    vec![ValueWithTimestamp {
                        value: "t\"".to_owned(),
                        timestamp: "2025-01-01T00:00:00Z".to_owned(),
                        source_type: "API".to_owned(),
                        source_id: None,
                    }],
                )])
            }),
            created_at: "2025-01-01T00:00:00Z".to_owned(),
            updated_at: "2025-01-02T00:00:00.123Z".to_owned(),
            archived: full,
            archived_at: full.then(|| "2025-01-03T00:00:00Z".to_owned()),
            associations: full.then(|| {
                BTreeMap::from([(
                    "contacts".to_owned(),
                    AssociatedIds {
                        results: vec![AssociatedId {
                            id: "7".to_owned(),
                            association_type: "call_to_contact".to_owned(),
                        }],
                    },
                )])
            }),
        }
    }

    #[test]
    fn objects_and_pages_are_written_as_serde_json_serialises_them() {
        for full in [false, true] {
            let one = object(1, full);
            assert_eq!(written(&one), serde_json::to_string(&one).expect("JSON"));
        }
        let empty = SimplePublicObject {
            properties: BTreeMap::new(),
            ..object(0, false)
        };
        assert_eq!(
            written(&empty),
            serde_json::to_string(&empty).expect("JSON")
        );
        let paging = || {
            Some(Paging {
                next: NextPage {
                    after: "10000000101".to_owned(),
                    link: Some("http://h/crm/v3/objects/calls?after=1&limit=100".to_owned()),
                },
            })
        };
        for paging in [None, paging()] {
            let page = CollectionResponse {
                results: vec![object(2, false), object(3, true), empty_like(4)],
                paging,
            };
            assert_eq!(written(&page), serde_json::to_string(&page).expect("JSON"));
        }
        for (results, total) in [
            (Vec::new(), 0),
            (vec![object(5, false), object(6, true)], 12),
        ] {
            let page = SearchResponse {
                total,
                results,
                paging: paging(),
            };
            assert_eq!(written(&page), serde_json::to_string(&page).expect("JSON"));
        }
        let none = CollectionResponse {
            results: Vec::new(),
            paging: None,
        };
        assert_eq!(written(&none), "{\"results\":[]}");
    }

    fn empty_like(seed: usize) -> SimplePublicObject {
        SimplePublicObject {
            properties: BTreeMap::from([("hs_object_id".to_owned(), Some(seed.to_string()))]),
            ..object(seed, false)
        }
    }
}
