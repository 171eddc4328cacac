//! Looking routes up per request: the table indexed by path and verb once, the operation a
//! matched route serves, and the scopes a request needs.

use std::sync::LazyLock;

use axum::http::Method;

use super::{Access, Route, Scope, Verb, TABLE};
use crate::crm::objects::{ObjectType, SCHEMA_READ_SCOPES, SCHEMA_WRITE_SCOPES};
use crate::crm::owners;

/// The scopes a request needs, any one of which suffices: one or two lists, so that no
/// request allocates for its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeNeed(&'static [&'static str], &'static [&'static str]);

impl ScopeNeed {
    fn one(scopes: &'static [&'static str]) -> Self {
        Self(scopes, &[])
    }

    pub fn any(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().chain(self.1).copied()
    }
}

/// A table row as looked up per request: sorted by path and verb, with the place of the
/// path's object type found once.
pub(super) struct Indexed {
    pub(super) path: &'static str,
    pub(super) verb: Verb,
    /// The index of the `{object_type}` / `{from_type}` segment in the path split at `/`.
    type_segment: Option<usize>,
    route: &'static Route,
}

pub(super) static INDEX: LazyLock<Vec<Indexed>> = LazyLock::new(|| {
    let mut index: Vec<Indexed> = TABLE
        .iter()
        .map(|route| Indexed {
            path: route.path,
            verb: route.verb,
            type_segment: route
                .path
                .split('/')
                .position(|s| s == "{object_type}" || s == "{from_type}"),
            route,
        })
        .collect();
    index.sort_by(|a, b| (a.path, a.verb).cmp(&(b.path, b.verb)));
    index
});

/// The operation serving `method` at the route `matched` (the path template the router
/// matched), if any.
pub fn lookup(method: &Method, matched: &str) -> Option<&'static Route> {
    let verb = Verb::of(method)?;
    INDEX
        .binary_search_by(|row| (row.path, row.verb).cmp(&(matched, verb)))
        .ok()
        .map(|at| INDEX[at].route)
}

/// What a request needs from its token: `matched` is the route template the router matched
/// (none for a path no route has), `path` the (legacy) path requested, whose object type
/// segment picks the scopes.
///
/// A method no operation of a matched route serves (a 405 after the check) is checked as
/// the route's other operations are, reading or writing by its method; a path no route has
/// (a 404 after the check) needs the contacts scopes, as the engagements do.
pub fn required_scopes(method: &Method, matched: Option<&str>, path: &str) -> ScopeNeed {
    let Some(matched) = matched else {
        return ScopeNeed::one(Access::of_method(method).scopes(ObjectType::CONTACTS));
    };
    let first = INDEX.partition_point(|row| row.path < matched);
    let Some(same_path) = INDEX.get(first).filter(|row| row.path == matched) else {
        return ScopeNeed::one(Access::of_method(method).scopes(ObjectType::CONTACTS));
    };
    let served = Verb::of(method).and_then(|verb| {
        INDEX[first..]
            .iter()
            .take_while(|row| row.path == matched)
            .find(|row| row.verb == verb)
    });
    let (row, access) = match served {
        Some(row) => (row, row.route.access),
        None => (same_path, Access::of_method(method)),
    };
    let named = row
        .type_segment
        .and_then(|at| path.split('/').nth(at))
        .map(|named| ObjectType::parse(named).unwrap_or(ObjectType::CONTACTS));
    match (row.route.scope, access) {
        (Scope::PathType, access) => {
            ScopeNeed::one(access.scopes(named.unwrap_or(ObjectType::CONTACTS)))
        }
        (Scope::Owners, _) => ScopeNeed::one(owners::READ_SCOPES),
        (Scope::Schemas, Access::Write) => ScopeNeed::one(SCHEMA_WRITE_SCOPES),
        (Scope::Schemas, Access::Read) => match named {
            Some(object_type) => ScopeNeed(object_type.read_scopes, SCHEMA_READ_SCOPES),
            None => ScopeNeed::one(SCHEMA_READ_SCOPES),
        },
    }
}
