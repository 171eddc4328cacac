//! The store's search must return exactly what the pure evaluator returns: same ids, same
//! order, same total. Random calls, random searches, compared on every case.

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};

use hubcalls::crm::associations::{Association, AssociationCategory};
use hubcalls::crm::objects::ObjectType;
use hubcalls::crm::ports::{RecordStore, Store};
use hubcalls::crm::properties::PropertyCatalogue;
use hubcalls::crm::record::{PortalId, Projection, WriteSource};
use hubcalls::crm::records::{AssociationRequest, CreateRequest, Locator, RecordService};
use hubcalls::crm::search::{
    FilterSpec, SearchHits, SearchLimits, SearchPlan, SearchRequest, SortKey, SortSpec,
};
use hubcalls::store::SqliteStore;
use proptest::prelude::*;

const PORTAL: PortalId = 7;

/// The contacts generated calls are associated with, by number: contact `n` of a portal
/// has id `contact_base(portal) + n`, and the portal has it before any call is written
/// (associations need their records to exist).
const CONTACT_NUMBERS: [u64; 4] = [1, 2, 3, 4];

fn contact_number() -> impl Strategy<Value = u64> {
    prop::sample::select(CONTACT_NUMBERS.to_vec())
}

/// Where a portal's contact ids start. Ids are unique across a store's portals and the
/// PostgreSQL cases share one store, so each portal has ids of its own, all below those
/// stores hand out (10^10 and up).
fn contact_base(portal: PortalId) -> u64 {
    u64::from(portal) * 1_000
}

/// The contact ids of `portal`.
fn contact_ids(portal: PortalId) -> Vec<u64> {
    CONTACT_NUMBERS
        .iter()
        .map(|n| contact_base(portal) + n)
        .collect()
}

/// `requests` with their contact numbers (`associations.contact` values) turned into the
/// contact ids of `portal`.
fn for_portal(requests: &[SearchRequest], portal: PortalId) -> Vec<SearchRequest> {
    let id = |value: &mut String| {
        if let Ok(number) = value.parse::<u64>() {
            *value = (contact_base(portal) + number).to_string();
        }
    };
    let mut requests = requests.to_vec();
    for filter in requests
        .iter_mut()
        .flat_map(|r| r.filter_groups.iter_mut().flatten())
        .filter(|f| f.property_name == "associations.contact")
    {
        filter.value.iter_mut().for_each(id);
        filter.high_value.iter_mut().for_each(id);
        filter.values.iter_mut().flatten().for_each(id);
    }
    requests
}

const WORDS: [&str; 8] = [
    "alpha", "Alpha", "beta", "gamma", "Zürich", "ölbaum", "delta-9", "",
];
const NUMBERS: [&str; 9] = [
    "0", "-1", "1", "1.5", "-2.25", "900000", "1800000", "1e3", "10",
];
const INSTANTS: [&str; 6] = [
    "1700000000000",
    "2023-11-14T22:13:20Z",
    "2023-11-14T22:13:20.500Z",
    "1700000000001",
    "2024-01-01",
    "1600000000000",
];
const DIRECTIONS: [&str; 3] = ["INBOUND", "OUTBOUND", "inbound"];
const BOOLS: [&str; 3] = ["true", "false", "TRUE"];

/// One generated call: optional values for a few properties of each type.
#[derive(Debug, Clone)]
struct CallSpec {
    title: Option<String>,
    body: Option<String>,
    duration: Option<&'static str>,
    timestamp: &'static str,
    direction: Option<&'static str>,
    voicemail: Option<&'static str>,
    contacts: Vec<u64>,
    archived: bool,
    /// Written after the create (an empty value clears the property), so the index's
    /// update path is compared too.
    update: Vec<(&'static str, String)>,
    /// Associations removed again after the create.
    dissociate: Vec<u64>,
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS.to_vec()), 1..4).prop_map(|w| w.join(" "))
}

