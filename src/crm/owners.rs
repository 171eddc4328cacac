//! Owners: the users (and queues) records are assigned to through `hubspot_owner_id`.
//!
//! HubSpot creates owners from the account's users and its owners API only reads them, so
//! hubcalls takes a portal's owners from its configuration (`[[owners]]`) and keeps them in
//! memory, unchanged while the server runs. The rules here answer the owners API and check
//! owner-valued properties on writes.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Deserializer};

use super::properties::{PropertyDefinition, PropertyProblem};
use super::record::PortalId;
use super::time::{now_millis, parse_datetime, EpochMillis};

/// The scopes that grant reading owners (HubSpot's `crm.objects.owners.read`).
pub const READ_SCOPES: &[&str] = &["crm.objects.owners.read"];
/// The largest page of owners HubSpot serves.
pub const MAX_OWNER_PAGE: usize = 500;
/// The page size when a client asks for none.
pub const DEFAULT_OWNER_PAGE: usize = 100;

/// One `[[owners]]` entry of the configuration file. Field names are HubSpot's (`firstName`,
/// `userId`); snake_case spellings are accepted too, like the rest of the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerSettings {
    pub portal: PortalId,
    /// The owner id, the value `hubspot_owner_id` takes (a number, or a string of digits).
    pub id: Digits,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default, alias = "first_name")]
    pub first_name: Option<String>,
    #[serde(default, alias = "last_name")]
    pub last_name: Option<String>,
    /// The HubSpot user behind the owner (none for a queue).
    #[serde(default, alias = "user_id")]
    pub user_id: Option<u64>,
    /// `PERSON` (the default) or `QUEUE`.
    #[serde(default, rename = "type")]
    pub owner_type: Option<String>,
    /// A deactivated user's owner: listed only with `archived=true`.
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub teams: Vec<TeamSettings>,
    /// ISO 8601; the time the server started when absent.
    #[serde(default, alias = "created_at")]
    pub created_at: Option<String>,
    #[serde(default, alias = "updated_at")]
    pub updated_at: Option<String>,
}

/// A team an owner belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSettings {
    pub id: Digits,
    pub name: String,
    #[serde(default)]
    pub primary: bool,
}

/// A numeric id written as a TOML integer or as a string of digits (HubSpot prints ids as
/// strings, operators often type numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits(pub u64);

impl<'de> Deserialize<'de> for Digits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(Digits(n)),
            Raw::Text(text) => {
                text.trim().parse().map(Digits).map_err(|_| {
                    serde::de::Error::custom(format!("\"{text}\" is not a numeric id"))
                })
            }
        }
    }
}

/// An owner as the owners API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub id: u64,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub user_id: Option<u64>,
    pub owner_type: &'static str,
    pub archived: bool,
    pub teams: Vec<Team>,
    pub created_at: EpochMillis,
    pub updated_at: EpochMillis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: u64,
    pub name: String,
    pub primary: bool,
}

/// How `GET /crm/v3/owners/{ownerId}` reads its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKey {
    Id,
    UserId,
}

/// What a page of the owners list asks for.
#[derive(Debug, Clone, Default)]
pub struct OwnerQuery {
    pub email: Option<String>,
    /// The first owner id of the page (`paging.next.after` of the previous one).
    pub after: u64,
    pub limit: usize,
    pub archived: bool,
}

/// A page of owners and the id the next page starts at.
#[derive(Debug)]
pub struct OwnerPage<'a> {
    pub owners: Vec<&'a Owner>,
    pub next_after: Option<u64>,
}

/// One portal's owners, in id order.
#[derive(Debug, Default)]
pub struct PortalOwners {
    owners: Vec<Owner>,
}

impl PortalOwners {
    /// Whether the portal has owners configured: only then are owner values checked, so a
    /// portal without any keeps accepting any numeric owner id, as hubcalls always did.
    pub fn is_configured(&self) -> bool {
        !self.owners.is_empty()
    }

