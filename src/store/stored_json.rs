//! A reader for the one JSON form the store writes a record's properties in: what
//! `serde_json::to_string` makes of a map of strings — `{"name":"value",...}`, no
//! whitespace, string values, and no `\u` escapes for the text the API accepts. Every read
//! of a record passes here, and a general JSON parser spent ~14k instructions on a call's
//! ~1 KB row to keep two of its ~16 properties (callgrind, issue 15: a fifth of a GET):
//! key by key through serde's visitor, every string scanned and checked byte by byte.
//! This one finds each string's end 16 bytes a step ([`run_end`]) and compares names as
//! bytes.
//!
//! It answers only for text in that exact form and otherwise steps aside (`None`), so the
//! general parser reads anything else — hand-edited rows, rare escapes, damage — and
//! reports its errors as before. Where it answers, the answer is the general parser's:
//! the same strings are rejected for control characters, bad escapes or invalid UTF-8
//! (only kept strings are checked for UTF-8, as serde does with values it skips), and of
//! duplicate names the last one is kept.

use std::collections::BTreeMap;

use crate::crm::record::Projection;
use crate::json_text::run_end;

/// The `projection`'s properties from `text`, or `None` when the text is not in the form
/// the store writes (the caller then parses it in full).
pub fn projected_properties(
    text: &[u8],
    projection: &Projection<'_>,
) -> Option<BTreeMap<String, String>> {
    let mut at = expect(text, 0, b'{')?;
    let mut kept: Vec<(String, String)> = match projection {
        Projection::All => Vec::new(),
        Projection::Only(names) => Vec::with_capacity(names.len()),
    };
    if text.get(at) == Some(&b'}') {
        return (at + 1 == text.len()).then(BTreeMap::new);
    }
    loop {
        at = expect(text, at, b'"')?;
        let (name, after_name) = plain_string(text, at)?;
        // Names the store writes are ASCII; others go to the general parser, which checks
        // their UTF-8.
        if !name.is_ascii() {
            return None;
        }
        let keep = wanted(projection, name);
        at = expect(text, after_name, b':')?;
        at = expect(text, at, b'"')?;
        let (value, after_value) = string(text, at, keep.is_some())?;
        if let Some(name) = keep {
            kept.push((name.to_owned(), value.into_string()?));
        }
        at = after_value;
        match text.get(at) {
            Some(b',') => at += 1,
            Some(b'}') if at + 1 == text.len() => return Some(kept.into_iter().collect()),
            _ => return None,
        }
    }
}

/// The position after `byte` when it is the one at `at`.
fn expect(text: &[u8], at: usize, byte: u8) -> Option<usize> {
    (text.get(at) == Some(&byte)).then_some(at + 1)
}

/// A string's text from `start` (just past its opening quote) when it has no escapes, and
/// the position after its closing quote.
fn plain_string(text: &[u8], start: usize) -> Option<(&[u8], usize)> {
    match string(text, start, true)? {
        (StringText::Plain(bytes), after) => Some((bytes, after)),
        _ => None,
    }
}

/// A string's contents, as the text holds them or with its escapes decoded; or nothing,
/// for a string only checked and skipped.
enum StringText<'t> {
    Plain(&'t [u8]),
    Escaped(Vec<u8>),
    Skipped,
}

impl StringText<'_> {
    /// The contents as a `String`: `None` when they are not UTF-8 (the general parser then
    /// reports that).
    fn into_string(self) -> Option<String> {
        match self {
            StringText::Plain(bytes) => std::str::from_utf8(bytes).ok().map(str::to_owned),
            StringText::Escaped(bytes) => String::from_utf8(bytes).ok(),
            StringText::Skipped => Some(String::new()),
        }
    }
}

