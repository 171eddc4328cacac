"""The properties API through the date-versioned SDK (`client.crm.properties`, under
`/crm/properties/2026-03/{objectType}`): properties, groups and batches, on every type."""

import pytest
from hubspot_sdk import NotFoundError

from dated_types import KINDS


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_group_and_property_lifecycle(kind, client, unique):
    properties = client.crm.properties
    group_name = unique("group")
    group = properties.groups.create(kind.name, name=group_name, label="SDK fields", display_order=3)
    assert (group.name, group.label, group.display_order) == (group_name, "SDK fields", 3)
    relabelled = properties.groups.update(group_name, object_type=kind.name, label="Renamed")
    assert relabelled.label == "Renamed"
    assert properties.groups.get(group_name, object_type=kind.name).label == "Renamed"
    assert group_name in {g.name for g in properties.groups.list(kind.name).results}

    name = unique("tier_")
    created = properties.create(
        kind.name,
        name=name,
        label="Tier",
        type="enumeration",
        field_type="select",
        group_name=group_name,
        options=[
            {"label": "Gold", "value": "gold", "display_order": 0, "hidden": False},
            {"label": "Silver", "value": "silver", "display_order": 1, "hidden": False},
        ],
    )
    assert (created.name, created.type, created.field_type) == (name, "enumeration", "select")
    assert [o.value for o in created.options] == ["gold", "silver"]

    updated = properties.update(name, object_type=kind.name, label="Customer tier")
    assert updated.label == "Customer tier"
    assert properties.get(name, object_type=kind.name).label == "Customer tier"
    assert name in {p.name for p in properties.list(kind.name).results}

    # The new property takes values on the type's records.
    record = kind.api(client).create(
        associations=[], properties={**kind.properties(unique()), name: "gold"}
    )
    assert kind.api(client).get(record.id, properties=[name]).properties[name] == "gold"

    assert properties.delete(name, object_type=kind.name) is None
    with pytest.raises(NotFoundError):
        properties.get(name, object_type=kind.name)
    assert properties.get(name, object_type=kind.name, archived=True).archived is True
    assert properties.groups.delete(group_name, object_type=kind.name) is None
    with pytest.raises(NotFoundError):
        properties.groups.get(group_name, object_type=kind.name)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_batch_create_read_archive(kind, client, unique):
    batch = client.crm.properties.batch
    group = client.crm.properties.groups.list(kind.name).results[0].name
    names = [unique("score_"), unique("note_")]
    specs = [
        {"name": names[0], "label": "Score", "type": "number", "field_type": "number"},
        {"name": names[1], "label": "Note", "type": "string", "field_type": "textarea"},
    ]
    created = batch.create(kind.name, inputs=[{**spec, "group_name": group} for spec in specs])
    assert created.status == "COMPLETE"
    assert {p.name: p.type for p in created.results} == {names[0]: "number", names[1]: "string"}

    read = batch.get(
        kind.name,
        inputs=[{"name": n} for n in names],
        archived=False,
        data_sensitivity="non_sensitive",
    )
    assert sorted(p.name for p in read.results) == sorted(names)

    assert batch.delete(kind.name, inputs=[{"name": n} for n in names]) is None
    live = {p.name for p in client.crm.properties.list(kind.name).results}
    assert not live & set(names)
