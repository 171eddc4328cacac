//! `GET /openapi.yaml`: the description of what this server serves.
//!
//! `openapi/hubcalls.yaml` describes the legacy paths (`/crm/v3/…`, `/crm/v4/…`). The date
//! versions serve the same operations under other prefixes (see [`super::version`]), so their
//! paths are derived from it when first served rather than written out four times: each
//! legacy path item that has a dated twin is repeated under that twin, with a `version` path
//! parameter (one of [`ApiVersion::DATED`]) and its operation ids suffixed `Dated`. Paths
//! whose existence differs by version (merge, GDPR delete) and the v3 per-record association
//! paths are left out.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::version::ApiVersion;

/// The hand-written description of the legacy paths.
const LEGACY: &str = include_str!("../../openapi/hubcalls.yaml");

/// The legacy prefixes that have dated twins, and those twins (`{version}` is the parameter).
const DATED_PREFIXES: [(&str, &str); 7] = [
    ("/crm/v3/objects/", "/crm/objects/{version}/"),
    ("/crm/v4/objects/", "/crm/objects/{version}/"),
    ("/crm/v3/properties/", "/crm/properties/{version}/"),
    ("/crm/v3/pipelines/", "/crm/pipelines/{version}/"),
    ("/crm/v3/owners", "/crm/owners/{version}"),
    ("/crm/v4/associations/", "/crm/associations/{version}/"),
    ("/crm/v3/schemas", "/crm-object-schemas/{version}/schemas"),
];

/// The dated twin of a legacy path item, if it has one described here.
fn dated_twin(path: &str) -> Option<String> {
    let differs_by_version = path.ends_with("/merge") || path.ends_with("/gdpr-delete");
    // v3's per-record association paths have no dated twin in HubSpot's specs.
    let v3_associations = path.starts_with("/crm/v3/objects/") && path.contains("/associations/");
    if differs_by_version || v3_associations {
        return None;
    }
    DATED_PREFIXES.iter().find_map(|(legacy, dated)| {
        path.strip_prefix(legacy)
            .map(|rest| format!("{dated}{rest}"))
    })
}

/// The whole description: the legacy one with the dated path items added to `paths`.
pub fn description() -> &'static str {
    static DESCRIPTION: OnceLock<String> = OnceLock::new();
    DESCRIPTION.get_or_init(|| with_dated_paths(LEGACY))
}

/// Adds the dated twin of every path item of `yaml`'s `paths` section (two-space-indented
/// keys starting with `/`; the section ends at the next top-level key), and the `version`
/// parameter to `components.parameters`.
fn with_dated_paths(yaml: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let paths_end = lines
        .iter()
        .position(|l| *l == "components:")
        .unwrap_or(lines.len());
    let mut twins = String::new();
    let mut at = 0;
    while at < paths_end {
        let Some(path) = path_key(lines[at]) else {
            at += 1;
            continue;
        };
        let end = (at + 1..paths_end)
            .find(|&i| path_key(lines[i]).is_some())
            .unwrap_or(paths_end);
        if let Some(twin) = dated_twin(path) {
            twins.push_str(&dated_item(&twin, &lines[at + 1..end]));
        }
        at = end;
    }
    let mut out = String::with_capacity(yaml.len() + twins.len() + 512);
    for (i, line) in lines.iter().enumerate() {
        if i == paths_end {
            out.push_str(&twins);
        }
        out.push_str(line);
        out.push('\n');
        if *line == "  parameters:" && i > paths_end {
            out.push_str(&version_parameter());
        }
    }
    out
}

fn path_key(line: &str) -> Option<&str> {
    line.strip_prefix("  /")?;
    line.trim().strip_suffix(':')
}