    pub fn page(&self, query: &OwnerQuery) -> OwnerPage<'_> {
        let limit = query.limit.clamp(1, MAX_OWNER_PAGE);
        let mut matching = self.owners.iter().filter(|owner| {
            owner.id >= query.after
                && owner.archived == query.archived
                && query.email.as_deref().is_none_or(|email| {
                    owner
                        .email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
                })
        });
        let owners: Vec<&Owner> = matching.by_ref().take(limit).collect();
        let next_after = matching.next().map(|owner| owner.id);
        OwnerPage { owners, next_after }
    }

    /// The owner with this id (or user id); `archived` asks for archived owners only.
    pub fn get(&self, key: OwnerKey, id: u64, archived: bool) -> Option<&Owner> {
        self.owners.iter().find(|owner| {
            owner.archived == archived
                && match key {
                    OwnerKey::Id => owner.id == id,
                    OwnerKey::UserId => owner.user_id == Some(id),
                }
        })
    }

    /// Checks a value written to an owner property (`referencedObjectType: OWNER`, such as
    /// `hubspot_owner_id`): once the portal has owners, it must be one of their ids. Archived
    /// owners count: HubSpot accepts them on records (seen live by a third party, see
    /// `docs/compatibility.md`). The empty string clears and is always fine.
    pub fn screen(
        &self,
        def: Option<&PropertyDefinition>,
        raw: &str,
    ) -> Result<(), PropertyProblem> {
        let is_owner_property =
            def.is_some_and(|d| d.referenced_object_type.as_deref() == Some("OWNER"));
        if !is_owner_property || !self.is_configured() || raw.is_empty() {
            return Ok(());
        }
        let known = raw
            .parse::<u64>()
            .is_ok_and(|id| self.owners.iter().any(|owner| owner.id == id));
        if known {
            return Ok(());
        }
        let name = def.map(|d| d.name.clone()).unwrap_or_default();
        Err(PropertyProblem {
            name,
            code: "INVALID_OWNER_ID",
            // HubSpot's words for an unknown owner id (a live answer quoted in `docs/compatibility.md`).
            message: format!("{raw} was not a valid owner ID"),
        })
    }
}

/// Every portal's owners.
#[derive(Debug, Default)]
pub struct Owners {
    portals: HashMap<PortalId, PortalOwners>,
    none: PortalOwners,
}

impl Owners {
    /// Checks the configured owners and builds the directory; the message says what is wrong.
    pub fn from_settings(settings: Vec<OwnerSettings>) -> Result<Self, String> {
        let started = now_millis();
        let mut portals: HashMap<PortalId, PortalOwners> = HashMap::new();
        let mut seen: HashSet<(PortalId, u64)> = HashSet::new();
        let mut users: HashSet<(PortalId, u64)> = HashSet::new();
        for entry in settings {
            let id = entry.id.0;
            let context = || format!("owner {id} of portal {}", entry.portal);
            if id == 0 {
                return Err(format!("{}: ids start at 1", context()));
            }
            if !seen.insert((entry.portal, id)) {
                return Err(format!("{}: the id is configured twice", context()));
            }
            if let Some(user) = entry.user_id {
                if !users.insert((entry.portal, user)) {
                    return Err(format!(
                        "{}: userId {user} belongs to another owner of the portal",
                        context()
                    ));
                }
            }
            let owner_type = match entry.owner_type.as_deref().map(str::to_ascii_uppercase) {
                None => "PERSON",
                Some(t) if t == "PERSON" => "PERSON",
                Some(t) if t == "QUEUE" => "QUEUE",
                Some(other) => {
                    return Err(format!(
                        "{}: type \"{other}\" is neither PERSON nor QUEUE",
                        context()
                    ))
                }
            };
            let instant = |field: &str, text: &Option<String>| match text {
                None => Ok(None),
                Some(text) => parse_datetime(text).map(Some).ok_or_else(|| {
                    format!(
                        "{}: {field} \"{text}\" is not an ISO 8601 instant",
                        context()
                    )
                }),
            };
            let created_at = instant("createdAt", &entry.created_at)?.unwrap_or(started);
            let updated_at = instant("updatedAt", &entry.updated_at)?.unwrap_or(created_at);
            if entry.teams.iter().filter(|t| t.primary).count() > 1 {
                return Err(format!("{}: at most one team can be primary", context()));
            }
            let owner = Owner {
                id,
                email: entry.email.filter(|e| !e.trim().is_empty()),
                first_name: entry.first_name,
                last_name: entry.last_name,
                user_id: entry.user_id,
                owner_type,
                archived: entry.archived,
                teams: entry
                    .teams
                    .into_iter()
                    .map(|t| Team {
                        id: t.id.0,
                        name: t.name,
                        primary: t.primary,
                    })
                    .collect(),
                created_at,
                updated_at,
            };
            portals.entry(entry.portal).or_default().owners.push(owner);
        }
        for portal in portals.values_mut() {
            portal.owners.sort_by_key(|owner| owner.id);
        }
        Ok(Self {
            portals,
            none: PortalOwners::default(),
        })
    }

