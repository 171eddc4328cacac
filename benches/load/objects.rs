//! The object types the load bench runs its workloads against, and the objects it seeds each
//! with. The workloads' own bodies are in `benches/wrk/objects.lua`; the seeded objects here
//! have the same properties and the same split of W4's filter property (half and half, by `n`),
//! so W2, W4, W5 and W6 read and change objects like the ones W1 and W3 create.

use serde_json::{json, Value};

/// The types `--object-type` accepts (plural names, as in `/crm/v3/objects/{type}`), in the
/// order `--object-type all` runs them.
pub const OBJECT_TYPES: [&str; 9] = [
    "calls",
    "contacts",
    "companies",
    "deals",
    "tickets",
    "notes",
    "emails",
    "meetings",
    "tasks",
];

/// The types an `--object-type` value names: one type by its plural or singular name in any
/// case, or `all`.
pub fn parse_object_types(text: &str) -> Result<Vec<&'static str>, String> {
    let text = text.trim().to_ascii_lowercase();
    if text == "all" {
        return Ok(OBJECT_TYPES.to_vec());
    }
    OBJECT_TYPES
        .iter()
        .find(|plural| **plural == text || plural.strip_suffix('s') == Some(&text))
        .or_else(|| (text == "company").then_some(&"companies"))
        .map(|plural| vec![*plural])
        .ok_or_else(|| {
            format!(
                "--object-type {text:?} is not one of: all, {}",
                OBJECT_TYPES.join(", ")
            )
        })
}

/// An instant spread over a year by `n` (as the seeded calls' `hs_timestamp`), `offset`
/// seconds later.
fn spread_time(n: usize, offset: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(
        1_700_000_000 + (n as i64 * 37) % 31_536_000 + offset,
    )
    .expect("a timestamp in range");
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
    ))
    .expect("format")
}

/// The `n`-th of a list, cycling.
fn pick<'a>(list: &[&'a str], n: usize) -> &'a str {
    list[n % list.len()]
}

/// Two halves by `n`: W4 filters on one value, then on the other.
fn half<'a>(n: usize, even: &'a str, odd: &'a str) -> &'a str {
    if n.is_multiple_of(2) {
        even
    } else {
        odd
    }
}

const TOPICS: [&str; 6] = [
    "renewal timeline",
    "pricing for the enterprise tier",
    "onboarding blockers",
    "support escalation",
    "quarterly business review",
    "contract redlines",
];

