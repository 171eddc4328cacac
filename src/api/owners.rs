//! The owners API: `GET /crm/v3/owners` and `GET /crm/v3/owners/{ownerId}`, read-only, from
//! the portal's configured owners.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde::Serialize;

use crate::crm::owners::{Owner, OwnerKey, OwnerQuery, DEFAULT_OWNER_PAGE};

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::query::QueryParams;
use super::wire::{instant, NextPage, Paging};
use super::{AppState, PathParams};

/// HubSpot's `PublicOwner`, fields in the order of its documented example.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicOwner<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(rename = "type")]
    owner_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<&'a str>,
    /// `null` for a deactivated user, whose id then shows in `userIdIncludingInactive` only.
    user_id: Option<u64>,
    user_id_including_inactive: Option<u64>,
    created_at: String,
    updated_at: String,
    archived: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    teams: Vec<PublicTeam<'a>>,
}

#[derive(Debug, Serialize)]
struct PublicTeam<'a> {
    id: String,
    name: &'a str,
    primary: bool,
}

impl<'a> From<&'a Owner> for PublicOwner<'a> {
    fn from(owner: &'a Owner) -> Self {
        Self {
            id: owner.id.to_string(),
            email: owner.email.as_deref(),
            owner_type: owner.owner_type,
            first_name: owner.first_name.as_deref(),
            last_name: owner.last_name.as_deref(),
            user_id: owner.user_id.filter(|_| !owner.archived),
            user_id_including_inactive: owner.user_id,
            created_at: instant(owner.created_at),
            updated_at: instant(owner.updated_at),
            archived: owner.archived,
            teams: owner
                .teams
                .iter()
                .map(|team| PublicTeam {
                    id: team.id.to_string(),
                    name: &team.name,
                    primary: team.primary,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct OwnerCollection<'a> {
    results: Vec<PublicOwner<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
}

/// `GET /crm/v3/owners`: `email`, `after`, `limit` (default 100, clamped to 1..500, as the
/// object lists clamp theirs) and `archived` (only archived owners).
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = QueryParams::parse(raw.as_deref());
    let after = match query.get("after").map(str::trim) {
        None | Some("") => 0,
        Some(after) => after.parse().map_err(|_| {
            ApiError::validation(format!(
                "Invalid value \"{after}\" for query parameter \"after\": expected the id of the next owner, as returned in paging.next.after"
            ))
        })?,
    };
    let limit = query.number("limit")?.map_or(DEFAULT_OWNER_PAGE, |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    });
    let owner_query = OwnerQuery {
        email: query
            .get("email")
            .map(str::to_owned)
            .filter(|e| !e.is_empty()),
        after,
        limit,
        archived: query.flag("archived", false)?,
    };
    let owners = state.services.records.owners().portal(principal.portal);
    let page = owners.page(&owner_query);
    let paging = page.next_after.map(|next| {
        let after = next.to_string();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Paging {
            next: NextPage {
                link: Some(format!(
                    "http://{host}{}?{}",
                    uri.path(),
                    query.with("after", &after)
                )),
                after,
            },
        }
    });
    let body = OwnerCollection {
        results: page.owners.into_iter().map(PublicOwner::from).collect(),
        paging,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /crm/v3/owners/{ownerId}`: by owner id, or by user id with `idProperty=userId`.
pub async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(owner_id): PathParams<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = QueryParams::parse(raw.as_deref());
    let key = match query.get("idProperty") {
        None | Some("id") => OwnerKey::Id,
        Some("userId") => OwnerKey::UserId,
        Some(other) => {
            return Err(ApiError::validation(format!(
            "Invalid value \"{other}\" for query parameter \"idProperty\": expected id or userId"
        )))
        }
    };
    let archived = query.flag("archived", false)?;
    let owners = state.services.records.owners().portal(principal.portal);
    let owner = owner_id
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|id| owners.get(key, id, archived))
        .ok_or_else(|| {
            let by = match key {
                OwnerKey::Id => "id",
                OwnerKey::UserId => "userId",
            };
            ApiError::not_found(format!("No owner with {by} {owner_id} exists"))
                .with_context(vec![("ownerId".to_owned(), vec![owner_id.clone()])])
        })?;
    Ok(json_response(StatusCode::OK, &PublicOwner::from(owner)))
}