fn call_spec() -> impl Strategy<Value = CallSpec> {
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(prop::sample::select(NUMBERS.to_vec())),
        prop::sample::select(INSTANTS.to_vec()),
        prop::option::of(prop::sample::select(DIRECTIONS[..2].to_vec())),
        prop::option::of(prop::sample::select(BOOLS[..2].to_vec())),
        prop::collection::vec(contact_number(), 0..3),
        prop::bool::weighted(0.15),
        prop::collection::vec(update(), 0..3),
        prop::collection::vec(contact_number(), 0..2),
    )
        .prop_map(
            |(
                title,
                body,
                duration,
                timestamp,
                direction,
                voicemail,
                contacts,
                archived,
                update,
                dissociate,
            )| {
                CallSpec {
                    title,
                    body,
                    duration,
                    timestamp,
                    direction,
                    voicemail,
                    contacts,
                    archived,
                    update,
                    dissociate,
                }
            },
        )
}

/// A property write after the create: a new value, or a clear.
fn update() -> impl Strategy<Value = (&'static str, String)> {
    prop::sample::select(vec![
        "hs_call_title",
        "hs_call_body",
        "hs_call_duration",
        "hs_call_direction",
        "hs_timestamp",
    ])
    .prop_flat_map(|name| {
        let value = match name {
            "hs_call_duration" => prop::sample::select(NUMBERS.to_vec())
                .prop_map(str::to_owned)
                .boxed(),
            "hs_call_direction" => prop::sample::select(DIRECTIONS[..2].to_vec())
                .prop_map(str::to_owned)
                .boxed(),
            "hs_timestamp" => prop::sample::select(INSTANTS.to_vec())
                .prop_map(str::to_owned)
                .boxed(),
            _ => text().boxed(),
        };
        let clearable = name != "hs_timestamp";
        (
            value,
            prop::bool::weighted(if clearable { 0.25 } else { 0.0 }),
        )
            .prop_map(move |(value, clear)| (name, if clear { String::new() } else { value }))
    })
}

const PROPERTIES: [&str; 7] = [
    "hs_call_title",
    "hs_body_preview",
    "hs_call_duration",
    "hs_timestamp",
    "hs_call_direction",
    "hs_call_has_voicemail",
    "associations.contact",
];

fn value_for(property: &str) -> BoxedStrategy<String> {
    match property {
        "hs_call_title" | "hs_body_preview" => prop::sample::select(WORDS[..7].to_vec())
            .prop_map(str::to_owned)
            .boxed(),
        "hs_call_duration" => prop::sample::select(NUMBERS.to_vec())
            .prop_map(str::to_owned)
            .boxed(),
        "hs_timestamp" => prop::sample::select(INSTANTS.to_vec())
            .prop_map(str::to_owned)
            .boxed(),
        "hs_call_direction" => prop::sample::select(DIRECTIONS.to_vec())
            .prop_map(str::to_owned)
            .boxed(),
        "hs_call_has_voicemail" => prop::sample::select(BOOLS.to_vec())
            .prop_map(str::to_owned)
            .boxed(),
        _ => contact_number().prop_map(|n| n.to_string()).boxed(),
    }
}

const OPERATORS: [&str; 13] = [
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
];

fn filter() -> impl Strategy<Value = FilterSpec> {
    (
        prop::sample::select(PROPERTIES.to_vec()),
        prop::sample::select(OPERATORS.to_vec()),
    )
        .prop_flat_map(|(property, operator)| {
            (
                value_for(property),
                value_for(property),
                prop::collection::vec(value_for(property), 1..3),
                0..4u8,
            )
                .prop_map(move |(value, high, values, wildcard)| {
                    // Token patterns: as given, or with `*` at the end, the start or inside
                    // (the store answers each shape differently: index prefix, scan, recheck).
                    let chars: Vec<char> = value.chars().collect();
                    let head: String = chars.iter().take(2).collect();
                    let first: String = chars.iter().take(1).collect();
                    let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
                    let value = match wildcard {
                        _ if !operator.ends_with("CONTAINS_TOKEN") => value,
                        1 => format!("{head}*"),
                        2 => format!("*{tail}"),
                        3 => format!("{first}*{tail}"),
                        _ => value,
                    };
                    FilterSpec {
                        property_name: property.to_owned(),
                        operator: operator.to_owned(),
                        value: Some(value),
                        high_value: Some(high),
                        values: Some(values),
                    }
                })
        })
}

