"""Every object type hubcalls serves, through the date-versioned SDK's own resources
(`client.crm.objects.<type>`): create, read, update, archive, list with paging, the five
batch operations and search."""

import pytest
from hubspot_sdk import NotFoundError

from dated_types import KINDS


def create(kind, client, word, **extra):
    return kind.api(client).create(associations=[], properties={**kind.properties(word), **extra})


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_create_get_update_archive(kind, client, unique):
    api = kind.api(client)
    word = unique()
    created = create(kind, client, word)
    assert created.id.isdigit()
    assert created.archived is False
    assert created.properties[kind.title] == word
    assert created.created_at is not None and created.updated_at is not None

    got = api.get(created.id, properties=[kind.title, "hs_object_id"])
    assert got.id == created.id
    assert got.properties[kind.title] == word
    assert got.properties["hs_object_id"] == created.id

    renamed = unique("renamed")
    updated = api.update(created.id, properties={kind.title: renamed})
    assert updated.properties[kind.title] == renamed
    history = api.get(created.id, properties_with_history=[kind.title])
    assert [v.value for v in history.properties_with_history[kind.title]][:2] == [renamed, word]

    assert api.delete(created.id) is None
    with pytest.raises(NotFoundError) as raised:
        api.get(created.id)
    assert raised.value.body["category"] == "OBJECT_NOT_FOUND"
    archived = api.get(created.id, archived=True, properties=[kind.title])
    assert archived.archived is True
    assert archived.properties[kind.title] == renamed


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_list_pages_through_every_record(kind, client, unique):
    api = kind.api(client)
    ids = {create(kind, client, unique()).id for _ in range(3)}

    first = api.list(limit=2, properties=[kind.title])
    assert len(first.results) == 2
    assert first.has_next_page()
    # Paging links stay on the version the client called.
    assert "/crm/objects/2026-03/" in first.paging.next.link
    second = first.get_next_page()
    assert not {r.id for r in first.results} & {r.id for r in second.results}

    # The SDK's auto-pagination follows `paging.next.after` to the end.
    seen = [record.id for record in api.list(limit=2)]
    assert len(seen) == len(set(seen))
    assert ids <= set(seen)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_batch_create_read_update_archive(kind, client, unique):
    batch = kind.api(client).batch
    words = [unique(), unique()]
    created = batch.create(inputs=[{"properties": kind.properties(w), "associations": []} for w in words])
    assert created.status == "COMPLETE"
    by_word = {r.properties[kind.title]: r.id for r in created.results}
    assert set(by_word) == set(words)
    ids = [by_word[w] for w in words]

    read = batch.get(inputs=[{"id": i} for i in ids], properties=[kind.title], properties_with_history=[])
    assert {r.id: r.properties[kind.title] for r in read.results} == dict(zip(ids, words))

    renamed = [unique("renamed"), unique("renamed")]
    updated = batch.update(
        inputs=[{"id": i, "properties": {kind.title: w}} for i, w in zip(ids, renamed)]
    )
    assert {r.id: r.properties[kind.title] for r in updated.results} == dict(zip(ids, renamed))

    assert batch.delete(inputs=[{"id": i} for i in ids]) is None
    for record_id in ids:
        with pytest.raises(NotFoundError):
            kind.api(client).get(record_id)
    archived = batch.get(
        inputs=[{"id": i} for i in ids], properties=[kind.title], properties_with_history=[], archived=True
    )
    assert sorted(r.id for r in archived.results) == sorted(ids)
    assert all(r.archived for r in archived.results)


@pytest.fixture(scope="module")
def unique_property(client):
    """A unique-value property per type, made through the SDK's properties API, for upserts."""
    made = {}

    def for_kind(kind):
        if kind.name not in made:
            group = client.crm.properties.groups.list(kind.name).results[0].name
            prop = client.crm.properties.create(
                kind.name,
                name="sdk_external_id",
                label="External id",
                type="string",
                field_type="text",
                group_name=group,
                has_unique_value=True,
            )
            assert prop.has_unique_value is True
            made[kind.name] = prop.name
        return made[kind.name]

    return for_kind


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_batch_upsert_creates_then_updates(kind, client, unique, unique_property):
    batch = kind.api(client).batch
    id_property = unique_property(kind)
    external, word = unique("ext"), unique()
    first = batch.upsert(
        inputs=[{"id": external, "id_property": id_property, "properties": kind.properties(word)}]
    )
    assert len(first.results) == 1
    record = first.results[0]
    assert record.new is True
    assert record.properties[id_property] == external

    renamed = unique("renamed")
    second = batch.upsert(
        inputs=[{"id": external, "id_property": id_property, "properties": {kind.title: renamed}}]
    )
    assert second.results[0].new is False
    assert second.results[0].id == record.id
    got = kind.api(client).get(external, id_property=id_property, properties=[kind.title])
    assert got.id == record.id
    assert got.properties[kind.title] == renamed
    read = batch.get(
        inputs=[{"id": external}],
        id_property=id_property,
        properties=[kind.title],
        properties_with_history=[],
    )
    assert [(r.id, r.properties[kind.title]) for r in read.results] == [(record.id, renamed)]


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_search_filters_sorts_query_and_pages(kind, client, unique):
    api = kind.api(client)
    word = unique("find")
    ids = [create(kind, client, word).id for _ in range(3)]
    create(kind, client, unique("other"))

    by_filter = api.search(
        filter_groups=[{"filters": [{"property_name": "hs_object_id", "operator": "IN", "values": ids}]}],
        sorts=["-hs_object_id"],
        properties=[kind.title],
        limit=2,
        after="",
    )
    assert by_filter.total == 3
    expected = sorted(ids, key=int, reverse=True)
    assert [r.id for r in by_filter.results] == expected[:2]
    assert all(r.properties[kind.title] == word for r in by_filter.results)
    rest = api.search(
        filter_groups=[{"filters": [{"property_name": "hs_object_id", "operator": "IN", "values": ids}]}],
        sorts=["-hs_object_id"],
        properties=[kind.title],
        limit=2,
        after=by_filter.paging.next.after,
    )
    assert [r.id for r in rest.results] == expected[2:]
    assert rest.paging is None or rest.paging.next is None

    by_query = api.search(
        query=word, filter_groups=[], sorts=["hs_object_id"], properties=[kind.title], limit=10, after=""
    )
    assert [r.id for r in by_query.results] == sorted(ids, key=int)

    by_value = api.search(
        filter_groups=[{"filters": [{"property_name": kind.title, "operator": "EQ", "value": word}]}],
        sorts=[],
        properties=[],
        limit=10,
        after="",
    )
    assert sorted(r.id for r in by_value.results) == sorted(ids)
