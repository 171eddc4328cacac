//! Webhooks as HubSpot sends them: per-portal subscriptions (target URL, app id, client
//! secret; generic `object.*` subscription types for any object type, and HubSpot's legacy
//! `contact.*`, `company.*`, … types), events batched into JSON arrays, signed
//! (`X-HubSpot-Signature-v3`), and retried with back-off.
//!
//! Committed changes arrive from the store wrapper in `crm::webhooks` ([`ChangeSink`]);
//! they are matched against the portal's subscriptions and turned into HubSpot's event
//! objects right away, then queued; [`delivery`] sends them from its own tasks, so a request
//! never waits for a receiver.

pub mod delivery;
pub mod signature;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::http::Uri;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::crm::associations::AssociationPair;
use crate::crm::objects::{association_definitions, ObjectType, Partition};
use crate::crm::record::PortalId;
use crate::crm::webhooks::{Change, ChangeKind, ChangeSink};

pub use delivery::DeliverySettings;

/// The events hubcalls emits, by the suffix of their subscription type (`object.creation`,
/// `contact.creation`, …).
const EVENT_KINDS: [(&str, ChangeKind); 4] = [
    ("creation", ChangeKind::Creation),
    ("propertyChange", ChangeKind::PropertyChange),
    ("deletion", ChangeKind::Deletion),
    ("associationChange", ChangeKind::AssociationChange),
];

/// The objects HubSpot's legacy subscription types name (`contact.creation`, …: the
/// webhooks v3 spec's `eventType` enum); other types exist only as generic `object.*`
/// subscriptions with an `objectTypeId` (calls, notes, emails, meetings, tasks).
const LEGACY_OBJECTS: [(&str, ObjectType); 6] = [
    ("contact", ObjectType::CONTACTS),
    ("company", ObjectType::COMPANIES),
    ("deal", ObjectType::DEALS),
    ("ticket", ObjectType::TICKETS),
    ("product", ObjectType::PRODUCTS),
    ("line_item", ObjectType::LINE_ITEMS),
];

/// What a subscription type names: the kind of change, and the object type of a legacy
/// type (`None` for a generic `object.*` one, whose type is its `objectTypeId`).
fn parse_subscription_type(text: &str) -> Option<(ChangeKind, Option<ObjectType>)> {
    let (object, event) = text.split_once('.')?;
    let kind = EVENT_KINDS
        .iter()
        .find(|(name, _)| *name == event)
        .map(|(_, kind)| *kind)?;
    if object == "object" {
        return Some((kind, None));
    }
    let (_, object_type) = LEGACY_OBJECTS.iter().find(|(name, _)| *name == object)?;
    Some((kind, Some(*object_type)))
}

fn default_true() -> bool {
    true
}

fn default_max_concurrent() -> usize {
    10
}

/// One subscription as configured (TOML in snake_case, admin API in HubSpot's camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionSettings {
    #[serde(alias = "subscription_type")]
    pub subscription_type: String,
    /// For `object.propertyChange`: the one property it reports (all properties if absent).
    #[serde(default, alias = "property_name")]
    pub property_name: Option<String>,
    /// The object type of a generic `object.*` subscription (`0-1`, or a name such as
    /// `contacts`); calls (`0-48`) when absent, as before other types could be subscribed.
    /// For a legacy type (`contact.creation`) it may only repeat that type.
    #[serde(default, alias = "object_type_id")]
    pub object_type_id: Option<String>,
    #[serde(default = "default_true")]
    pub active: bool,
}

/// The webhook settings of one portal: where events go, as which app, signed with which
/// secret, and the subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSettings {
    /// Required in the config file; in the admin API the path names the portal.
    #[serde(default)]
    pub portal: Option<PortalId>,
    #[serde(alias = "target_url")]
    pub target_url: String,
    #[serde(alias = "app_id")]
    pub app_id: u64,
    #[serde(alias = "client_secret")]
    pub client_secret: String,
    /// Requests sent to the target at once (HubSpot's `maxConcurrentRequests`).
    #[serde(default = "default_max_concurrent", alias = "max_concurrent_requests")]
    pub max_concurrent_requests: usize,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSettings>,
}