fn request() -> impl Strategy<Value = SearchRequest> {
    (
        prop::collection::vec(prop::collection::vec(filter(), 1..3), 0..3),
        prop::option::of(prop::sample::select(vec![
            "alp",
            "beta",
            "zür",
            "9",
            "gamma delta",
        ])),
        prop::option::of((
            prop::sample::select(PROPERTIES[..6].to_vec()),
            prop::bool::ANY,
        )),
        0i64..8,
        0usize..6,
    )
        .prop_map(|(groups, query, sort, limit, after)| SearchRequest {
            filter_groups: groups,
            query: query.map(str::to_owned),
            sort: sort.map(|(name, descending)| SortSpec {
                property_name: name.to_owned(),
                descending,
            }),
            limit: Some(limit),
            after: Some(after.to_string()),
        })
}

/// The create of `spec` in `portal`.
fn create_request(spec: &CallSpec, portal: PortalId) -> CreateRequest {
    let mut properties = vec![("hs_timestamp".to_owned(), spec.timestamp.to_owned())];
    let optional = [
        ("hs_call_title", spec.title.clone()),
        ("hs_call_body", spec.body.clone()),
        ("hs_call_duration", spec.duration.map(str::to_owned)),
        ("hs_call_direction", spec.direction.map(str::to_owned)),
        ("hs_call_has_voicemail", spec.voicemail.map(str::to_owned)),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            properties.push((name.to_owned(), value));
        }
    }
    CreateRequest {
        properties,
        associations: spec
            .contacts
            .iter()
            .map(|n| AssociationRequest {
                to_id: (contact_base(portal) + n).to_string(),
                types: vec![("HUBSPOT_DEFINED".to_owned(), 194)],
            })
            .collect(),
        object_write_trace_id: None,
    }
}

/// Both page strategies of the store for the created order: always sorting the matches,
/// always walking the order.
const SCAN_BUDGETS: [usize; 2] = [0, usize::MAX];

fn check(specs: &[CallSpec], requests: &[SearchRequest]) -> Result<(), TestCaseError> {
    for budget in SCAN_BUDGETS {
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::in_memory()
                .expect("store opens")
                .with_scan_budget(budget),
        );
        write_records(&store, PORTAL, specs);
        compare(
            &store,
            PORTAL,
            requests,
            &format!("SQLite, budget {budget}"),
        )?;
    }
    if let Some(store) = common::shared_postgres_store() {
        // One database for all cases: each case gets two portals of its own.
        static NEXT_PORTAL: AtomicU32 = AtomicU32::new(1_000);
        let portal = NEXT_PORTAL.fetch_add(2, Ordering::SeqCst);
        write_records(store, portal, specs);
        compare(store, portal, requests, "PostgreSQL")?;
    }
    Ok(())
}

/// Writes the generated calls through the rules: creates, updates, association removals,
/// archives, and one call of another portal that must never show up. The contacts they
/// name are put in the portal first.
fn write_records(store: &Arc<dyn Store>, portal: PortalId, specs: &[CallSpec]) {
    common::restore_contacts(store.as_ref(), portal, &contact_ids(portal));
    let service = RecordService::new(store.clone(), SearchLimits::default());
    let source = WriteSource::integration(1);
    for spec in specs {
        let call = service
            .create(
                hubcalls::crm::objects::Partition::calls(portal),
                &source,
                &create_request(spec, portal),
            )
            .expect("generated calls are valid");
        let id = call.id.to_string();
        for (name, value) in &spec.update {
            let locator = Locator {
                value: &id,
                id_property: None,
            };
            service
                .update(
                    hubcalls::crm::objects::Partition::calls(portal),
                    &source,
                    locator,
                    &vec![(name.to_string(), value.clone())],
                )
                .expect("generated updates are valid");
        }
        for n in &spec.dissociate {
            store
                .remove_associations(
                    hubcalls::crm::objects::Partition::calls(portal),
                    call.id,
                    ObjectType::CONTACTS,
                    contact_base(portal) + n,
                    None,
                )
                .unwrap();
        }
        if spec.archived {
            service
                .archive(hubcalls::crm::objects::Partition::calls(portal), &id)
                .unwrap();
        }
    }
    // The other portal's call has the first call's values and contacts. Ids are unique
    // across portals, so those contacts cannot exist there and the rules would refuse the
    // associations: they are written below the rules, as an import into that portal may
    // write them (imports do not check association targets).
    let other_portal = hubcalls::crm::objects::Partition::calls(portal + 1);
    let mut other = create_request(&specs[0], portal);
    other.associations.clear();
    let other = service.create(other_portal, &source, &other).unwrap();
    let contacts: BTreeSet<u64> = specs[0]
        .contacts
        .iter()
        .map(|n| contact_base(portal) + n)
        .collect();
    let associations: Vec<Association> = contacts
        .into_iter()
        .map(|to_id| Association {
            from_id: other.id,
            to_type: ObjectType::CONTACTS,
            to_id,
            type_id: 194,
            category: AssociationCategory::HubspotDefined,
        })
        .collect();
    store.add_associations(other_portal, &associations).unwrap();
    assert_eq!(
        store.associations(other_portal, &[other.id]).unwrap().len(),
        associations.len()
    );
}

