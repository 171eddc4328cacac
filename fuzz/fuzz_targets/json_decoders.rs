//! Every JSON request body hubcalls decodes, as the extractors decode it: shape check, then
//! the wire type. Any input must give a value or a HubSpot error body, never a panic.
#![no_main]

use hubcalls::api::error::ApiError;
use hubcalls::api::json::{decode, expect_shape};
use hubcalls::api::search::{search_request, SearchInput};
use hubcalls::api::wire::{
    BatchInput, BatchReadInput, BatchUpdateItem, BatchUpsertItem, CreateInput, GdprDeleteInput,
    ObjectIdInput, UpdateInput,
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    expect_shape(bytes, b'{', "an object")?;
    decode(bytes)
}

/// Renders a refusal the way the server would, so the error path is exercised too.
fn render(outcome: Result<(), ApiError>) {
    if let Err(error) = outcome {
        assert!(error.status.is_client_error(), "{error:?}");
        let body = error.body("fuzz");
        assert!(serde_json::to_vec(&body).is_ok());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let outcome = match selector % 9 {
        0 => object::<CreateInput>(body).map(drop),
        1 => object::<UpdateInput>(body).map(drop),
        2 => object::<BatchInput<CreateInput>>(body).map(drop),
        3 => object::<BatchInput<BatchUpdateItem>>(body).map(drop),
        4 => object::<BatchInput<BatchUpsertItem>>(body).map(drop),
        5 => object::<BatchReadInput>(body).map(drop),
        6 => object::<BatchInput<ObjectIdInput>>(body).map(drop),
        7 => object::<GdprDeleteInput>(body).map(drop),
        _ => object::<SearchInput>(body)
            .and_then(search_request)
            .map(drop),
    };
    render(outcome);
});
