//! `hubcalls export` and `hubcalls import`, run as the built binary on data directories.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use hubcalls::config::Storage;
use serde_json::Value;

fn hubcalls(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hubcalls"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("HUBCALLS_DATA_DIR")
        .output()
        .expect("binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The records of an export, without the header (which carries the time of the export).
fn records(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("each line is JSON"))
        .filter(|record| record["record"] != "header")
        .collect()
}

fn export(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["export"];
    args.extend_from_slice(extra);
    let output = hubcalls(&args, dir);
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

const FIXTURE: &str = r#"{"record":"header","format":"hubcalls-calls","version":1,"portal":7}
{"record":"group","name":"support","label":"Support"}
{"record":"property","name":"ticket_ref","label":"Ticket ref","type":"string","fieldType":"text","groupName":"support","hasUniqueValue":true}
{"record":"call","id":"700001","createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-02T00:00:00Z","properties":{"hs_timestamp":"2025-01-01T00:00:00Z","hs_call_title":"Second","ticket_ref":"T-1"},"propertiesWithHistory":{"hs_call_title":[{"value":"Second","timestamp":"2025-01-02T00:00:00Z","sourceType":"INTEGRATION","sourceId":"1"},{"value":"First","timestamp":"2025-01-01T00:00:00Z","sourceType":"INTEGRATION","sourceId":"1"}]},"associations":[{"toObjectType":"contacts","toObjectId":"501"},{"toObjectType":"deals","toObjectId":"9","associationTypeId":17,"associationCategory":"USER_DEFINED"}]}
{"record":"call","id":"700002","archived":true,"archivedAt":"2025-02-01T00:00:00Z","createdAt":"2025-01-05T00:00:00Z","properties":{"hs_timestamp":"2025-01-05T00:00:00Z","hs_call_direction":"INBOUND"}}
"#;

#[test]
fn export_then_import_elsewhere_round_trips_exactly() {
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first");
    let second = work.path().join("second");
    let fixture = work.path().join("fixture.ndjson");
    std::fs::write(&fixture, FIXTURE).unwrap();

    let loaded = hubcalls(&["import", fixture.to_str().unwrap()], &first);
    assert!(loaded.status.success(), "{}", stderr(&loaded));
    assert!(
        stderr(&loaded).contains(
            "imported into portal 7: groups 1, properties 1, pipelines 0, records 2 (calls 2)"
        ),
        "{}",
        stderr(&loaded)
    );

    let file = work.path().join("out.ndjson");
    let written = hubcalls(&["export", "--out", file.to_str().unwrap()], &first);
    assert!(written.status.success(), "{}", stderr(&written));
    let exported = std::fs::read_to_string(&file).unwrap();
    let calls: Vec<Value> = records(&exported)
        .into_iter()
        .filter(|r| r["record"] == "object" && r["objectType"] == "calls")
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0]["propertiesWithHistory"]["hs_call_title"][1]["value"],
        "First"
    );
    assert_eq!(calls[0]["associations"][1]["associationTypeId"], 17);
    assert_eq!(calls[1]["archivedAt"], "2025-02-01T00:00:00Z");

    // Into another store, as another portal; then back out: the same records.
    let moved = hubcalls(
        &["import", file.to_str().unwrap(), "--portal", "8", "--reset"],
        &second,
    );
    assert!(moved.status.success(), "{}", stderr(&moved));
    assert_eq!(records(&export(&second, &[])), records(&exported));

    // Importing the same file again replaces the calls by id: nothing doubles.
    let again = hubcalls(
        &["import", file.to_str().unwrap(), "--portal", "8"],
        &second,
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        records(&export(&second, &["--portal", "8"])),
        records(&exported)
    );
}