fn compare(
    store: &Arc<dyn Store>,
    portal: PortalId,
    requests: &[SearchRequest],
    variant: &str,
) -> Result<(), TestCaseError> {
    let schema = PropertyCatalogue::builtin();

    let live = store
        .list_records(
            hubcalls::crm::objects::Partition::calls(portal),
            false,
            0,
            usize::MAX >> 1,
        )
        .unwrap();
    let ids: Vec<_> = live.iter().map(|c| c.id).collect();
    let associations = store
        .associations(hubcalls::crm::objects::Partition::calls(portal), &ids)
        .unwrap();
    for request in &for_portal(requests, portal) {
        let Ok(plan) = SearchPlan::build(&schema, request.clone(), &SearchLimits::default()) else {
            // Requests the rules refuse (e.g. tokens on numbers) are tested over HTTP.
            continue;
        };
        let expected = plan.evaluate(&live, &associations);
        let actual = store
            .search(hubcalls::crm::objects::Partition::calls(portal), &plan)
            .unwrap();
        let expected_ids: Vec<_> = expected.calls.iter().map(|c| c.id).collect();
        let actual_ids: Vec<_> = actual.calls.iter().map(|c| c.id).collect();
        prop_assert_eq!(
            actual.total,
            expected.total,
            "total ({}) for {:?}",
            variant,
            plan
        );
        prop_assert_eq!(
            actual_ids,
            expected_ids,
            "page ({}) for {:?}",
            variant,
            plan
        );
        prop_assert_eq!(
            &actual.calls,
            &expected.calls,
            "page calls ({}) for {:?}",
            variant,
            plan
        );
        let shown = Projection::Only(vec!["hs_call_title", "hs_call_duration"]);
        let projected = store
            .search_projected(
                hubcalls::crm::objects::Partition::calls(portal),
                &plan,
                &shown,
            )
            .unwrap();
        prop_assert_eq!(
            projected,
            projection_of(&expected, &shown),
            "projected page ({}) for {:?}",
            variant,
            plan
        );
        compare_awaited(store, portal, &plan, &expected, variant)?;
    }
    Ok(())
}

/// The hits with only the projection's properties, as a projected search returns them.
fn projection_of(hits: &SearchHits, projection: &Projection<'_>) -> SearchHits {
    let mut hits = hits.clone();
    for call in &mut hits.calls {
        call.properties.retain(|name, _| projection.wants(name));
    }
    hits
}

