"""Associations through the date-versioned SDK: per record (`/crm/objects/2026-03/{type}/
{id}/associations/…`: default, labelled, list, remove), in batches (`/crm/associations/
2026-03/{from}/{to}/batch/…`) and the labels of a pair of types."""

import pytest

from dated_types import BY_NAME

# HubSpot's own (HUBSPOT_DEFINED) unlabelled association type ids, from -> to
# (HubSpot's associations guide, "Association type ID values"). `0-3` spells deals as the SDK's deals resource does.
PAIRS = [
    ("calls", "calls", "contacts", 194),
    ("contacts", "contacts", "companies", 279),
    ("deals", "0-3", "companies", 341),
    ("tickets", "tickets", "contacts", 16),
    ("notes", "notes", "0-3", 214),
    ("emails", "emails", "companies", 186),
    ("meetings", "meetings", "tickets", 226),
    ("tasks", "tasks", "contacts", 204),
    ("line_items", "line_items", "0-3", 20),
]
TO_RESOURCE = {"0-3": "deals"}


def hubspot_defined(type_id):
    return {"association_category": "HUBSPOT_DEFINED", "association_type_id": type_id}


def record(client, resource, unique):
    kind = BY_NAME[resource]
    return kind.api(client).create(associations=[], properties=kind.properties(unique())).id


def associated(client, object_type, object_id, to_object_type):
    """`{toObjectId: {typeId, ...}}` of one record, through the SDK's list (every page)."""
    found = {}
    for item in client.crm.associations.list(
        to_object_type, object_type=object_type, object_id=object_id, limit=1
    ):
        found[str(item.to_object_id)] = {t.type_id for t in item.association_types}
    return found


def test_default_labelled_list_and_remove(client, unique):
    contact = record(client, "contacts", unique)
    company = record(client, "companies", unique)
    calls = [record(client, "calls", unique) for _ in range(3)]

    default = client.crm.associations.create(
        company, from_object_type="contacts", from_object_id=contact, to_object_type="companies"
    )
    assert default.status == "COMPLETE"
    # Both directions, as HubSpot answers (see docs/compatibility.md, Associations API).
    assert {(r.from_.id, r.to.id) for r in default.results} == {(contact, company), (company, contact)}
    assert associated(client, "contacts", contact, "companies").keys() == {company}

    for call in calls:
        labels = client.crm.associations.update_labels(
            call,
            object_type="contacts",
            object_id=contact,
            to_object_type="calls",
            body=[hubspot_defined(193)],
        )
        # Ids are JSON numbers here, as in HubSpot's guide, though the SDK types them `str`.
        assert (str(labels.from_object_id), str(labels.to_object_id)) == (contact, call)
        assert (labels.from_object_type_id, labels.to_object_type_id) == ("0-1", "0-48")
    # Listed page by page (limit 1), from either side.
    assert associated(client, "contacts", contact, "calls") == {c: {193} for c in calls}
    assert associated(client, "calls", calls[0], "contacts") == {contact: {194}}

    assert (
        client.crm.associations.delete(
            calls[0], object_type="contacts", object_id=contact, to_object_type="calls"
        )
        is None
    )
    assert associated(client, "contacts", contact, "calls").keys() == set(calls[1:])
    assert associated(client, "calls", calls[0], "contacts") == {}


@pytest.mark.parametrize(
    "from_resource, from_type, to_type, type_id", PAIRS, ids=[f"{p[0]}-{p[2]}" for p in PAIRS]
)
def test_batch_create_read_and_archive(client, unique, from_resource, from_type, to_type, type_id):
    to_resource = TO_RESOURCE.get(to_type, to_type)
    sources = [record(client, from_resource, unique) for _ in range(2)]
    targets = [record(client, to_resource, unique) for _ in range(2)]
    batch = client.crm.associations.batch

    created = batch.create(
        to_type,
        from_object_type=from_type,
        inputs=[
            {"from": {"id": s}, "to": {"id": t}, "types": [hubspot_defined(type_id)]}
            for s, t in zip(sources, targets)
        ],
    )
    assert created.status == "COMPLETE"
    pairs = {(str(r.from_object_id), str(r.to_object_id)) for r in created.results}
    assert pairs == set(zip(sources, targets))

    read = batch.get(to_type, from_object_type=from_type, inputs=[{"id": s} for s in sources])
    got = {
        r.from_.id: {(str(to.to_object_id), t.type_id) for to in r.to for t in to.association_types}
        for r in read.results
    }
    assert got == {s: {(t, type_id)} for s, t in zip(sources, targets)}

    # Default associations for the second pair of records, then one pair archived.
    defaults = batch.create_default(
        to_type,
        from_object_type=from_type,
        inputs=[{"from": {"id": sources[1]}, "to": {"id": targets[0]}}],
    )
    assert {(r.from_.id, r.to.id) for r in defaults.results} == {
        (sources[1], targets[0]),
        (targets[0], sources[1]),
    }

    assert (
        batch.delete(
            to_type,
            from_object_type=from_type,
            inputs=[{"from": {"id": sources[0]}, "to": [{"id": targets[0]}]}],
        )
        is None
    )
    assert associated(client, from_type, sources[0], to_type) == {}
    assert set(associated(client, from_type, sources[1], to_type)) == set(targets)


def test_batch_label_archive_keeps_the_association(client, unique):
    contact = record(client, "contacts", unique)
    company = record(client, "companies", unique)
    batch = client.crm.associations.batch
    batch.create(
        "companies",
        from_object_type="contacts",
        inputs=[
            {
                "from": {"id": contact},
                "to": {"id": company},
                "types": [hubspot_defined(1), hubspot_defined(279)],
            }
        ],
    )
    assert associated(client, "contacts", contact, "companies") == {company: {1, 279}}
    assert (
        batch.delete_labels(
            "companies",
            from_object_type="contacts",
            inputs=[{"from": {"id": contact}, "to": {"id": company}, "types": [hubspot_defined(1)]}],
        )
        is None
    )
    assert associated(client, "contacts", contact, "companies") == {company: {279}}


def test_labels_of_a_pair(client):
    labels = client.crm.associations_schema.labels.list_labels("companies", from_object_type="contacts")
    by_id = {label.type_id: label for label in labels.results}
    assert by_id[279].category == "HUBSPOT_DEFINED"
    assert by_id[1].label == "Primary"
