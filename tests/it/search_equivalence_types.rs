//! The store's search returns exactly what the pure evaluator returns for records of every
//! object type, not only calls: random records of a random type (its first `query`
//! property as text, its owner, its own timestamps), random searches, compared on each
//! engine. `search_equivalence.rs` covers calls' properties and associations in depth.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use hubcalls::crm::objects::{ObjectType, Partition};
use hubcalls::crm::ports::Store;
use hubcalls::crm::record::{PortalId, WriteSource};
use hubcalls::crm::records::{CreateRequest, Locator, RecordService};
use hubcalls::crm::search::{FilterSpec, SearchLimits, SearchPlan, SearchRequest, SortSpec};
use hubcalls::store::SqliteStore;
use proptest::prelude::*;

const WORDS: [&str; 6] = [
    "alpha",
    "beta",
    "gamma",
    "alphabet",
    "Beta release",
    "delta-7",
];
const OWNERS: [&str; 3] = ["101", "202", "303"];

/// What one generated record holds: a text value (or none), an owner (or none), and
/// whether it is archived afterwards.
#[derive(Debug, Clone)]
struct RecordSpec {
    text: Option<String>,
    owner: Option<&'static str>,
    archived: bool,
}

fn record_spec() -> impl Strategy<Value = RecordSpec> {
    (
        prop::option::of(prop::sample::select(WORDS.to_vec()).prop_map(str::to_owned)),
        prop::option::of(prop::sample::select(OWNERS.to_vec())),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(text, owner, archived)| RecordSpec {
            text,
            owner,
            archived,
        })
}

fn object_type() -> impl Strategy<Value = ObjectType> {
    prop::sample::select(ObjectType::all().collect::<Vec<_>>())
}

/// The text property searched for a type: the first its `query` looks in.
fn text_property(object_type: ObjectType) -> &'static str {
    object_type.query_properties[0]
}

/// A filter on the type's text property or its owner, by a generated operator.
fn filter(text: &'static str) -> impl Strategy<Value = FilterSpec> {
    let on_text = (
        prop::sample::select(vec![
            "EQ",
            "NEQ",
            "CONTAINS_TOKEN",
            "NOT_CONTAINS_TOKEN",
            "HAS_PROPERTY",
            "NOT_HAS_PROPERTY",
            "IN",
        ]),
        prop::sample::select(WORDS.to_vec()),
    )
        .prop_map(move |(operator, word)| FilterSpec {
            property_name: text.to_owned(),
            operator: operator.to_owned(),
            value: (!operator.ends_with("PROPERTY") && operator != "IN").then(|| word.to_owned()),
            values: (operator == "IN").then(|| vec![word.to_lowercase()]),
            ..FilterSpec::default()
        });
    let on_owner = (
        prop::sample::select(vec!["EQ", "NEQ", "IN", "NOT_IN", "HAS_PROPERTY"]),
        prop::sample::select(OWNERS.to_vec()),
    )
        .prop_map(|(operator, owner)| FilterSpec {
            property_name: "hubspot_owner_id".to_owned(),
            operator: operator.to_owned(),
            value: matches!(operator, "EQ" | "NEQ").then(|| owner.to_owned()),
            values: operator.ends_with("IN").then(|| vec![owner.to_owned()]),
            ..FilterSpec::default()
        });
    prop_oneof![on_text, on_owner]
}

fn request(object_type: ObjectType) -> impl Strategy<Value = SearchRequest> {
    let text = text_property(object_type);
    (
        prop::collection::vec(prop::collection::vec(filter(text), 1..3), 0..3),
        prop::option::of(prop::sample::select(vec!["alp", "beta", "gamma", "7"])),
        prop::option::of((
            prop::sample::select(vec![text, "hubspot_owner_id", "hs_object_id"]),
            any::<bool>(),
        )),
        1i64..8,
    )
        .prop_map(|(groups, query, sort, limit)| SearchRequest {
            filter_groups: groups,
            query: query.map(str::to_owned),
            sort: sort.map(|(name, descending)| SortSpec {
                property_name: name.to_owned(),
                descending,
            }),
            limit: Some(limit),
            after: None,
        })
}