/// A store's awaited search (`AsyncReads`), where it has one, answers as the evaluator does
/// whenever it answers at all, whole and projected.
fn compare_awaited(
    store: &Arc<dyn Store>,
    portal: PortalId,
    plan: &SearchPlan,
    expected: &SearchHits,
    variant: &str,
) -> Result<(), TestCaseError> {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> =
        LazyLock::new(|| tokio::runtime::Runtime::new().expect("a runtime"));
    let Some(reads) = store.async_reads() else {
        return Ok(());
    };
    let partition = hubcalls::crm::objects::Partition::calls(portal);
    let shown = Projection::Only(vec!["hs_call_title", "hs_call_duration"]);
    for projection in [Projection::All, shown] {
        let awaited = RUNTIME
            .block_on(reads.search(partition, plan, &projection))
            .unwrap();
        if let Some(awaited) = awaited {
            prop_assert_eq!(
                awaited,
                projection_of(expected, &projection),
                "awaited search, {:?} ({}) for {:?}",
                projection,
                variant,
                plan
            );
        } else {
            // Only a page that reaches the matches without the sort value takes more.
            let SortKey::Property { name, .. } = &plan.sort else {
                return Err(TestCaseError::fail(format!(
                    "the awaited search declined a page in creation order ({variant}) {plan:?}"
                )));
            };
            prop_assert!(
                expected
                    .calls
                    .iter()
                    .any(|call| !call.properties.contains_key(name)),
                "the awaited search declined ({}) {:?}",
                variant,
                plan
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn store_search_equals_the_evaluator(
        specs in prop::collection::vec(call_spec(), 1..25),
        requests in prop::collection::vec(request(), 1..12),
    ) {
        check(&specs, &requests)?;
    }

    /// A file store reopened: the index is rebuilt from the stored rows and must answer as
    /// the evaluator does, and keep doing so after more writes.
    #[test]
    fn rebuilt_index_equals_the_evaluator(
        specs in prop::collection::vec(call_spec(), 1..15),
        more in prop::collection::vec(call_spec(), 1..5),
        requests in prop::collection::vec(request(), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        {
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
            write_records(&store, PORTAL, &specs);
        }
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        compare(&store, PORTAL, &requests, "reopened")?;
        write_records(&store, PORTAL, &more);
        compare(&store, PORTAL, &requests, "reopened, then written")?;
    }
}

/// The generator must produce searches that match something, or the comparison proves
/// little: a fixed case with known answers.
#[test]
fn fixed_case_matches_known_answers() {
    let spec = |title: &str, duration: &'static str| CallSpec {
        title: Some(title.to_owned()),
        body: None,
        duration: Some(duration),
        timestamp: "1700000000000",
        direction: Some("INBOUND"),
        voicemail: None,
        contacts: vec![1],
        archived: false,
        update: Vec::new(),
        dissociate: Vec::new(),
    };
    let specs = vec![spec("alpha beta", "900000"), spec("gamma", "1800000")];
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    common::restore_contacts(store.as_ref(), PORTAL, &contact_ids(PORTAL));
    let schema = PropertyCatalogue::builtin();
    let service = RecordService::new(store.clone(), SearchLimits::default());
    for s in &specs {
        service
            .create(
                hubcalls::crm::objects::Partition::calls(PORTAL),
                &WriteSource::integration(1),
                &create_request(s, PORTAL),
            )
            .unwrap();
    }
    let request = SearchRequest {
        filter_groups: vec![vec![FilterSpec {
            property_name: "hs_call_duration".to_owned(),
            operator: "LT".to_owned(),
            value: Some("1800000".to_owned()),
            ..FilterSpec::default()
        }]],
        ..SearchRequest::default()
    };
    let plan = SearchPlan::build(&schema, request, &SearchLimits::default()).unwrap();
    let hits = store
        .search(hubcalls::crm::objects::Partition::calls(PORTAL), &plan)
        .unwrap();
    assert_eq!(hits.total, 1);
    assert_eq!(hits.calls[0].property("hs_call_title"), Some("alpha beta"));

    // Contact numbers in generated searches name the portal's contacts.
    let filter = |operator: &str, value: &str, high: &str, values: &[&str]| FilterSpec {
        property_name: "associations.contact".to_owned(),
        operator: operator.to_owned(),
        value: Some(value.to_owned()),
        high_value: Some(high.to_owned()),
        values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
    };
    for (filter, total) in [
        (filter("EQ", "1", "", &[]), 2),
        (filter("EQ", "2", "", &[]), 0),
        (filter("IN", "", "", &["2", "1"]), 2),
        (filter("BETWEEN", "1", "2", &[]), 2),
        (filter("BETWEEN", "2", "4", &[]), 0),
    ] {
        let label = format!("{filter:?}");
        let request = SearchRequest {
            filter_groups: vec![vec![filter]],
            ..SearchRequest::default()
        };
        let [request] = for_portal(&[request], PORTAL).try_into().unwrap();
        let plan = SearchPlan::build(&schema, request, &SearchLimits::default()).unwrap();
        let hits = store
            .search(hubcalls::crm::objects::Partition::calls(PORTAL), &plan)
            .unwrap();
        assert_eq!(hits.total, total, "{label}");
    }
}
