"""Object schemas (`/crm-object-schemas/2026-03/schemas`) through the date-versioned SDK: the
standard types' definitions, by name or type id. hubcalls has no custom objects."""

import pytest

from dated_types import KINDS


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_standard_type_schema(kind, client):
    by_id = client.crm.object_schemas.get(kind.type_id)
    by_name = client.crm.object_schemas.get(kind.name)
    assert by_id.object_type_id == by_name.object_type_id == kind.type_id
    assert kind.title in {p.name for p in by_id.properties}
    # What the schema requires on create is what this suite's creates give.
    assert set(by_id.required_properties) <= set(kind.properties("x"))


def test_batch_read_and_no_custom_schemas(client):
    read = client.crm.object_schemas.batch.get(
        inputs=["contacts", "0-3"],
        include_association_definitions=False,
        include_audit_metadata=False,
        include_property_definitions=False,
    )
    assert sorted(s.object_type_id for s in read.results) == ["0-1", "0-3"]
    assert client.crm.object_schemas.list().results == []
