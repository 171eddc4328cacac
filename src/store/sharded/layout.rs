//! Which shard holds which portal: the shards a configuration declares, and the rule that
//! places every portal on exactly one of them.
//!
//! The rule: a portal listed in a shard's `portals` lives there; every other portal lives on
//! the default shard. Placement is explicit rather than a hash of the portal id on purpose:
//! with a hash, adding a shard would re-route a share of the existing portals to a shard
//! that does not hold their data (they would look empty, and new writes would split them in
//! two). Here a portal's shard changes only when an operator lists it somewhere else, which
//! is the last step of moving it (`hubcalls move-portal`); adding a shard moves nothing.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use crate::crm::record::PortalId;
use crate::store::postgres::PostgresSettings;

use super::id_ranges::{IdRange, MAX_ID_RANGE};

/// One shard: a PostgreSQL database (or a schema of one) and the portals placed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardSettings {
    /// How operators, logs and metrics name the shard.
    pub name: String,
    pub postgres: PostgresSettings,
    /// The portals placed here explicitly.
    pub portals: Vec<PortalId>,
    /// The number of the shard's id range (see [`IdRange::numbered`]).
    pub id_range: u32,
}

impl ShardSettings {
    pub fn ids(&self) -> IdRange {
        IdRange::numbered(self.id_range)
    }
}

/// The shards and where each portal lives. Built only through [`ShardLayout::new`], which
/// checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLayout {
    shards: Vec<ShardSettings>,
    default_shard: usize,
    /// Portal -> index of the shard that lists it.
    placed: BTreeMap<PortalId, usize>,
    /// Portals being moved between shards: every request of theirs is refused (retryable)
    /// until the move is done and the configuration places them anew.
    moving: BTreeSet<PortalId>,
}

impl ShardLayout {
    /// Checks and builds a layout: at least one shard, names unique and fit for a metrics
    /// label, no portal listed twice, no database or id range used by two shards, the
    /// default shard (the first, unless named) one of them.
    pub fn new(
        shards: Vec<ShardSettings>,
        default_shard: Option<&str>,
        moving: Vec<PortalId>,
    ) -> Result<Self, String> {
        if shards.is_empty() {
            return Err("no shard is declared".to_owned());
        }
        let mut placed = BTreeMap::new();
        for (index, shard) in shards.iter().enumerate() {
            if !valid_shard_name(&shard.name) {
                return Err(format!(
                    "shard name {:?}: use 1 to 63 letters, digits, '_' or '-'",
                    shard.name
                ));
            }
            if shard.id_range > MAX_ID_RANGE {
                return Err(format!(
                    "shard {}: id_range {} is above the highest, {MAX_ID_RANGE}",
                    shard.name, shard.id_range
                ));
            }
            for earlier in &shards[..index] {
                if earlier.name == shard.name {
                    return Err(format!("two shards are named {:?}", shard.name));
                }
                if earlier.postgres.url == shard.postgres.url
                    && earlier.postgres.schema == shard.postgres.schema
                {
                    return Err(format!(
                        "shards {} and {} name the same database and schema",
                        earlier.name, shard.name
                    ));
                }
                if earlier.id_range == shard.id_range {
                    return Err(format!(
                        "shards {} and {} have the same id_range {}",
                        earlier.name, shard.name, shard.id_range
                    ));
                }
            }
            for &portal in &shard.portals {
                if let Some(other) = placed.insert(portal, index) {
                    let other = &shards[other].name;
                    return Err(if *other == shard.name {
                        format!("portal {portal} is listed twice on shard {other}")
                    } else {
                        format!(
                            "portal {portal} is listed on shards {other} and {}",
                            shard.name
                        )
                    });
                }
            }
        }
        let default_shard = match default_shard {
            None => 0,
            Some(name) => shards
                .iter()
                .position(|shard| shard.name == name)
                .ok_or_else(|| format!("the default shard {name:?} is not declared"))?,
        };
        Ok(Self {
            shards,
            default_shard,
            placed,
            moving: moving.into_iter().collect(),
        })
    }

    pub fn shards(&self) -> &[ShardSettings] {
        &self.shards
    }