    /// A portal's owners (none when it has no `[[owners]]` entries).
    pub fn portal(&self, portal: PortalId) -> &PortalOwners {
        self.portals.get(&portal).unwrap_or(&self.none)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(toml_text: &str) -> Result<Owners, String> {
        #[derive(Deserialize)]
        struct File {
            owners: Vec<OwnerSettings>,
        }
        let file: File = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        Owners::from_settings(file.owners)
    }

    const TWO: &str = r#"
        [[owners]]
        portal = 1
        id = "41629779"
        email = "ada@example.com"
        firstName = "Ada"
        last_name = "Lovelace"
        userId = 9586504
        teams = [{ id = 178588, name = "West Coast Sales", primary = true }]

        [[owners]]
        portal = 1
        id = 7
        email = "gone@example.com"
        archived = true
        user_id = 11
    "#;

    #[test]
    fn entries_parse_in_both_spellings() {
        let owners = owners(TWO).unwrap();
        let portal = owners.portal(1);
        let ada = portal.get(OwnerKey::Id, 41_629_779, false).unwrap();
        assert_eq!(ada.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(ada.teams[0].id, 178_588);
        assert_eq!(ada.owner_type, "PERSON");
        assert_eq!(
            portal.get(OwnerKey::UserId, 9_586_504, false).map(|o| o.id),
            Some(41_629_779)
        );
        assert!(portal.get(OwnerKey::Id, 7, false).is_none(), "archived");
        assert!(portal.get(OwnerKey::Id, 7, true).is_some());
        assert!(!owners.portal(2).is_configured());
    }

    #[test]
    fn pages_follow_ids_and_filters() {
        let owners = owners(TWO).unwrap();
        let portal = owners.portal(1);
        let all = portal.page(&OwnerQuery {
            limit: 100,
            ..OwnerQuery::default()
        });
        assert_eq!(all.owners.len(), 1);
        let archived = portal.page(&OwnerQuery {
            limit: 100,
            archived: true,
            ..OwnerQuery::default()
        });
        assert_eq!(archived.owners[0].id, 7);
        let by_email = portal.page(&OwnerQuery {
            limit: 100,
            email: Some("ADA@example.com".to_owned()),
            ..OwnerQuery::default()
        });
        assert_eq!(by_email.owners.len(), 1);
    }

    #[test]
    fn bad_entries_are_named() {
        let twice = "[[owners]]\nportal = 1\nid = 5\n[[owners]]\nportal = 1\nid = \"5\"";
        assert!(owners(twice).unwrap_err().contains("configured twice"));
        let kind = "[[owners]]\nportal = 1\nid = 5\ntype = \"ROBOT\"";
        assert!(owners(kind).unwrap_err().contains("PERSON nor QUEUE"));
        assert!(owners("[[owners]]\nportal = 1\nid = \"x1\"").is_err());
        assert!(owners("[[owners]]\nportal = 1\nid = 1\ncolour = \"red\"").is_err());
    }
}
