"""Official Python SDK (hubspot-api-client 12.0.0) against hubcalls: properties API,
property groups, batch upsert and v4 associations between calls and contacts.

The server is shared by the whole session (conftest.py), so every name created here is
made unique with the ``unique`` fixture.

SDK facts that shape these tests:
* ``client.crm.properties.core_api`` / ``groups_api`` take the object type as the first
  argument; create only deserialises on 201, get/update/get_all on 200, archive returns None.
* ``client.crm.objects.calls.batch_api.upsert`` deserialises 200
  (``BatchResponseSimplePublicUpsertObject``) and 207 (``...WithErrors``).
* The v4 association models type ``toObjectId``/``fromObjectId`` as ``str`` although the API
  sends JSON numbers; the SDK's primitive deserialiser turns them into strings.
* ``from`` is a Python keyword: the models name it ``_from``.
* ``basic_api.create`` (labelled PUT) deserialises only 201, ``create_default`` only 200,
  ``batch_api.create`` 201/207, ``batch_api.get_page`` (batch/read) 200/207.
"""

import datetime as dt
import json

import pytest

from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    BatchResponseLabelsBetweenObjectPair,
    BatchResponsePublicAssociationMultiWithLabel,
    BatchResponsePublicAssociationMultiWithLabelWithErrors,
    BatchResponsePublicDefaultAssociation,
    CollectionResponseMultiAssociatedObjectWithLabelForwardPaging,
    LabelsBetweenObjectPair,
    PublicAssociationMultiArchive,
    PublicAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)
from hubspot.crm.objects.calls import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchResponseSimplePublicUpsertObject,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import (
    ApiException as PropertiesApiException,
    CollectionResponsePropertyGroupNoPaging,
    CollectionResponsePropertyNoPaging,
    ModelProperty,
    OptionInput,
    PropertyCreate,
    PropertyGroup,
    PropertyGroupCreate,
    PropertyUpdate,
)
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactInputForCreate
from hubspot.crm.objects.calls import ApiException as CallsApiException
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException

TS = "2025-04-24T20:01:33.000Z"


def name_of(unique, prefix):
    # Property names must be lower-case letters, digits and underscores.
    return unique(prefix).replace("-", "_")


def error_body(exc):
    return json.loads(exc.body)


def new_call(client, unique, **extra):
    props = {"hs_timestamp": TS, "hs_call_title": unique("assoc")}
    props.update(extra)
    obj = client.crm.objects.calls.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties=props)
    )
    assert obj is not None
    return obj.id


def new_contact(client, unique):
    """A real contact, made through the SDK's contacts API: associations need their records."""
    obj = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=ContactInputForCreate(
            properties={"email": f"{unique('contact')}@example.com"}
        )
    )
    assert obj is not None
    return obj.id


def assert_invalid_contacts(exc, *ids):
    """HubSpot's 400 for associations with records that do not exist."""
    assert exc.status == 400
    body = error_body(exc)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"] == "One or more associations are invalid"
    assert body["context"]["INVALID_OBJECT_IDS"] == [f"CONTACT={i} is not valid" for i in ids]


# ---------------------------------------------------------------- properties