/// The string starting at `start` (just past its opening quote), its contents when
/// `keep`, and the position after its closing quote. `None` for an unterminated string, a
/// control character, or an escape other than the one-letter ones (`\u` escapes are left
/// to the general parser).
fn string(text: &[u8], start: usize, keep: bool) -> Option<(StringText<'_>, usize)> {
    let mut from = start;
    let mut decoded: Option<Vec<u8>> = None;
    loop {
        let stop = run_end(text, from);
        let run = &text[from..stop];
        let unescaped = match text.get(stop)? {
            b'"' => {
                let contents = match decoded {
                    _ if !keep => StringText::Skipped,
                    None => StringText::Plain(run),
                    Some(mut bytes) => {
                        bytes.extend_from_slice(run);
                        StringText::Escaped(bytes)
                    }
                };
                return Some((contents, stop + 1));
            }
            b'\\' => match text.get(stop + 1)? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                _ => return None,
            },
            // A control character.
            _ => return None,
        };
        if keep {
            let bytes = decoded.get_or_insert_with(|| Vec::with_capacity(run.len() + 16));
            bytes.extend_from_slice(run);
            bytes.push(unescaped);
        }
        from = stop + 2;
    }
}

/// Whether `projection` wants the property named by the ASCII bytes `name`, as the name
/// to keep it under (the projection's own text, so only `All` converts the name).
fn wanted<'p>(projection: &'p Projection<'_>, name: &'p [u8]) -> Option<&'p str> {
    match projection {
        Projection::All => std::str::from_utf8(name).ok(),
        Projection::Only(names) => names.iter().copied().find(|n| n.as_bytes() == name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// What serde_json makes of the same text with the same projection.
    fn general(text: &[u8], projection: &Projection<'_>) -> Option<BTreeMap<String, String>> {
        let all: BTreeMap<String, serde_json::Value> = serde_json::from_slice(text).ok()?;
        all.into_iter()
            .filter(|(k, _)| projection.wants(k))
            .map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect()
    }

    #[test]
    fn reads_what_the_store_writes_as_serde_does() {
        let stored = map(&[
            (
                "hs_body_preview_html",
                "<html>\n <body>\t\"x\" \\ / \u{8}\u{c}\r</body>",
            ),
            ("hs_call_body", "caf\u{e9} \u{1f600}"),
            ("hs_call_title", "title"),
            ("empty", ""),
        ]);
        let text = serde_json::to_string(&stored).unwrap();
        for projection in [
            Projection::All,
            Projection::Only(vec!["hs_call_title"]),
            Projection::Only(vec!["hs_body_preview_html", "empty", "missing"]),
            Projection::Only(vec![]),
        ] {
            let fast = projected_properties(text.as_bytes(), &projection);
            assert!(fast.is_some(), "{projection:?}");
            assert_eq!(fast, general(text.as_bytes(), &projection));
        }
        assert_eq!(
            projected_properties(b"{}", &Projection::All),
            Some(BTreeMap::new())
        );
    }

    #[test]
    fn keeps_the_last_of_duplicate_names() {
        let text = br#"{"a":"1","a":"2"}"#;
        assert_eq!(
            projected_properties(text, &Projection::All),
            Some(map(&[("a", "2")]))
        );
    }

    #[test]
    fn steps_aside_for_any_other_form() {
        let all = Projection::All;
        for text in [
            &br#"{ "a":"1"}"#[..],
            br#"{"a": "1"}"#,
            br#"{"a":"1"} "#,
            br#"{"a":1}"#,
            br#"{"a":"\u00e9"}"#,
            br#"{"\n":"1"}"#,
            br#"{"a":"1",}"#,
            br#"{"a":"1""#,
            br#"{"a":"1"#,
            br#"{"a":"x\qy"}"#,
            b"{\"a\":\"\x01\"}",
            b"{\"a\":\"\xff\"}",
            "{\"\u{e9}\":\"1\"}".as_bytes(),
            b"",
            b"[]",
            b"{} x",
        ] {
            assert_eq!(projected_properties(text, &all), None, "{text:?}");
        }
        // A value it skips is not checked for UTF-8, as serde does not check it either.
        let only = Projection::Only(vec!["b"]);
        assert_eq!(
            projected_properties(b"{\"a\":\"\xff\",\"b\":\"2\"}", &only),
            Some(map(&[("b", "2")]))
        );
        // But a control character in a skipped value fails, as it fails serde.
        assert_eq!(
            projected_properties(b"{\"a\":\"\x01\",\"b\":\"2\"}", &only),
            None
        );
    }
}
