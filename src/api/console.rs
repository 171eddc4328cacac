//! The web console: a few static files, compiled into the binary, served at `/` and
//! `/console/*`.
//!
//! The console is plain HTML, CSS and JavaScript modules with no build step. It holds no
//! privilege of its own: it calls the public HubSpot API of this server with the token the
//! person pastes, so these routes need no token and touch no portal data.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    etag: &'static str,
}

/// A strong validator computed at compile time (FNV-1a), so a browser revalidates cheaply and
/// a new binary's files are never mistaken for the old ones.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `"` + 16 hex digits + `"`, built in a const context.
const fn etag_bytes(body: &str) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = fnv1a(body.as_bytes());
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {{
        const BODY: &str = include_str!(concat!("console/", $name));
        const ETAG: [u8; 18] = etag_bytes(BODY);
        Asset {
            name: $name,
            content_type: $content_type,
            body: BODY,
            etag: match std::str::from_utf8(&ETAG) {
                Ok(text) => text,
                Err(_) => panic!("an ETag is ASCII"),
            },
        }
    }};
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: [Asset; 7] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("search.js", JS),
    asset!("views.js", JS),
    asset!("icon.svg", "image/svg+xml"),
];

/// Only this origin: no inline script or style, no third-party anything, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'; object-src 'none'";

/// The console's routes; they carry no state and sit outside the authenticated API.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/{*file}", get(asset))
        .method_not_allowed_fallback(super::method_not_allowed)
}

async fn index(request: Request) -> Response {
    serve(&ASSETS[0], request.headers())
}

async fn asset(request: Request) -> Response {
    let path = request.uri().path();
    let name = path.strip_prefix("/console/").unwrap_or_default();
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => serve(asset, request.headers()),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            format!("The console has no file named {name:?}"),
        )
        .into_response(),
    }
}

fn serve(asset: &Asset, request_headers: &HeaderMap) -> Response {
    let fresh = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == asset.etag || tag.trim() == "*")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, asset.body).into_response()
    };
    let headers = response.headers_mut();
    if !fresh {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
    }
    headers.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    // Revalidate on every load: the files change with the binary, and a 304 is cheap.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_differ_with_content_and_are_quoted_hex() {
        let a = etag_bytes("a");
        let b = etag_bytes("b");
        assert_ne!(a, b);
        let text = std::str::from_utf8(&a).unwrap();
        assert!(text.starts_with('"') && text.ends_with('"'));
        assert!(text[1..17].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn asset_names_are_unique() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(
                ASSETS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }
}