#[test]
fn a_bad_file_is_refused_with_line_numbers_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("data");
    let good = work.path().join("good.ndjson");
    std::fs::write(&good, FIXTURE).unwrap();
    assert!(hubcalls(&["import", good.to_str().unwrap()], &dir)
        .status
        .success());
    let before = export(&dir, &[]);

    let bad = work.path().join("bad.ndjson");
    std::fs::write(
        &bad,
        concat!(
            "{\"record\":\"call\",\"id\":\"700003\",\"properties\":{\"hs_timestamp\":0}}\n",
            "{\"record\":\"call\",\"id\":\"700004\",\"properties\":{\"hs_call_duration\":\"long\"}}\n",
            "{\"record\":\"call\",\"id\":\"700005\",\"properties\":{\"hs_timestamp\":0,\"ticket_ref\":\"t-1\"}}\n",
            "{\"record\":\"call\",\"id\":\"700006\",\"properties\":{\"hs_call_title\":\"No date\"}}\n",
        ),
    )
    .unwrap();
    let refused = hubcalls(
        &["import", bad.to_str().unwrap(), "--portal", "7", "--reset"],
        &dir,
    );
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("3 problem(s); nothing was written"),
        "{message}"
    );
    assert!(
        message.contains("line 2: hs_call_duration: long was not a valid number"),
        "{message}"
    );
    // A call needs its activity date, as on the API's create (which names missing
    // properties only once the values given are valid, as here on line 4 alone).
    assert!(
        message.contains("line 4: required properties are not set: hs_timestamp"),
        "{message}"
    );
    // With --reset the portal's own properties go first, so the file must define them.
    assert!(
        message.contains("line 3: property \"ticket_ref\" does not exist"),
        "{message}"
    );
    assert_eq!(
        records(&export(&dir, &[])),
        records(&before),
        "nothing changed"
    );

    // Without --reset, the unique value clashes with a call the portal keeps.
    let clash = hubcalls(&["import", bad.to_str().unwrap(), "--portal", "7"], &dir);
    let message = stderr(&clash);
    assert!(
        message.contains(
            "line 3: ticket_ref \"t-1\" is a unique value already held by call 700001 of portal 7"
        ),
        "{message}"
    );
    assert_eq!(
        records(&export(&dir, &[])),
        records(&before),
        "nothing changed"
    );

    // Without a header, the portal must be given.
    let headless = hubcalls(&["import", bad.to_str().unwrap()], &dir);
    assert!(
        stderr(&headless).contains("no portal"),
        "{}",
        stderr(&headless)
    );
}

#[test]
fn export_needs_a_portal_when_the_store_holds_several() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("data");
    let file = work.path().join("f.ndjson");
    std::fs::write(&file, FIXTURE).unwrap();
    for portal in ["1", "2"] {
        let fixture = FIXTURE
            .replace("\"portal\":7", &format!("\"portal\":{portal}"))
            .replace("7000", &format!("{portal}000"));
        std::fs::write(&file, fixture).unwrap();
        let loaded = hubcalls(&["import", file.to_str().unwrap()], &dir);
        assert!(loaded.status.success(), "{}", stderr(&loaded));
    }
    let ambiguous = hubcalls(&["export"], &dir);
    assert!(!ambiguous.status.success());
    assert!(
        stderr(&ambiguous).contains("the store holds portals 1, 2: choose one with --portal"),
        "{}",
        stderr(&ambiguous)
    );
    let missing = hubcalls(&["export"], &work.path().join("nowhere"));
    assert!(
        stderr(&missing).contains("no store at"),
        "{}",
        stderr(&missing)
    );
}

/// A HubSpot export of calls: columns named by label, values by option label, a notes
/// cell over two lines, an owner-style column hubcalls cannot read and read-only columns.
const HUBSPOT_CSV: &str = "\u{feff}Record ID,Activity date,Call Title,Call notes,Call direction,Call outcome,Call duration,Create date,Associated Contact,Associated Contact IDs,hs_call_status
1234,2024-05-01 10:00,Discovery,\"Line one
line two\",Inbound,Connected,60000,2024-05-01 10:05,Ada Lovelace,501;502,COMPLETED
1235,2024-05-02 11:30,Sideways call,,Sideways,,,2024-05-02 11:31,,,
1236,,No date,,Outbound,,,,,,
1237,2024-05-03 09:00:15,Third,,OUTBOUND,No answer,abc,,,,
1238,2024-05-04 08:00,Fourth,,outbound,,,,,7,Completed
1239,2024-05-05 08:00,Fifth,,Inbound,,,,,8,
";

