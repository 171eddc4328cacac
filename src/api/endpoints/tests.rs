//! The endpoint table's own checks: every route declared once, operations consistent
//! across their paths, lookups by method and template.

use super::lookup::INDEX;
use super::*;

#[test]
fn every_route_is_declared_once() {
    for (i, a) in INDEX.iter().enumerate() {
        if let Some(b) = INDEX.get(i + 1) {
            assert!(
                (a.path, a.verb) != (b.path, b.verb),
                "{:?} {} twice",
                a.verb,
                a.path
            );
        }
    }
    assert_eq!(INDEX.len(), TABLE.len());
}

#[test]
fn an_operation_reads_or_writes_the_same_under_every_path() {
    for a in TABLE {
        for b in TABLE.iter().filter(|b| b.endpoint == a.endpoint) {
            assert_eq!((a.verb, a.access, a.scope), (b.verb, b.access, b.scope));
        }
    }
}

#[test]
fn typed_scopes_name_the_type_in_the_path() {
    for route in TABLE.iter().filter(|r| r.scope == Scope::PathType) {
        assert!(
            route.path.contains("{object_type}") || route.path.contains("{from_type}"),
            "{}",
            route.path
        );
    }
}

#[test]
fn routes_are_found_by_method_and_template() {
    let found = |m: Method, p: &str| lookup(&m, p).map(|r| r.endpoint);
    assert_eq!(
        found(Method::GET, "/crm/v3/objects/{object_type}/{call_id}"),
        Some(Endpoint::RecordGet)
    );
    assert_eq!(
        found(Method::HEAD, "/crm/v3/objects/{object_type}"),
        Some(Endpoint::RecordList)
    );
    assert_eq!(
        found(Method::POST, "/crm/v3/objects/{object_type}/search"),
        Some(Endpoint::Search)
    );
    assert_eq!(found(Method::PUT, "/crm/v3/objects/{object_type}"), None);
    assert_eq!(found(Method::GET, "/nothing"), None);
}
