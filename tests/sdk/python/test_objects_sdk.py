"""The official Python SDK (hubspot-api-client) drives the standard objects next to calls:
contacts, companies, deals, tickets and the engagement APIs, and the dialer flow end to end."""

import pytest
from hubspot.crm.contacts import (
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
    SimplePublicObjectInput,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException

TS = "2025-04-24T20:01:33.000Z"


def test_contacts_crud_and_conflict(client, unique):
    email = f"{unique('ada')}@example.com"
    api = client.crm.contacts.basic_api
    created = api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"email": email, "firstname": "Ada", "lastname": "Lovelace"}
        )
    )
    assert created.properties["email"] == email
    assert created.properties["createdate"]

    got = api.get_by_id(created.id)
    assert got.properties["firstname"] == "Ada"
    assert set(got.properties) >= {"createdate", "lastmodifieddate", "hs_object_id", "email"}

    by_email = api.get_by_id(email, id_property="email")
    assert by_email.id == created.id

    updated = api.update(
        created.id,
        simple_public_object_input=SimplePublicObjectInput(properties={"jobtitle": "Engineer"}),
    )
    assert updated.properties["jobtitle"] == "Engineer"

    with pytest.raises(ContactsApiException) as ei:
        api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"email": email}
            )
        )
    assert ei.value.status == 409
    assert f"Existing ID: {created.id}" in ei.value.body

    api.archive(created.id)
    with pytest.raises(ContactsApiException) as ei:
        api.get_by_id(created.id)
    assert ei.value.status == 404


@pytest.mark.parametrize(
    "api_name, properties",
    [
        ("companies", {"name": "Analytical Engines", "domain": "engines.example"}),
        ("deals", {"dealname": "Licence", "dealstage": "appointmentscheduled", "pipeline": "default"}),
        ("tickets", {"subject": "Jammed", "hs_pipeline": "0", "hs_pipeline_stage": "1"}),
        ("notes", {"hs_timestamp": TS, "hs_note_body": "Discussed pricing"}),
        ("emails", {"hs_timestamp": TS, "hs_email_direction": "EMAIL", "hs_email_subject": "Hi"}),
        ("meetings", {"hs_timestamp": TS, "hs_meeting_title": "Review"}),
        ("tasks", {"hs_timestamp": TS, "hs_task_subject": "Send quote"}),
    ],
)
def test_each_object_api_creates_reads_and_searches(client, api_name, properties):
    # Engagements live under `crm.objects`, the CRM objects under `crm` itself.
    engagement = api_name in ("notes", "emails", "meetings", "tasks")
    api = getattr(client.crm.objects, api_name) if engagement else getattr(client.crm, api_name)
    package = f"hubspot.crm.objects.{api_name}" if engagement else f"hubspot.crm.{api_name}"
    module = __import__(package, fromlist=["SimplePublicObjectInputForCreate"])
    created = api.basic_api.create(
        simple_public_object_input_for_create=module.SimplePublicObjectInputForCreate(
            properties=properties
        )
    )
    # The last property: stored as written (`hs_timestamp` comes back normalised).
    name, value = list(properties.items())[-1]
    got = api.basic_api.get_by_id(created.id, properties=[name])
    assert got.properties[name] == value
    found = api.search_api.do_search(
        public_object_search_request=module.PublicObjectSearchRequest(
            filter_groups=[
                module.FilterGroup(
                    filters=[module.Filter(property_name="hs_object_id", operator="EQ", value=created.id)]
                )
            ]
        )
    )
    assert found.total == 1
    assert found.results[0].id == created.id


def test_dialer_flow_finds_or_creates_the_caller_and_logs_the_call(client, unique):
    """Find the contact by phone; create it when missing; log a call associated with it;
    read the call back from the contact."""
    national = "617555" + str(abs(hash(unique("phone"))) % 10000).zfill(4)
    search = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[
                    Filter(
                        property_name="hs_searchable_calculated_phone_number",
                        operator="EQ",
                        value=national,
                    )
                ]
            )
        ]
    )
    assert client.crm.contacts.search_api.do_search(public_object_search_request=search).total == 0
    contact = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"phone": f"+1 {national}", "firstname": "Caller"}
        )
    )
    found = client.crm.contacts.search_api.do_search(public_object_search_request=search)
    assert [r.id for r in found.results] == [contact.id]

    from hubspot.crm.objects.calls import SimplePublicObjectInputForCreate as CallInput

    call = client.crm.objects.calls.basic_api.create(
        simple_public_object_input_for_create=CallInput(
            properties={"hs_timestamp": TS, "hs_call_title": "Inbound call"},
            associations=[
                {
                    "to": {"id": contact.id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}],
                }
            ],
        )
    )
    page = client.crm.associations.v4.basic_api.get_page("contacts", contact.id, "calls")
    assert [str(r.to_object_id) for r in page.results] == [call.id]
