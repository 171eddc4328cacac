//! Property value normalisation: any text written to any built-in property is either
//! refused with a problem or stored in a form that normalises to itself, and that search can
//! index. Never a panic.
#![no_main]

use std::sync::OnceLock;

use hubcalls::crm::properties::{normalize_value, PropertyCatalogue, PropertyDefinition};
use hubcalls::crm::search::IndexedValue;
use libfuzzer_sys::fuzz_target;

fn definitions() -> &'static [PropertyDefinition] {
    static DEFINITIONS: OnceLock<Vec<PropertyDefinition>> = OnceLock::new();
    DEFINITIONS.get_or_init(|| {
        PropertyCatalogue::builtin()
            .iter()
            .map(|def| def.as_ref().clone())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, raw)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(raw) else {
        return;
    };
    let definitions = definitions();
    let def = &definitions[usize::from(selector) % definitions.len()];
    if let Ok(Some(stored)) = normalize_value(def, raw) {
        // What is stored is read back by later writes (history, upserts): it must be a
        // fixed point, or values would drift each time they pass through the rules.
        assert_eq!(
            normalize_value(def, &stored),
            Ok(Some(stored.clone())),
            "{} {:?}: {raw:?} was stored as {stored:?}",
            def.name,
            def.property_type
        );
        let _ = IndexedValue::new(def.property_type, &stored);
    }
});
