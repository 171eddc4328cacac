//! The JSON body extractor: decodes a request body into wire types, and words every
//! rejection as HubSpot's (Jackson-based) API does: `Invalid input JSON on line L, column C…`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A request body that must be a JSON object, decoded as `T`; every failure is a
/// HubSpot-style 400 (or 413).
pub struct HubJson<T>(pub T);

/// A request body that must be a JSON array (the v4 labelled association PUT).
pub struct HubJsonList<T>(pub Vec<T>);

pub(super) async fn body_bytes<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "VALIDATION_ERROR",
                    "The request body is too large.",
                )
            } else {
                ApiError::validation(format!("Could not read the request body: {rejection}"))
            }
        })
}

impl<S, T> FromRequest<S> for HubJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(request, state).await?;
        expect_shape(&bytes, b'{', "an object")?;
        decode(&bytes).map(HubJson)
    }
}

impl<S, T> FromRequest<S> for HubJsonList<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(request, state).await?;
        expect_shape(&bytes, b'[', "an array")?;
        decode(&bytes).map(HubJsonList)
    }
}

/// Refuses a body whose top-level value is of the wrong kind. Serde would read an array
/// into a struct field by field; HubSpot's Jackson refuses it, and so does hubcalls.
/// Public so the fuzz targets decode exactly as the extractors do.
pub fn expect_shape(bytes: &[u8], opening: u8, wanted: &str) -> Result<(), ApiError> {
    let Some(at) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(()); // empty: `decode` words that error
    };
    let found = bytes[at];
    if found == opening || !matches!(found, b'{' | b'[') {
        return Ok(()); // the right shape, or a scalar that `decode` words
    }
    let (line, column) = line_and_column(bytes, at);
    let (token, kind) = if found == b'[' {
        ("START_ARRAY", "Array")
    } else {
        ("START_OBJECT", "Object")
    };
    Err(ApiError::validation(format!(
        "Invalid input JSON on line {line}, column {column}: Cannot deserialize the request body from {kind} value (token `JsonToken.{token}`): expected {wanted}"
    )))
}

/// Decodes `bytes` as `T` with HubSpot's wording for every failure.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value =
        serde_json::from_slice(bytes).map_err(|error| ApiError::validation(describe(&error)))?;
    if let Some(at) = escaped_nul(bytes) {
        let (line, column) = line_and_column(bytes, at);
        return Err(ApiError::validation(format!(
            "Invalid input JSON on line {line}, column {column}: text must not contain the NUL character (\\u0000)"
        )));
    }
    Ok(value)
}

/// Where a string of the body holds `\u0000`, if anywhere. PostgreSQL cannot store the
/// NUL character in text or JSONB, so both stores refuse it (docs/compatibility.md)
/// rather than one storing what the other cannot. A raw NUL byte is not JSON at all.
fn escaped_nul(bytes: &[u8]) -> Option<usize> {
    const ESCAPE: &[u8] = b"\\u0000";
    let mut from = 0;
    while let Some(found) = bytes[from..]
        .windows(ESCAPE.len())
        .position(|window| window == ESCAPE)
    {
        let at = from + found;
        // `\\u0000` is an escaped backslash and the text "u0000": the escape is real only
        // after an even number of backslashes.
        let backslashes_before = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes_before % 2 == 0 {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn line_and_column(bytes: &[u8], at: usize) -> (usize, usize) {
    let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
    let line_start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |nl| nl + 1);
    (line, at - line_start + 1)
}

fn describe(error: &serde_json::Error) -> String {
    let (line, column) = (error.line(), error.column());
    if error.is_eof() && line <= 1 && column == 0 {
        return format!(
            "Invalid input JSON on line {line}, column {column}: No content to map due to end-of-input"
        );
    }
    let full = error.to_string();
    // serde_json appends " at line L column C"; HubSpot puts the position first.
    let detail = full
        .rsplit_once(" at line ")
        .map(|(head, _)| head)
        .unwrap_or(&full);
    if let Some(field) = detail
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return format!(
            "Invalid input JSON on line {line}, column {column}. Some required fields were not set: [{field}]"
        );
    }
    format!("Invalid input JSON on line {line}, column {column}: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Needs {
        properties: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn an_escaped_nul_in_text_is_refused() {
        let refused = decode::<Needs>(br#"{"properties": {"a": "x\u0000y"}}"#);
        assert!(refused.is_err());
        // An escaped backslash followed by the letters "u0000" is ordinary text.
        let accepted = decode::<Needs>(br#"{"properties": {"a": "x\\u0000y"}}"#);
        assert_eq!(accepted.unwrap().properties["a"], "x\\u0000y");
        assert_eq!(escaped_nul(br#"{"a": "\\\u0000"}"#), Some(9));
    }

    #[test]
    fn top_level_shape_is_checked() {
        assert!(expect_shape(b"  [1]", b'{', "an object").is_err());
        assert!(expect_shape(b"{}", b'[', "an array").is_err());
        assert!(expect_shape(b"{}", b'{', "an object").is_ok());
        assert!(expect_shape(b"5", b'{', "an object").is_ok());
        assert!(expect_shape(b"", b'{', "an object").is_ok());
    }

    #[test]
    fn messages_follow_hubspot() {
        let missing = decode::<Needs>(b"{}").err().unwrap();
        assert_eq!(
            missing.message,
            "Invalid input JSON on line 1, column 2. Some required fields were not set: [properties]"
        );
        let empty = decode::<Needs>(b"").err().unwrap();
        assert!(empty
            .message
            .ends_with("No content to map due to end-of-input"));
        let broken = decode::<Needs>(b"{\"properties\": %}").err().unwrap();
        assert!(broken
            .message
            .starts_with("Invalid input JSON on line 1, column 16: "));
    }
}
