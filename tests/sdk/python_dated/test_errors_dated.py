"""HubSpot's errors as the date-versioned SDK raises them: its `APIStatusError` subclasses,
with HubSpot's error body (`status`, `category`, `message`, `correlationId`) as `.body`."""

import pytest
from hubspot_sdk import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    HubSpot,
    NotFoundError,
)

from dated_types import BY_NAME, KINDS


def assert_envelope(error: APIStatusError, status: int, category: str):
    assert error.status_code == status
    body = error.body
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["message"]
    assert body["correlationId"] == error.response.headers["x-hubspot-correlation-id"]


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_unknown_record_is_not_found(kind, client):
    with pytest.raises(NotFoundError) as raised:
        kind.api(client).get("999999999")
    assert_envelope(raised.value, 404, "OBJECT_NOT_FOUND")


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_invalid_property_is_a_validation_error(kind, client, unique):
    with pytest.raises(BadRequestError) as raised:
        kind.api(client).create(
            associations=[], properties={**kind.properties(unique()), "no_such_property": "x"}
        )
    assert_envelope(raised.value, 400, "VALIDATION_ERROR")
    assert raised.value.body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert "no_such_property" in raised.value.body["message"]


def test_missing_required_property_names_it(client):
    with pytest.raises(BadRequestError) as raised:
        client.crm.objects.deals.create(associations=[], properties={"dealname": "No stage"})
    assert_envelope(raised.value, 400, "VALIDATION_ERROR")
    assert raised.value.body["message"] == "Error creating DEAL.  Some required properties were not set."
    assert raised.value.body["context"]["properties"] == ["dealstage"]


def test_taken_email_is_a_conflict(client, unique):
    email = f"{unique()}@example.com"
    existing = client.crm.objects.contacts.create(associations=[], properties={"email": email})
    # The SDK retries a 409 by default; the answer stays the same.
    with pytest.raises(ConflictError) as raised:
        client.crm.objects.contacts.create(associations=[], properties={"email": email})
    assert_envelope(raised.value, 409, "CONFLICT")
    assert f"Existing ID: {existing.id}" in raised.value.body["message"]


def test_a_wrong_token_is_refused(server):
    stranger = HubSpot(access_token="pat-na1-not-a-token", base_url=server.base_url)
    with pytest.raises(AuthenticationError) as raised:
        stranger.crm.objects.calls.list(limit=1)
    assert_envelope(raised.value, 401, "INVALID_AUTHENTICATION")


def test_a_batch_with_an_unknown_id_is_207_with_errors(client, unique):
    calls = client.crm.objects.calls
    known = calls.create(associations=[], properties=BY_NAME["calls"].properties(unique())).id
    read = calls.batch.get(
        inputs=[{"id": known}, {"id": "999999998"}], properties=[], properties_with_history=[]
    )
    assert [r.id for r in read.results] == [known]
    # The SDK's model has no `errors`; HubSpot's 207 body keeps them as extra fields.
    errors = read.model_extra["errors"]
    assert errors[0]["category"] == "OBJECT_NOT_FOUND"
    assert errors[0]["context"]["ids"] == ["999999998"]

