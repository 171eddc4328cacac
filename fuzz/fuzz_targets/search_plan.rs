//! The search plan builder: any search body is refused with a HubSpot error or becomes a plan
//! the reference evaluator can run, whose page respects its limit. Never a panic.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use hubcalls::api::json::{decode, expect_shape};
use hubcalls::api::search::{search_request, SearchInput};
use hubcalls::crm::associations::{AssociatedKind, Association, AssociationCategory};
use hubcalls::crm::record::Record;
use hubcalls::crm::properties::PropertyCatalogue;
use hubcalls::crm::search::{SearchLimits, SearchPlan};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    schema: PropertyCatalogue,
    calls: Vec<Record>,
    associations: Vec<Association>,
}

fn call(id: u64, properties: &[(&str, &str)]) -> Record {
    Record {
        id,
        properties: properties
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        created_at: 1_700_000_000_000 + id as i64,
        updated_at: 1_700_000_000_000 + id as i64,
        archived_at: None,
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        schema: PropertyCatalogue::builtin(),
        calls: vec![
            call(
                1,
                &[
                    ("hs_call_title", "Intro call with ACME"),
                    ("hs_call_duration", "60000"),
                    ("hs_timestamp", "2024-01-02T03:04:05.000Z"),
                    ("hs_call_direction", "INBOUND"),
                ],
            ),
            call(
                2,
                &[
                    ("hs_call_title", "follow-up"),
                    ("hs_call_duration", "-1.5e3"),
                ],
            ),
            call(3, &[]),
        ],
        associations: vec![Association {
            call_id: 1,
            kind: AssociatedKind::Contact,
            to_id: 42,
            type_id: 194,
            category: AssociationCategory::HubspotDefined,
        }],
    })
}

fuzz_target!(|data: &[u8]| {
    if expect_shape(data, b'{', "an object").is_err() {
        return;
    }
    let Ok(input) = decode::<SearchInput>(data) else {
        return;
    };
    let Ok(request) = search_request(input) else {
        return;
    };
    let fixture = fixture();
    match SearchPlan::build(&fixture.schema, request, &SearchLimits::default()) {
        Ok(plan) => {
            let hits = plan.evaluate(&fixture.calls, &fixture.associations);
            assert!(hits.calls.len() <= plan.limit);
            assert!(hits.total <= fixture.calls.len());
        }
        Err(error) => {
            let _ = format!("{error}");
        }
    }
});