/// A create of `object_type` with the spec's values and what the type requires.
fn create_request(object_type: ObjectType, spec: &RecordSpec, n: usize) -> CreateRequest {
    let mut properties: Vec<(String, String)> = Vec::new();
    for required in object_type.required_on_create {
        let value = match *required {
            "hs_timestamp" => "2025-01-01T00:00:00Z".to_owned(),
            "hs_email_direction" => "EMAIL".to_owned(),
            "dealstage" => "appointmentscheduled".to_owned(),
            "hs_pipeline_stage" => "1".to_owned(),
            _ => format!("required {n}"),
        };
        properties.push(((*required).to_owned(), value));
    }
    if let Some(text) = &spec.text {
        properties.retain(|(name, _)| name != text_property(object_type));
        properties.push((text_property(object_type).to_owned(), text.clone()));
    }
    if let Some(owner) = spec.owner {
        properties.push(("hubspot_owner_id".to_owned(), owner.to_owned()));
    }
    CreateRequest {
        properties,
        associations: Vec::new(),
        object_write_trace_id: None,
    }
}

fn write(service: &RecordService, partition: Partition, specs: &[RecordSpec]) {
    let source = WriteSource::integration(1);
    for (n, spec) in specs.iter().enumerate() {
        let record = service
            .create(
                partition,
                &source,
                &create_request(partition.object_type, spec, n),
            )
            .expect("generated records are valid");
        if spec.archived {
            service
                .archive(partition, &record.id.to_string())
                .expect("archive");
        }
    }
    // A live record that must stay invisible to the searched portal.
    let other = Partition::new(partition.portal + 1, partition.object_type);
    if let Some(first) = specs.first() {
        let record = service
            .create(
                other,
                &source,
                &create_request(other.object_type, first, specs.len()),
            )
            .expect("valid");
        let locator = Locator {
            value: &record.id.to_string(),
            id_property: None,
        };
        service
            .get(other, locator, hubcalls::crm::records::ArchiveFilter::Live)
            .expect("written");
    }
}

fn compare(
    service: &RecordService,
    store: &Arc<dyn Store>,
    partition: Partition,
    requests: &[SearchRequest],
    variant: &str,
) -> Result<(), TestCaseError> {
    let schema = service.schema(partition).expect("schema");
    let live = store
        .list_records(partition, false, 0, usize::MAX >> 1)
        .expect("list");
    for request in requests {
        let Ok(mut plan) = SearchPlan::build(&schema, request.clone(), &SearchLimits::default())
        else {
            continue;
        };
        plan.query_properties = partition.object_type.query_properties;
        let expected = plan.evaluate(&live, &[]);
        let actual = store.search(partition, &plan).expect("search");
        let ids = |hits: &hubcalls::crm::search::SearchHits| {
            hits.calls.iter().map(|r| r.id).collect::<Vec<_>>()
        };
        prop_assert_eq!(
            actual.total,
            expected.total,
            "{:?} total ({}) for {:?}",
            partition.object_type,
            variant,
            plan
        );
        prop_assert_eq!(
            ids(&actual),
            ids(&expected),
            "{:?} page ({}) for {:?}",
            partition.object_type,
            variant,
            plan
        );
    }
    Ok(())
}

fn case() -> impl Strategy<Value = (ObjectType, Vec<RecordSpec>, Vec<SearchRequest>)> {
    object_type().prop_flat_map(|object_type| {
        (
            Just(object_type),
            prop::collection::vec(record_spec(), 1..20),
            prop::collection::vec(request(object_type), 1..8),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_types_search_equals_the_evaluator((object_type, specs, requests) in case()) {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::in_memory().expect("store opens"));
        let service = RecordService::new(store.clone(), SearchLimits::default());
        let partition = Partition::new(7, object_type);
        write(&service, partition, &specs);
        compare(&service, &store, partition, &requests, "SQLite")?;
        if let Some(store) = common::shared_postgres_store() {
            // One database for all cases: each case gets two portals of its own.
            static NEXT_PORTAL: AtomicU32 = AtomicU32::new(5_000);
            let portal: PortalId = NEXT_PORTAL.fetch_add(2, Ordering::SeqCst);
            let service = RecordService::new(store.clone(), SearchLimits::default());
            let partition = Partition::new(portal, object_type);
            write(&service, partition, &specs);
            compare(&service, store, partition, &requests, "PostgreSQL")?;
        }
    }
}