/// A subscription with the id events carry as `subscriptionId`.
#[derive(Debug)]
struct Subscription {
    id: u64,
    kind: ChangeKind,
    /// The records whose changes it reports.
    object_type: ObjectType,
    /// A legacy type (`contact.creation`): its events carry no `objectTypeId`.
    legacy: bool,
    settings: SubscriptionSettings,
}

impl Subscription {
    fn wants(&self, object_type: ObjectType, kind: ChangeKind) -> bool {
        self.settings.active && self.kind == kind && self.object_type == object_type
    }
}

/// A portal's validated webhook settings, as deliveries use them.
#[derive(Debug)]
pub struct PortalHook {
    pub portal: PortalId,
    /// Distinguishes settings that replaced each other, so batches never mix them.
    pub generation: u64,
    pub target: Uri,
    pub target_text: String,
    pub app_id: u64,
    pub client_secret: String,
    pub concurrency: Arc<tokio::sync::Semaphore>,
    max_concurrent_requests: usize,
    subscriptions: Vec<Subscription>,
}

impl PortalHook {
    fn wants(&self, object_type: ObjectType, kind: ChangeKind) -> bool {
        self.subscriptions
            .iter()
            .any(|s| s.wants(object_type, kind))
    }

    /// The view the admin API shows.
    pub fn view(&self) -> Value {
        let subscriptions: Vec<Value> = self
            .subscriptions
            .iter()
            .map(|s| {
                let mut view = json!({
                    "id": s.id,
                    "subscriptionType": s.settings.subscription_type,
                    "objectTypeId": s.object_type.type_id,
                    "active": s.settings.active,
                });
                if let Some(name) = &s.settings.property_name {
                    view["propertyName"] = json!(name);
                }
                view
            })
            .collect();
        json!({
            "portalId": self.portal,
            "targetUrl": self.target_text,
            "appId": self.app_id,
            "clientSecret": self.client_secret,
            "maxConcurrentRequests": self.max_concurrent_requests,
            "subscriptions": subscriptions,
        })
    }
}

/// Ids shared by every portal: subscription ids and event ids are unique in a server.
#[derive(Debug)]
struct Counters {
    subscription: AtomicU64,
    generation: AtomicU64,
    event: AtomicU64,
}

impl WebhookSettings {
    /// Checks the settings and gives each subscription an id; the message says what is wrong.
    fn validate(self, portal: PortalId, counters: &Counters) -> Result<PortalHook, String> {
        let target: Uri = self
            .target_url
            .parse()
            .map_err(|e| format!("targetUrl {:?} is not a URL: {e}", self.target_url))?;
        match target.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "targetUrl {:?}: hubcalls delivers webhooks over plain http only (a local or test receiver); use an http:// URL",
                    self.target_url
                ))
            }
            _ => {
                return Err(format!(
                    "targetUrl {:?} must be an absolute http:// URL",
                    self.target_url
                ))
            }
        }
        if target.host().is_none_or(str::is_empty) {
            return Err(format!("targetUrl {:?} has no host", self.target_url));
        }
        if self.client_secret.is_empty() {
            return Err("clientSecret must not be empty: it signs every request".to_owned());
        }
        if self.max_concurrent_requests == 0 {
            return Err("maxConcurrentRequests must be at least 1".to_owned());
        }
        let mut subscriptions = Vec::with_capacity(self.subscriptions.len());
        for settings in self.subscriptions {
            let (kind, object_type, legacy) = subscription_target(&settings)?;
            subscriptions.push(Subscription {
                id: counters.subscription.fetch_add(1, Ordering::Relaxed),
                kind,
                object_type,
                legacy,
                settings,
            });
        }
        Ok(PortalHook {
            portal,
            generation: counters.generation.fetch_add(1, Ordering::Relaxed),
            target,
            target_text: self.target_url,
            app_id: self.app_id,
            client_secret: self.client_secret,
            concurrency: Arc::new(tokio::sync::Semaphore::new(self.max_concurrent_requests)),
            max_concurrent_requests: self.max_concurrent_requests,
            subscriptions,
        })
    }
}

