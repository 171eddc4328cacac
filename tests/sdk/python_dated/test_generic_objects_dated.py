"""The SDK's type-generic resource (`client.crm.objects.generic_objects`), which takes the
object type as a path segment: each type by its id (`0-48`, `0-1`, …), as HubSpot's
specifications spell them."""

import pytest
from hubspot_sdk import NotFoundError

from dated_types import KINDS


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_every_operation_by_type_id(kind, client, unique):
    generic = client.crm.objects.generic_objects
    word = unique()
    created = generic.create(kind.type_id, associations=[], properties=kind.properties(word))
    got = generic.get(created.id, object_type=kind.type_id, properties=[kind.title])
    assert got.properties[kind.title] == word

    renamed = unique("renamed")
    generic.update(created.id, object_type=kind.type_id, properties={kind.title: renamed})
    # The same record through the type's own resource (by name).
    assert kind.api(client).get(created.id, properties=[kind.title]).properties[kind.title] == renamed

    found = generic.search(
        kind.type_id,
        query=renamed,
        filter_groups=[],
        sorts=[],
        properties=[kind.title],
        limit=5,
        after="",
    )
    assert [r.id for r in found.results] == [created.id]
    assert created.id in {r.id for r in generic.list(kind.type_id, limit=100)}

    read = generic.batch.get(
        kind.type_id, inputs=[{"id": created.id}], properties=[kind.title], properties_with_history=[]
    )
    assert [r.properties[kind.title] for r in read.results] == [renamed]

    assert generic.delete(created.id, object_type=kind.type_id) is None
    with pytest.raises(NotFoundError):
        generic.get(created.id, object_type=kind.type_id)
