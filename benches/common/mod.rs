//! What the HTTP benchmarks share: the calls they create.

use serde_json::{json, Value};

/// The body of the `n`th call a benchmark creates: realistic properties, half inbound and
/// half outbound, timestamps spread over a year, a unique title.
pub fn call_body(n: usize) -> Value {
    json!({"properties": {
        "hs_timestamp": (1_735_689_600_000u64 + (n as u64 % 31_536_000) * 1000).to_string(),
        "hs_call_title": format!("Discovery call {n}"),
        "hs_call_body": "<p>Discussed pricing and the rollout timeline.</p>",
        "hs_call_direction": if n.is_multiple_of(2) { "OUTBOUND" } else { "INBOUND" },
        "hs_call_status": "COMPLETED",
        "hs_call_duration": (n % 3_600_000).to_string(),
    }})
}
