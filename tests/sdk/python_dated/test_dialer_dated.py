"""A dialer's flow through the date-versioned SDK: find the caller's contact by phone, create
it (with its company) when missing, log the call associated with both, and read the call back
from the contact's associations."""

import random

from dated_types import TS


def hubspot_defined(type_id):
    return {"association_category": "HUBSPOT_DEFINED", "association_type_id": type_id}


def find_caller(client, national):
    """HubSpot matches phones on `hs_searchable_calculated_phone_number` (area code and
    local number only); the stored `phone` as written is the fallback."""
    found = client.crm.objects.contacts.search(
        filter_groups=[
            {"filters": [{"property_name": name, "operator": "EQ", "value": national}]}
            for name in ("hs_searchable_calculated_phone_number", "phone")
        ],
        sorts=["-createdate"],
        properties=["firstname", "phone", "associatedcompanyid"],
        limit=1,
        after="",
    )
    return found.results[0] if found.results else None


def find_or_create_caller(client, national, company_name):
    contact = find_caller(client, national)
    if contact is not None:
        return contact, False
    company = client.crm.objects.companies.create(associations=[], properties={"name": company_name})
    contact = client.crm.objects.contacts.create(
        # Contact to company: primary (1) and unlabelled (279).
        associations=[{"to": {"id": company.id}, "types": [hubspot_defined(1), hubspot_defined(279)]}],
        properties={"phone": f"+1 ({national[:3]}) {national[3:6]}-{national[6:]}", "firstname": "Caller"},
    )
    return contact, True


def test_dialer_finds_or_creates_the_caller_and_logs_the_call(client, unique):
    national = "617555" + f"{random.randrange(10_000):04d}"
    company_name = unique("Acme")

    contact, created = find_or_create_caller(client, national, company_name)
    assert created
    again, created_again = find_or_create_caller(client, national, company_name)
    assert (again.id, created_again) == (contact.id, False)
    assert again.properties["phone"] == f"+1 ({national[:3]}) {national[3:6]}-{national[6:]}"

    companies = client.crm.associations.list("companies", object_type="contacts", object_id=contact.id)
    assert len(companies.results) == 1
    company_id = str(companies.results[0].to_object_id)
    assert {t.type_id for t in companies.results[0].association_types} == {1, 279}

    call = client.crm.objects.calls.create(
        associations=[
            {"to": {"id": contact.id}, "types": [hubspot_defined(194)]},  # call to contact
            {"to": {"id": company_id}, "types": [hubspot_defined(182)]},  # call to company
        ],
        properties={
            "hs_timestamp": TS,
            "hs_call_title": "Inbound call",
            "hs_call_direction": "INBOUND",
            "hs_call_from_number": f"+1{national}",
            "hs_call_duration": "95000",
            "hs_call_status": "COMPLETED",
        },
    )

    logged = client.crm.associations.list("calls", object_type="contacts", object_id=contact.id)
    assert [str(r.to_object_id) for r in logged.results] == [call.id]
    assert {t.type_id for t in logged.results[0].association_types} == {193}
    from_company = client.crm.associations.list("calls", object_type="companies", object_id=company_id)
    assert [str(r.to_object_id) for r in from_company.results] == [call.id]

    read = client.crm.objects.calls.get(
        call.id, associations=["contacts", "companies"], properties=["hs_call_direction", "hs_call_duration"]
    )
    assert read.properties["hs_call_direction"] == "INBOUND"
    assert read.properties["hs_call_duration"] == "95000"
    assert [a.id for a in read.associations["contacts"].results] == [contact.id]
    assert {a.id for a in read.associations["companies"].results} == {company_id}