/// The input (`properties` and `associations`) of the `n`-th seeded object of `object_type`;
/// `tag` makes the run's values its own (contacts' emails are unique per portal).
pub fn seeded_object(object_type: &str, n: usize, tag: &str) -> Value {
    let topic = pick(&TOPICS, n);
    let properties = match object_type {
        "calls" => return seeded_call(n, tag),
        "contacts" => {
            let first = pick(&["Ada", "Grace", "Alan", "Edsger", "Barbara"], n);
            let last = pick(
                &[
                    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth",
                ],
                n,
            );
            json!({
                "email": format!("{}.{}.{tag}-{n}@example.com", first.to_lowercase(), last.to_lowercase()),
                "firstname": first,
                "lastname": last,
                "phone": format!("+1 617 555 {:04}", n * 7919 % 10_000),
                "company": pick(&["ACME", "Globex", "Initech", "Umbrella"], n),
                "jobtitle": pick(&["Head of Procurement", "VP Finance", "IT Manager"], n),
                "city": pick(&["Boston", "Berlin", "Dublin", "Paris", "Austin"], n),
                "country": "United States",
                "lifecyclestage": half(n, "lead", "customer"),
                "hs_lead_status": pick(&["NEW", "OPEN", "IN_PROGRESS", "CONNECTED"], n),
            })
        }
        "companies" => {
            let name = pick(&["ACME", "Globex", "Initech", "Umbrella", "Hooli"], n);
            json!({
                "name": format!("{name} {tag}-{n}"),
                "domain": format!("{}-{tag}-{n}.example.com", name.to_lowercase()),
                "industry": pick(&["COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "RETAIL"], n),
                "city": pick(&["Boston", "Berlin", "Dublin", "Paris", "Austin"], n),
                "country": "United States",
                "phone": format!("+1 617 555 {:04}", n * 7919 % 10_000),
                "numberofemployees": (10 + n * 37 % 5000).to_string(),
                "annualrevenue": (100_000 * (1 + n * 7919 % 900)).to_string(),
                "type": pick(&["PROSPECT", "PARTNER", "RESELLER", "VENDOR"], n),
                "lifecyclestage": half(n, "lead", "customer"),
                "description": format!("{name} buys our tooling; account {tag}-{n}, synced from the ERP by the nightly job."),
            })
        }
        "deals" => json!({
            "dealname": format!("ACME {topic} {tag}-{n}"),
            "amount": format!("{}.{:02}", 1000 + n * 7919 % 99_000, n % 100),
            "dealstage": pick(&["appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"], n),
            "pipeline": "default",
            "closedate": spread_time(n, 0),
            "dealtype": half(n, "newbusiness", "existingbusiness"),
            "hs_priority": pick(&["low", "medium", "high"], n),
            "description": format!("Renewal for ACME procurement, quote {tag}-{n}; finance signs off before the close date."),
        }),
        "tickets" => json!({
            "subject": format!("{} ({tag}-{n})", pick(&["Export to CSV fails", "SSO login loops", "Webhook deliveries delayed"], n)),
            "content": format!("Customer reports the problem since the last release, while preparing the {topic}. Steps to reproduce and screenshots attached; ref {tag}-{n}, logged from the support inbox."),
            "hs_pipeline": "0",
            "hs_pipeline_stage": pick(&["1", "2", "3"], n),
            "hs_ticket_priority": half(n, "HIGH", "MEDIUM"),
            "hs_ticket_category": pick(&["PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"], n),
            "source_type": pick(&["EMAIL", "CHAT", "FORM", "PHONE"], n),
        }),
        "notes" => json!({
            "hs_timestamp": spread_time(n, 0),
            "hs_note_body": format!("Met the buyer about the {topic}. They want the quote split per region and a reference call with a customer of their size. Ref {tag}-{n}; follow up next week."),
            "hubspot_owner_id": half(n, "71000002", "71000001"),
        }),
        "emails" => json!({
            "hs_timestamp": spread_time(n, 0),
            "hs_email_subject": format!("Re: {topic} ({tag}-{n})"),
            "hs_email_text": format!("Hi, thanks for the call. As promised, a summary of the {topic}, with the open questions for finance. Ref {tag}-{n}. Best regards, the account team."),
            "hs_email_direction": half(n, "INCOMING_EMAIL", "EMAIL"),
            "hs_email_status": pick(&["SENT", "SENT", "SENT", "BOUNCED"], n),
        }),
        "meetings" => json!({
            "hs_timestamp": spread_time(n, 0),
            "hs_meeting_title": format!("{topic} with ACME ({tag}-{n})"),
            "hs_meeting_body": format!("Agenda: review the {topic}. Attendees from procurement and finance; bring the usage report. Ref {tag}-{n}; booked through the scheduling page."),
            "hs_meeting_start_time": spread_time(n, 0),
            "hs_meeting_end_time": spread_time(n, 1800),
            "hs_meeting_outcome": half(n, "COMPLETED", "SCHEDULED"),
            "hs_meeting_location": pick(&["Zoom", "ACME office, Boston", "Phone"], n),
        }),
        "tasks" => json!({
            "hs_timestamp": spread_time(n, 0),
            "hs_task_subject": format!("Follow up on {topic} ({tag}-{n})"),
            "hs_task_body": format!("Send the recap of the {topic}, then book the demo with finance. Check the redlines with legal first. Ref {tag}-{n}; created from the call log."),
            "hs_task_status": half(n, "COMPLETED", "NOT_STARTED"),
            "hs_task_priority": pick(&["LOW", "MEDIUM", "HIGH"], n),
            "hs_task_type": pick(&["CALL", "EMAIL", "TODO"], n),
        }),
        other => panic!("no seeded objects for {other} (see OBJECT_TYPES)"),
    };
    json!({ "properties": properties, "associations": [] })
}

/// A seeded call's properties, shaped as the harness seeds them (`perfctl.py seed`): a
/// ~190-character body, timestamps spread over a year, half inbound and half outbound.
fn seeded_call(n: usize, tag: &str) -> Value {
    const STATUSES: [&str; 6] = [
        "COMPLETED",
        "NO_ANSWER",
        "BUSY",
        "FAILED",
        "COMPLETED",
        "COMPLETED",
    ];
    let at =
        time::OffsetDateTime::from_unix_timestamp(1_700_000_000 + (n as i64 * 37) % 31_536_000)
            .expect("a timestamp in range");
    let timestamp = at
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
        ))
        .expect("format");
    json!({"properties": {
        "hs_timestamp": timestamp,
        "hs_call_title": format!("Seeded call {tag}-{n} with ACME procurement"),
        "hs_call_body": format!("Spoke with the customer about renewal timeline and pricing for the \
            enterprise tier. Agreed next steps: send recap, schedule a follow-up demo, loop in \
            finance. Ref {tag}-{n}; notes logged by the rep."),
        "hs_call_duration": ((n * 7919) % 3_600_000).to_string(),
        "hs_call_direction": if n.is_multiple_of(2) { "INBOUND" } else { "OUTBOUND" },
        "hs_call_status": STATUSES[n % STATUSES.len()],
    }, "associations": []})
}