/// What a configured subscription reports: the kind of change, the object type, and
/// whether it is a legacy type. The message says what is wrong.
fn subscription_target(
    settings: &SubscriptionSettings,
) -> Result<(ChangeKind, ObjectType, bool), String> {
    let name = &settings.subscription_type;
    let (kind, legacy_type) = parse_subscription_type(name).ok_or_else(|| {
        let events: Vec<&str> = EVENT_KINDS.iter().map(|(e, _)| *e).collect();
        let objects: Vec<&str> = LEGACY_OBJECTS.iter().map(|(o, _)| *o).collect();
        format!(
            "subscriptionType {name:?} is not one hubcalls emits; use object.<event> with an objectTypeId, or <object>.<event> for {}, where <event> is one of {}",
            objects.join(", "),
            events.join(", ")
        )
    })?;
    let named = match &settings.object_type_id {
        None => None,
        Some(text) => Some(ObjectType::parse(text).ok_or_else(|| {
            format!("objectTypeId {text:?} names no object type hubcalls serves")
        })?),
    };
    let object_type = match (legacy_type, named) {
        (Some(legacy), Some(named)) if legacy != named => {
            return Err(format!(
                "objectTypeId {:?} contradicts {name}, which is about {}",
                settings.object_type_id.as_deref().unwrap_or_default(),
                legacy.plural
            ))
        }
        (Some(legacy), _) => legacy,
        // Before other types could be subscribed, a generic subscription without an
        // objectTypeId meant calls; it still does.
        (None, named) => named.unwrap_or(ObjectType::CALLS),
    };
    if settings.property_name.is_some() && kind != ChangeKind::PropertyChange {
        return Err(format!(
            "propertyName is only for propertyChange subscriptions, not {name}"
        ));
    }
    // HubSpot's legacy product type has no association changes.
    if legacy_type == Some(ObjectType::PRODUCTS) && kind == ChangeKind::AssociationChange {
        return Err(format!("{name} is not a HubSpot subscription type"));
    }
    Ok((kind, object_type, legacy_type.is_some()))
}

/// The webhook machinery of a server: subscriptions of every portal and the deliverer.
#[derive(Clone)]
pub struct Webhooks {
    hooks: Arc<RwLock<HashMap<PortalId, Arc<PortalHook>>>>,
    counters: Arc<Counters>,
    deliverer: delivery::Deliverer,
}

impl Webhooks {
    /// Starts the deliverer (on the current Tokio runtime) with the configured portals.
    pub fn start(
        settings: DeliverySettings,
        portals: Vec<WebhookSettings>,
    ) -> Result<Self, String> {
        let webhooks = Self {
            hooks: Arc::default(),
            counters: Arc::new(Counters {
                subscription: AtomicU64::new(1),
                generation: AtomicU64::new(1),
                // Event ids look like HubSpot's (large numbers) and differ between runs.
                event: AtomicU64::new(u64::from(rand::random::<u32>()) + 1),
            }),
            deliverer: delivery::Deliverer::start(settings),
        };
        for portal_settings in portals {
            let portal = portal_settings
                .portal
                .ok_or("every [[webhooks]] entry needs a portal")?;
            webhooks
                .put(portal, portal_settings)
                .map_err(|e| format!("webhooks of portal {portal}: {e}"))?;
        }
        Ok(webhooks)
    }

    /// Sets (or replaces) a portal's webhook settings.
    pub fn put(&self, portal: PortalId, settings: WebhookSettings) -> Result<Value, String> {
        if settings.portal.is_some_and(|p| p != portal) {
            return Err(format!(
                "portal {} in the body differs from portal {portal} in the path",
                settings.portal.unwrap_or_default()
            ));
        }
        let hook = Arc::new(settings.validate(portal, &self.counters)?);
        let view = hook.view();
        self.write_hooks().insert(portal, hook);
        Ok(view)
    }

    pub fn get(&self, portal: PortalId) -> Option<Arc<PortalHook>> {
        self.read_hooks().get(&portal).cloned()
    }