def test_property_lifecycle_through_core_api(client, unique):
    core = client.crm.properties.core_api
    name = name_of(unique, "sdk_prop")
    created = core.create(
        "calls",
        PropertyCreate(
            name=name,
            label="SDK property",
            type="enumeration",
            field_type="select",
            group_name="callinformation",
            options=[OptionInput(label="Yes", value="yes", hidden=False, display_order=0)],
        ),
    )
    assert isinstance(created, ModelProperty), "create must answer 201 with a Property"
    assert created.name == name
    assert created.hubspot_defined is False
    assert created.archived is False
    assert isinstance(created.created_at, dt.datetime) and created.created_at.tzinfo is not None
    assert [o.value for o in created.options] == ["yes"]
    assert created.modification_metadata.archivable is True

    got = core.get_by_name("calls", name)
    assert isinstance(got, ModelProperty)
    assert got.label == "SDK property"
    assert got.type == "enumeration" and got.field_type == "select"

    every = core.get_all("calls")
    assert isinstance(every, CollectionResponsePropertyNoPaging)
    names = {p.name for p in every.results}
    assert {name, "hs_call_title", "hs_timestamp"} <= names
    # Same schema under the object type id.
    assert name in {p.name for p in core.get_all("0-48").results}

    updated = core.update(
        "calls",
        name,
        PropertyUpdate(
            label="SDK property v2",
            options=[
                OptionInput(label="Yes", value="yes", hidden=False, display_order=0),
                OptionInput(label="No", value="no", hidden=False, display_order=1),
            ],
        ),
    )
    assert isinstance(updated, ModelProperty)
    assert updated.label == "SDK property v2"
    assert [o.value for o in updated.options] == ["yes", "no"]

    # The new option is usable on a call.
    call = new_call(client, unique, **{name: "no"})
    read = client.crm.objects.calls.basic_api.get_by_id(call, properties=[name])
    assert read.properties[name] == "no"

    assert core.archive("calls", name) is None
    with pytest.raises(PropertiesApiException) as ei:
        core.get_by_name("calls", name)
    assert ei.value.status == 404
    archived = core.get_all("calls", archived=True)
    assert name in {p.name for p in archived.results}


def test_property_errors_through_core_api(client, unique):
    core = client.crm.properties.core_api
    name = name_of(unique, "sdk_dup")
    core.create(
        "calls",
        PropertyCreate(name=name, label="D", type="string", field_type="text", group_name="callinformation"),
    )
    with pytest.raises(PropertiesApiException) as ei:
        core.create(
            "calls",
            PropertyCreate(name=name, label="D", type="string", field_type="text", group_name="callinformation"),
        )
    assert ei.value.status == 409
    assert error_body(ei.value)["category"] == "OBJECT_ALREADY_EXISTS"

    with pytest.raises(PropertiesApiException) as ei:
        core.create(
            "calls",
            PropertyCreate(
                name=name_of(unique, "sdk_num"), label="N", type="number", field_type="text", group_name="callinformation"
            ),
        )
    assert ei.value.status == 400
    assert error_body(ei.value)["category"] == "VALIDATION_ERROR"

    with pytest.raises(PropertiesApiException) as ei:
        core.archive("calls", "hs_call_title")
    assert ei.value.status == 400


def test_groups_api(client, unique):
    groups = client.crm.properties.groups_api
    name = name_of(unique, "sdk_group")
    created = groups.create("calls", PropertyGroupCreate(name=name, label="SDK group", display_order=2))
    assert isinstance(created, PropertyGroup), "group create must answer 201"
    assert created.name == name and created.label == "SDK group"
    assert created.display_order == 2 and created.archived is False

    listed = groups.get_all("calls")
    assert isinstance(listed, CollectionResponsePropertyGroupNoPaging)
    names = {g.name for g in listed.results}
    assert {"call", name} <= names

    with pytest.raises(PropertiesApiException) as ei:
        groups.create("calls", PropertyGroupCreate(name=name, label="again"))
    assert ei.value.status == 409


# ---------------------------------------------------------------- upsert