    /// Index of the shard a portal lives on.
    pub fn shard_of(&self, portal: PortalId) -> usize {
        self.placed
            .get(&portal)
            .copied()
            .unwrap_or(self.default_shard)
    }

    /// Index of the shard named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.shards.iter().position(|shard| shard.name == name)
    }

    pub fn default_shard(&self) -> &ShardSettings {
        &self.shards[self.default_shard]
    }

    /// Whether the portal is being moved (every request of it refused for now).
    pub fn is_moving(&self, portal: PortalId) -> bool {
        self.moving.contains(&portal)
    }

    pub fn moving(&self) -> impl Iterator<Item = PortalId> + '_ {
        self.moving.iter().copied()
    }

    /// The same layout with each shard's connection settings changed by `change` (a
    /// command's own pool size and timeouts).
    pub fn with_postgres(mut self, mut change: impl FnMut(&mut PostgresSettings)) -> Self {
        for shard in &mut self.shards {
            change(&mut shard.postgres);
        }
        self
    }

    /// Where the shards are, for people: one line each, never credentials.
    pub fn describe(&self) -> Vec<String> {
        self.shards
            .iter()
            .enumerate()
            .map(|(index, shard)| {
                let mut placed = format!("{} listed portal(s)", shard.portals.len());
                if index == self.default_shard {
                    placed.push_str(" and every portal not listed elsewhere");
                }
                format!(
                    "shard {}: PostgreSQL {}, {placed}, ids from {}",
                    shard.name,
                    shard.postgres.describe(),
                    shard.ids().first
                )
            })
            .collect()
    }
}

/// A shard name goes into metrics labels and messages unquoted.
fn valid_shard_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(name: &str, schema: &str, id_range: u32, portals: &[PortalId]) -> ShardSettings {
        let mut postgres = PostgresSettings::new("postgres://db/hubcalls");
        postgres.schema = Some(schema.to_owned());
        ShardSettings {
            name: name.to_owned(),
            postgres,
            portals: portals.to_vec(),
            id_range,
        }
    }

    #[test]
    fn listed_portals_live_on_their_shard_and_the_rest_on_the_default() {
        let layout = ShardLayout::new(
            vec![shard("a", "a", 0, &[1]), shard("b", "b", 1, &[2, 3])],
            Some("b"),
            vec![9],
        )
        .unwrap();
        assert_eq!(layout.shard_of(1), 0);
        assert_eq!(layout.shard_of(3), 1);
        assert_eq!(layout.shard_of(77), 1, "unlisted: the default shard");
        assert!(layout.is_moving(9) && !layout.is_moving(1));
        let first_is_default = ShardLayout::new(
            vec![shard("a", "a", 0, &[]), shard("b", "b", 1, &[])],
            None,
            vec![],
        )
        .unwrap();
        assert_eq!(first_is_default.shard_of(5), 0);
    }

    #[test]
    fn inconsistent_layouts_are_refused() {
        let refused = |shards, default: Option<&str>| {
            ShardLayout::new(shards, default, Vec::new()).unwrap_err()
        };
        assert!(refused(vec![], None).contains("no shard"));
        assert!(
            refused(vec![shard("a", "a", 0, &[]), shard("a", "b", 1, &[])], None)
                .contains("two shards are named")
        );
        assert!(refused(
            vec![shard("a", "a", 0, &[4]), shard("b", "b", 1, &[4])],
            None
        )
        .contains("portal 4 is listed on shards a and b"));
        assert!(refused(vec![shard("a", "a", 0, &[4, 4])], None).contains("listed twice"));
        assert!(
            refused(vec![shard("a", "x", 0, &[]), shard("b", "x", 1, &[])], None)
                .contains("same database")
        );
        assert!(
            refused(vec![shard("a", "a", 2, &[]), shard("b", "b", 2, &[])], None)
                .contains("same id_range")
        );
        assert!(refused(vec![shard("a", "a", 0, &[])], Some("z")).contains("not declared"));
        assert!(refused(vec![shard("a b", "a", 0, &[])], None).contains("shard name"));
        assert!(refused(vec![shard("a", "a", MAX_ID_RANGE + 1, &[])], None).contains("id_range"));
    }
}