    /// Removes a portal's webhook settings; whether it had any.
    pub fn remove(&self, portal: PortalId) -> bool {
        self.write_hooks().remove(&portal).is_some()
    }

    pub fn deliverer(&self) -> &delivery::Deliverer {
        &self.deliverer
    }

    // A panic while holding the lock cannot leave the map half-written (every write is a
    // single insert or remove), so a poisoned lock is still safe to use.
    fn read_hooks(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PortalId, Arc<PortalHook>>> {
        self.hooks.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_hooks(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PortalId, Arc<PortalHook>>> {
        self.hooks.write().unwrap_or_else(|e| e.into_inner())
    }

    fn next_event_id(&self) -> u64 {
        self.counters.event.fetch_add(1, Ordering::Relaxed)
    }
}

/// `changeSource` and `sourceId` of a write through the API by a private app.
fn source_fields(event: &mut Map<String, Value>, source_type: &str, source_id: Option<&str>) {
    event.insert("changeSource".to_owned(), json!(source_type));
    if let Some(id) = source_id {
        event.insert("sourceId".to_owned(), json!(id));
    }
}

impl ChangeSink for Webhooks {
    fn wants(&self, partition: Partition, kind: ChangeKind) -> bool {
        self.read_hooks()
            .get(&partition.portal)
            .is_some_and(|hook| hook.wants(partition.object_type, kind))
    }

    fn publish(&self, partition: Partition, changes: Vec<Change>) {
        let Some(hook) = self.get(partition.portal) else {
            return;
        };
        let mut events = Vec::new();
        for change in &changes {
            let kind = match change {
                Change::Created { .. } => ChangeKind::Creation,
                Change::PropertyChanged { .. } => ChangeKind::PropertyChange,
                Change::Deleted { .. } => ChangeKind::Deletion,
                Change::AssociationChanged { .. } => ChangeKind::AssociationChange,
            };
            for subscription in &hook.subscriptions {
                if !subscription.wants(partition.object_type, kind) {
                    continue;
                }
                if let (Change::PropertyChanged { name, .. }, Some(wanted)) =
                    (change, &subscription.settings.property_name)
                {
                    if name != wanted {
                        continue;
                    }
                }
                events.push(self.event(&hook, subscription, change));
            }
        }
        if !events.is_empty() {
            self.deliverer.enqueue(&hook, events);
        }
    }
}

impl Webhooks {
    /// One event object, fields in the order HubSpot sends them; `attemptNumber` is set
    /// again on every attempt. Generic (`object.*`) events name the record's type in
    /// `objectTypeId`; legacy ones (`contact.creation`) do not, as HubSpot's do not.
    fn event(
        &self,
        hook: &PortalHook,
        subscription: &Subscription,
        change: &Change,
    ) -> Map<String, Value> {
        let at = match change {
            Change::Created { at, .. }
            | Change::PropertyChanged { at, .. }
            | Change::Deleted { at, .. }
            | Change::AssociationChanged { at, .. } => *at,
        };
        let mut event = Map::new();
        event.insert("eventId".to_owned(), json!(self.next_event_id()));
        event.insert("subscriptionId".to_owned(), json!(subscription.id));
        event.insert("portalId".to_owned(), json!(hook.portal));
        event.insert("appId".to_owned(), json!(hook.app_id));
        event.insert("occurredAt".to_owned(), json!(at));
        event.insert(
            "subscriptionType".to_owned(),
            json!(subscription.settings.subscription_type),
        );
        event.insert("attemptNumber".to_owned(), json!(0));
        let object = |event: &mut Map<String, Value>, record_id: &u64| {
            event.insert("objectId".to_owned(), json!(record_id));
            if !subscription.legacy {
                event.insert(
                    "objectTypeId".to_owned(),
                    json!(subscription.object_type.type_id),
                );
            }
        };
        match change {
            Change::Created {
                record_id, source, ..
            } => {
                object(&mut event, record_id);
                event.insert("changeFlag".to_owned(), json!("CREATED"));
                source_fields(&mut event, &source.source_type, source.source_id.as_deref());
            }
            Change::PropertyChanged {
                record_id,
                name,
                value,
                source,
                ..
            } => {
                object(&mut event, record_id);
                event.insert("propertyName".to_owned(), json!(name));
                // A cleared property reads as the empty string, as in property history.
                event.insert(
                    "propertyValue".to_owned(),
                    json!(value.as_deref().unwrap_or("")),
                );
                source_fields(&mut event, &source.source_type, source.source_id.as_deref());
                if !subscription.legacy {
                    event.insert("isSensitive".to_owned(), json!(false));
                }
            }
            Change::Deleted { record_id, .. } => {
                object(&mut event, record_id);
                event.insert("changeFlag".to_owned(), json!("DELETED"));
                // The store does not know which app archived; every write here is an API one.
                source_fields(&mut event, "INTEGRATION", None);
            }
            Change::AssociationChanged {
                association,
                removed,
                ..
            } => {
                source_fields(&mut event, "INTEGRATION", None);
                // The change is read from the subscription's records (one event per end).
                let from = subscription.object_type;
                let type_id = association.type_id;
                let (name, primary) = association_type_name(from, association.to_type, type_id);
                event.insert("associationType".to_owned(), json!(name));
                event.insert("associationTypeId".to_owned(), json!(type_id));
                event.insert(
                    "associationCategory".to_owned(),
                    json!(association.category.as_str()),
                );
                event.insert("fromObjectTypeId".to_owned(), json!(from.type_id));
                event.insert("fromObjectId".to_owned(), json!(association.from_id));
                event.insert(
                    "toObjectTypeId".to_owned(),
                    json!(association.to_type.type_id),
                );
                event.insert("toObjectId".to_owned(), json!(association.to_id));
                event.insert("associationRemoved".to_owned(), json!(removed));
                event.insert("isPrimaryAssociation".to_owned(), json!(primary));
            }
        }
        event
    }
}

/// The `associationType` of an event (`CONTACT_TO_COMPANY`, HubSpot's schema name of a
/// defined type; the pair's default name for labels), and whether it is a primary one.
fn association_type_name(from: ObjectType, to: ObjectType, type_id: u32) -> (String, bool) {
    let pair = AssociationPair::new(from, to);
    let primary = pair
        .defined_specs()
        .any(|(spec, label)| spec.type_id == type_id && label == Some("Primary"));
    let name = association_definitions(from)
        .into_iter()
        .find(|d| d.from == from && d.to == to && d.type_id == type_id)
        .map_or_else(|| pair.default_type_name().to_ascii_uppercase(), |d| d.name);
    (name, primary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::record::WriteSource;

    fn settings(subscriptions: Value) -> WebhookSettings {
        serde_json::from_value(json!({
            "targetUrl": "http://127.0.0.1:9/hook",
            "appId": 1,
            "clientSecret": "s",
            "subscriptions": subscriptions,
        }))
        .unwrap()
    }

    fn created(record_id: u64) -> Change {
        Change::Created {
            record_id,
            at: 1,
            source: WriteSource::integration(1),
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_its_oldest_events_and_counts_them() {
        let delivery = DeliverySettings {
            queue_capacity: 2,
            // Long enough that nothing is sent while the test looks at the queue.
            batch_window_ms: 600_000,
            ..DeliverySettings::default()
        };
        let webhooks = Webhooks::start(delivery, Vec::new()).unwrap();
        webhooks
            .put(
                1,
                settings(json!([{"subscriptionType": "object.creation"}])),
            )
            .unwrap();
        webhooks.publish(Partition::calls(1), (1..=5).map(created).collect());
        assert_eq!(webhooks.deliverer().queued(), 2);
        assert_eq!(webhooks.deliverer().dropped(), 3);
        // Another portal, without settings, queues nothing.
        webhooks.publish(Partition::calls(2), vec![created(9)]);
        assert_eq!(webhooks.deliverer().queued(), 2);
    }

    #[tokio::test]
    async fn only_wanted_changes_become_events() {
        let webhooks = Webhooks::start(DeliverySettings::default(), Vec::new()).unwrap();
        webhooks
            .put(
                1,
                settings(json!([
                    {"subscriptionType": "object.propertyChange", "propertyName": "hs_call_title"},
                    {"subscriptionType": "object.deletion", "active": false},
                ])),
            )
            .unwrap();
        assert!(webhooks.wants(Partition::calls(1), ChangeKind::PropertyChange));
        assert!(
            !webhooks.wants(Partition::calls(1), ChangeKind::Deletion),
            "inactive"
        );
        assert!(!webhooks.wants(Partition::calls(1), ChangeKind::Creation));
        assert!(!webhooks.wants(Partition::calls(2), ChangeKind::PropertyChange));
        let change = |name: &str| Change::PropertyChanged {
            record_id: 1,
            at: 1,
            name: name.to_owned(),
            value: None,
            source: WriteSource::calculated(),
        };
        webhooks.publish(
            Partition::calls(1),
            vec![
                change("hs_call_body"),
                change("hs_call_title"),
                Change::Deleted {
                    record_id: 1,
                    at: 1,
                },
            ],
        );
        assert_eq!(webhooks.deliverer().queued(), 1);
    }

    #[tokio::test]
    async fn subscriptions_route_by_the_partitions_type() {
        let webhooks = Webhooks::start(DeliverySettings::default(), Vec::new()).unwrap();
        webhooks
            .put(
                1,
                settings(json!([
                    {"subscriptionType": "object.creation", "objectTypeId": "0-1"},
                    {"subscriptionType": "deal.deletion"},
                    {"subscriptionType": "object.propertyChange"},
                ])),
            )
            .unwrap();
        let contacts = Partition::new(1, ObjectType::CONTACTS);
        let deals = Partition::new(1, ObjectType::DEALS);
        assert!(webhooks.wants(contacts, ChangeKind::Creation));
        assert!(!webhooks.wants(contacts, ChangeKind::Deletion));
        assert!(webhooks.wants(deals, ChangeKind::Deletion));
        assert!(!webhooks.wants(deals, ChangeKind::Creation));
        // Without an objectTypeId a generic subscription is about calls, as it always was.
        assert!(webhooks.wants(Partition::calls(1), ChangeKind::PropertyChange));
        assert!(!webhooks.wants(Partition::calls(1), ChangeKind::Creation));
        webhooks.publish(
            deals,
            vec![
                created(1),
                Change::Deleted {
                    record_id: 1,
                    at: 1,
                },
            ],
        );
        assert_eq!(webhooks.deliverer().queued(), 1);
    }

    #[test]
    fn subscription_types_name_their_objects() {
        let parse = |text| parse_subscription_type(text);
        assert_eq!(parse("object.creation"), Some((ChangeKind::Creation, None)));
        assert_eq!(
            parse("line_item.propertyChange"),
            Some((ChangeKind::PropertyChange, Some(ObjectType::LINE_ITEMS)))
        );
        for bad in [
            "call.creation",
            "contact.merge",
            "contact",
            "object.restore",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let target = |value: Value| {
            subscription_target(&serde_json::from_value::<SubscriptionSettings>(value).unwrap())
        };
        assert!(
            target(json!({"subscriptionType": "contact.creation", "objectTypeId": "0-2"}))
                .unwrap_err()
                .contains("contradicts")
        );
        assert!(target(json!({"subscriptionType": "product.associationChange"})).is_err());
        assert_eq!(
            target(
                json!({"subscriptionType": "object.associationChange", "objectTypeId": "deals"})
            ),
            Ok((ChangeKind::AssociationChange, ObjectType::DEALS, false))
        );
        assert_eq!(
            target(json!({"subscriptionType": "object.deletion", "objectTypeId": "tickets"})),
            Ok((ChangeKind::Deletion, ObjectType::TICKETS, false))
        );
    }

    #[test]
    fn config_entries_need_a_portal() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let error = Webhooks::start(DeliverySettings::default(), vec![settings(json!([]))])
            .err()
            .unwrap();
        assert!(error.contains("needs a portal"), "{error}");
    }
}