#[test]
fn a_hubspot_csv_export_imports_by_labels_and_reports_bad_rows() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("data");
    let csv = work.path().join("calls-export.csv");
    std::fs::write(&csv, HUBSPOT_CSV).unwrap();
    // The contacts the export names exist in the portal, but for 8.
    let store = hubcalls::open_store(&Storage::Directory(dir.clone()), None).expect("store opens");
    common::restore_contacts(&*store, 3, &[501, 502, 7]);
    drop(store);
    let imported = hubcalls(&["import", csv.to_str().unwrap(), "--portal", "3"], &dir);
    let message = stderr(&imported);
    assert!(
        !imported.status.success(),
        "bad rows make the exit status fail"
    );
    assert!(
        message.contains("2 calls created, 4 row(s) refused"),
        "{message}"
    );
    assert!(
        message.contains("column \"Call Title\" -> hs_call_title"),
        "{message}"
    );
    assert!(
        message.contains("column \"Record ID\" ignored"),
        "{message}"
    );
    assert!(
        message.contains("column \"Associated Contact\" ignored"),
        "{message}"
    );
    // The first row spans lines 2 and 3, so the bad ones are on lines 4, 5, 6 and 8.
    assert!(
        message.contains("line 4: hs_call_direction: Sideways was not one of the allowed options"),
        "{message}"
    );
    assert!(message.contains("line 5: hs_timestamp"), "{message}");
    assert!(
        message.contains("line 6: hs_call_duration: abc was not a valid number"),
        "{message}"
    );
    // A contact the portal does not have, in HubSpot's words and nothing else.
    assert!(
        message
            .lines()
            .any(|line| line.trim() == "line 8: CONTACT=8 is not valid"),
        "{message}"
    );
    assert!(!message.contains("line 7"), "{message}");

    let exported = export(&dir, &[]);
    let calls: Vec<Value> = records(&exported)
        .into_iter()
        .filter(|r| r["record"] == "object" && r["objectType"] == "calls")
        .collect();
    assert_eq!(calls.len(), 2);
    let first = &calls[0]["properties"];
    assert_eq!(first["hs_call_title"], "Discovery");
    assert_eq!(first["hs_timestamp"], "2024-05-01T10:00:00Z");
    assert_eq!(first["hs_call_body"], "Line one\nline two");
    assert_eq!(first["hs_call_direction"], "INBOUND");
    assert_eq!(
        first["hs_call_disposition"],
        "f240bbac-87c9-4f6e-bf70-924b57d47db7"
    );
    assert_eq!(first["hs_call_status"], "COMPLETED");
    assert_eq!(first["hs_object_source"], "IMPORT");
    assert_ne!(first["hs_object_id"], "1234", "rows get new ids");
    assert_eq!(
        calls[0]["propertiesWithHistory"]["hs_call_title"][0]["sourceType"],
        "IMPORT"
    );
    assert_eq!(
        calls[0]["propertiesWithHistory"]["hs_call_title"][0]["sourceId"],
        "calls-export.csv"
    );
    let contacts: Vec<&str> = calls[0]["associations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["toObjectId"].as_str().unwrap())
        .collect();
    assert_eq!(contacts, ["501", "502"]);
    assert_eq!(calls[1]["properties"]["hs_call_direction"], "OUTBOUND");
    assert_eq!(calls[1]["properties"]["hs_call_status"], "COMPLETED");
}

/// A HubSpot export of contacts: labels, an option label, a repeated email (contacts' email
/// is unique) and the companies each contact belongs to.
const CONTACTS_CSV: &str = "Record ID,Email,First Name,Lifecycle Stage,Associated Company IDs
11,ada@example.com,Ada,Lead,601
12,grace@example.com,Grace,Customer,
13,ADA@example.com,Ada again,Lead,
14,alan@example.com,Alan,Sideways,
";

#[test]
fn a_csv_export_of_another_type_imports_with_its_object_type() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("data");
    let csv = work.path().join("contacts.csv");
    std::fs::write(&csv, CONTACTS_CSV).unwrap();
    let store = hubcalls::open_store(&Storage::Directory(dir.clone()), None).expect("store opens");
    let companies = hubcalls::crm::ports::RestoredRecord {
        call: hubcalls::crm::record::Record {
            id: 601,
            properties: [("name".to_owned(), "Engines".to_owned())].into(),
            created_at: 0,
            updated_at: 0,
            archived_at: None,
        },
        history: Vec::new(),
        associations: Vec::new(),
    };
    let partition =
        hubcalls::crm::objects::Partition::new(3, hubcalls::crm::objects::ObjectType::COMPANIES);
    store
        .restore_records(
            partition,
            hubcalls::crm::objects::ObjectType::COMPANIES.catalogue(),
            &[companies],
        )
        .expect("the company is restored");
    drop(store);

    let imported = hubcalls(
        &[
            "import",
            csv.to_str().unwrap(),
            "--portal",
            "3",
            "--object-type",
            "contacts",
        ],
        &dir,
    );
    let message = stderr(&imported);
    assert!(
        message.contains("2 contacts created, 2 row(s) refused"),
        "{message}"
    );
    assert!(
        message.contains("column \"First Name\" -> firstname"),
        "{message}"
    );
    assert!(
        message.contains(
            "line 4: email \"ADA@example.com\" is a unique value already held by contact"
        ),
        "{message}"
    );
    assert!(
        message.contains("line 5: lifecyclestage: Sideways was not one of the allowed options"),
        "{message}"
    );
    let exported = export(&dir, &[]);
    let contacts: Vec<Value> = records(&exported)
        .into_iter()
        .filter(|r| r["objectType"] == "contacts")
        .collect();
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0]["properties"]["firstname"], "Ada");
    assert_eq!(contacts[0]["properties"]["lifecyclestage"], "lead");
    assert_eq!(contacts[1]["properties"]["lifecyclestage"], "customer");
    // Contacts keep their associations with companies.
    assert_eq!(contacts[0]["associations"][0]["toObjectId"], "601");
    assert_eq!(contacts[0]["associations"][0]["toObjectType"], "companies");

    // An NDJSON file names its types itself.
    let ndjson = work.path().join("portal.ndjson");
    std::fs::write(&ndjson, &exported).unwrap();
    let refused = hubcalls(
        &[
            "import",
            ndjson.to_str().unwrap(),
            "--object-type",
            "contacts",
        ],
        &dir,
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("--object-type is for CSV files"),
        "{}",
        stderr(&refused)
    );
}