def test_batch_upsert_with_unique_property(client, unique):
    core = client.crm.properties.core_api
    prop = name_of(unique, "sdk_ext")
    created = core.create(
        "calls",
        PropertyCreate(
            name=prop,
            label="SDK external id",
            type="string",
            field_type="text",
            group_name="callinformation",
            has_unique_value=True,
        ),
    )
    assert created.has_unique_value is True
    batch = client.crm.objects.calls.batch_api
    ext = unique("ext")

    first = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id=ext, id_property=prop, properties={"hs_timestamp": TS, "hs_call_title": "first"}
                )
            ]
        )
    )
    assert isinstance(first, BatchResponseSimplePublicUpsertObject), "upsert must answer 200"
    assert first.status == "COMPLETE"
    assert len(first.results) == 1
    made = first.results[0]
    assert made.new is True
    assert made.properties[prop] == ext
    assert made.properties["hs_call_title"] == "first"
    assert isinstance(made.created_at, dt.datetime)

    second = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(id=ext, id_property=prop, properties={"hs_call_title": "second"}),
                SimplePublicObjectBatchInputUpsert(
                    id=ext + "-b", id_property=prop, properties={"hs_timestamp": TS}
                ),
            ]
        )
    )
    assert [r.new for r in second.results] == [False, True]
    assert second.results[0].id == made.id
    assert second.results[0].properties["hs_call_title"] == "second"

    # Reading back by the unique property.
    read = client.crm.objects.calls.basic_api.get_by_id(ext, id_property=prop, properties=["hs_call_title"])
    assert read.id == made.id
    assert read.properties["hs_call_title"] == "second"

    # A non-unique idProperty is refused with HubSpot's words.
    with pytest.raises(CallsApiException) as ei:
        batch.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(
                        id="x", id_property="hs_call_title", properties={"hs_timestamp": TS}
                    )
                ]
            )
        )
    assert ei.value.status == 400
    assert error_body(ei.value)["message"].startswith(
        "Unable to perform update/upsert by non-unique 0-48 property hs_call_title"
    )


# ---------------------------------------------------------------- v4 associations


def test_v4_basic_api(client, unique):
    basic = client.crm.associations.v4.basic_api
    call = new_call(client, unique)
    c1, c2, c3 = (new_contact(client, unique) for _ in range(3))

    default = basic.create_default("calls", call, "contacts", c1)
    assert isinstance(default, BatchResponsePublicDefaultAssociation), "default PUT must answer 200"
    specs = [(r._from.id, r.to.id, r.association_spec.association_type_id) for r in default.results]
    assert specs == [(call, c1, 194), (c1, call, 193)]

    labelled = basic.create(
        "calls",
        call,
        "contacts",
        c2,
        [
            AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=194),
            AssociationSpec(association_category="USER_DEFINED", association_type_id=31),
        ],
    )
    assert isinstance(labelled, LabelsBetweenObjectPair), "labelled PUT must answer 201"
    assert labelled.from_object_type_id == "0-48"
    assert labelled.to_object_type_id == "0-1"
    assert labelled.from_object_id == call
    assert labelled.to_object_id == c2

    page = basic.get_page("calls", call, "contacts")
    assert isinstance(page, CollectionResponseMultiAssociatedObjectWithLabelForwardPaging)
    assert [r.to_object_id for r in page.results] == [c1, c2]
    types = {(t.category, t.type_id, t.label) for t in page.results[1].association_types}
    assert types == {("HUBSPOT_DEFINED", 194, None), ("USER_DEFINED", 31, None)}
    assert page.paging is None

    first = basic.get_page("calls", call, "contacts", limit=1)
    assert len(first.results) == 1
    assert first.paging is not None and first.paging.next.after
    rest = basic.get_page("calls", call, "contacts", limit=1, after=first.paging.next.after)
    assert [r.to_object_id for r in rest.results] == [c2]

    # The contact side sees the call with the reverse type.
    back = basic.get_page("contacts", c1, "calls")
    assert [(r.to_object_id, [t.type_id for t in r.association_types]) for r in back.results] == [(call, [193])]

    assert basic.archive("calls", call, "contacts", c1) is None
    page = basic.get_page("calls", call, "contacts")
    assert [r.to_object_id for r in page.results] == [c2]

    # Wrong-direction HubSpot-defined type.
    with pytest.raises(AssociationsApiException) as ei:
        basic.create(
            "calls",
            call,
            "contacts",
            c3,
            [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=193)],
        )
    assert ei.value.status == 400

    # A contact that does not exist (ids are unique across types: a call's is no contact's),
    # and one that is archived: refused both ways, and nothing is stored.
    client.crm.contacts.basic_api.archive(c3)
    for missing in (new_call(client, unique), c3):
        with pytest.raises(AssociationsApiException) as ei:
            basic.create_default("calls", call, "contacts", missing)
        assert_invalid_contacts(ei.value, missing)
        with pytest.raises(AssociationsApiException) as ei:
            basic.create(
                "calls",
                call,
                "contacts",
                missing,
                [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=194)],
            )
        assert_invalid_contacts(ei.value, missing)
    page = basic.get_page("calls", call, "contacts")
    assert [r.to_object_id for r in page.results] == [c2]