/// One path item under its dated path: the `version` parameter first among the item's
/// parameters, operation ids made unique.
fn dated_item(path: &str, body: &[&str]) -> String {
    let version_ref = "      - $ref: '#/components/parameters/ApiVersion'\n";
    let mut item = format!("  {path}:\n");
    let has_parameters = body.contains(&"    parameters:");
    if !has_parameters {
        item.push_str("    parameters:\n");
        item.push_str(version_ref);
    }
    for (at, line) in body.iter().enumerate() {
        match line.strip_prefix("      operationId: ") {
            Some(id) => item.push_str(&format!("      operationId: {id}Dated\n")),
            None => {
                item.push_str(line);
                item.push('\n');
            }
        }
        if *line == "    parameters:" {
            item.push_str(version_ref);
        }
        // A version HubSpot has not released is its 404: every operation may answer it.
        if *line == "      responses:" && !answers_404(&body[at + 1..]) {
            item.push_str("        '404': {$ref: '#/components/responses/NotFound'}\n");
        }
    }
    item
}

/// Whether the responses that start `lines` (up to the next key of the operation or path
/// item) include a 404.
fn answers_404(lines: &[&str]) -> bool {
    lines
        .iter()
        .take_while(|l| l.is_empty() || l.starts_with("        "))
        .any(|l| l.starts_with("        '404':"))
}

fn version_parameter() -> String {
    let versions: Vec<&str> = ApiVersion::DATED.iter().map(|v| v.segment()).collect();
    format!(
        "    ApiVersion:\n      name: version\n      in: path\n      required: true\n      \
         description: HubSpot's date version (`v3` paths are described separately).\n      \
         schema:\n        type: string\n        enum: ['{}']\n",
        versions.join("', '")
    )
}

pub async fn serve() -> Response {
    let mut response = (StatusCode::OK, description()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_twins_follow_the_version_routing() {
        assert_eq!(
            dated_twin("/crm/v3/objects/{objectType}/batch/read").as_deref(),
            Some("/crm/objects/{version}/{objectType}/batch/read")
        );
        assert_eq!(
            dated_twin("/crm/v4/objects/calls/{callId}/associations/{toObjectType}").as_deref(),
            Some("/crm/objects/{version}/calls/{callId}/associations/{toObjectType}")
        );
        assert_eq!(
            dated_twin("/crm/v3/schemas/calls").as_deref(),
            Some("/crm-object-schemas/{version}/schemas/calls")
        );
        assert_eq!(dated_twin("/crm/v3/objects/calls/gdpr-delete"), None);
        assert_eq!(
            dated_twin("/crm/v3/objects/calls/{callId}/associations/{toObjectType}"),
            None
        );
        assert_eq!(dated_twin("/properties/v2/calls/properties"), None);
        // Every twin routes back to the legacy path it came from.
        for (legacy, _) in DATED_PREFIXES {
            let sample = match legacy.ends_with('/') {
                true => format!("{legacy}x"),
                false => format!("{legacy}/x"),
            };
            let twin = dated_twin(&sample).unwrap().replace("{version}", "2026-03");
            let back = super::super::version::legacy_twin(&twin).map(|t| t.1);
            assert!(back.is_some(), "{twin} is routed");
        }
    }

    #[test]
    fn the_description_has_each_dated_path_once_and_unique_operation_ids() {
        let text = description();
        assert!(text.contains("\n  /crm/objects/{version}/{objectType}:\n"));
        assert!(text.contains("\n  /crm/owners/{version}:\n"));
        assert!(text.contains("\n    ApiVersion:\n"));
        let mut ids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("      operationId: "))
            .collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique");
        assert!(ids.contains(&"searchCallsOfTypeDated"), "{ids:?}");
        // Each dated operation documents the 404 of an unknown version, once.
        let owners = text
            .split("\n  /crm/owners/{version}:\n")
            .nth(1)
            .and_then(|rest| rest.split("\n  /").next())
            .unwrap_or("");
        assert_eq!(owners.matches("'404':").count(), 1, "{owners}");
        let mut paths: Vec<&str> = text.lines().filter_map(path_key).collect();
        let count = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), count, "paths are unique");
    }
}