def test_v4_batch_api(client, unique):
    batch = client.crm.associations.v4.batch_api
    a = new_call(client, unique)
    b = new_call(client, unique)
    lonely = new_call(client, unique)
    c1, c2, c3 = (new_contact(client, unique) for _ in range(3))

    done = batch.create_default(
        "calls",
        "contacts",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[
                PublicDefaultAssociationMultiPost(_from=PublicObjectId(id=a), to=PublicObjectId(id=c1)),
                PublicDefaultAssociationMultiPost(_from=PublicObjectId(id=b), to=PublicObjectId(id=c2)),
            ]
        ),
    )
    assert isinstance(done, BatchResponsePublicDefaultAssociation)
    assert len(done.results) == 4

    made = batch.create(
        "calls",
        "contacts",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                PublicAssociationMultiPost(
                    _from=PublicObjectId(id=a),
                    to=PublicObjectId(id=c3),
                    types=[AssociationSpec(association_category="USER_DEFINED", association_type_id=12)],
                )
            ]
        ),
    )
    assert isinstance(made, BatchResponseLabelsBetweenObjectPair), "batch create must answer 201"
    assert made.results[0].to_object_id == c3

    # A batch naming a contact that does not exist is refused whole.
    with pytest.raises(AssociationsApiException) as ei:
        batch.create_default(
            "calls",
            "contacts",
            BatchInputPublicDefaultAssociationMultiPost(
                inputs=[
                    PublicDefaultAssociationMultiPost(_from=PublicObjectId(id=lonely), to=PublicObjectId(id=c1)),
                    PublicDefaultAssociationMultiPost(_from=PublicObjectId(id=lonely), to=PublicObjectId(id=b)),
                ]
            ),
        )
    assert_invalid_contacts(ei.value, b)
    with pytest.raises(AssociationsApiException) as ei:
        batch.create(
            "calls",
            "contacts",
            BatchInputPublicAssociationMultiPost(
                inputs=[
                    PublicAssociationMultiPost(
                        _from=PublicObjectId(id=lonely),
                        to=PublicObjectId(id=b),
                        types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=194)],
                    )
                ]
            ),
        )
    assert_invalid_contacts(ei.value, b)

    read = batch.get_page(
        "calls",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=a), PublicFetchAssociationsBatchRequest(id=b)]
        ),
    )
    assert isinstance(read, BatchResponsePublicAssociationMultiWithLabel)
    by_from = {r._from.id: sorted(t.to_object_id for t in r.to) for r in read.results}
    assert by_from == {a: sorted([c1, c3]), b: [c2]}

    # The refused batches stored nothing: `lonely` has no association.
    partial = batch.get_page(
        "calls",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[PublicFetchAssociationsBatchRequest(id=lonely)]),
    )
    assert isinstance(partial, BatchResponsePublicAssociationMultiWithLabelWithErrors), "expected 207"
    assert partial.num_errors == 1
    assert partial.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert partial.errors[0].category == "OBJECT_NOT_FOUND"

    assert (
        batch.archive(
            "calls",
            "contacts",
            BatchInputPublicAssociationMultiArchive(
                inputs=[PublicAssociationMultiArchive(_from=PublicObjectId(id=a), to=[PublicObjectId(id=c1)])]
            ),
        )
        is None
    )
    read = batch.get_page(
        "calls",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[PublicFetchAssociationsBatchRequest(id=a)]),
    )
    assert [t.to_object_id for t in read.results[0].to] == [c3]

    # Consistency with the v3 read of the call.
    call = client.crm.objects.calls.basic_api.get_by_id(b, associations=["contacts"])
    assert [r.id for r in call.associations["contacts"].results] == [c2]
