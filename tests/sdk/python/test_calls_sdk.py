"""Acceptance test: HubSpot's official Python SDK (hubspot-api-client) against hubcalls.

Everything goes through the SDK exactly as a user would call it; the only change from
a stock client is ``host`` (see conftest.py).  Facts asserted here come from HubSpot's
docs/spec and real captured responses (sources in docs/compatibility.md).

SDK facts that shape these tests (hubspot-api-client 12.0.0):
* The SDK picks the response model from the HTTP status code
  (``response_types_map``): single create only deserialises on 201, batch create on
  201/207, batch read/update on 200/207, get/list/update/search on 200.  Any other 2xx
  makes the SDK return ``None``.
* Non-2xx raises ``hubspot.crm.objects.calls.ApiException`` (401 ->
  ``UnauthorizedException``, 404 -> ``NotFoundException``) with ``.status``,
  ``.body`` (decoded str) and ``.headers``.
* ``createdAt``/``updatedAt``/``archivedAt``/``startedAt``/``completedAt`` are parsed
  with dateutil; an unparsable value raises ``ApiException(status=0)``.
* Boolean query params are sent as Python prints them: ``archived=True`` /
  ``archived=False``; list params are repeated (``properties=a&properties=b``).
"""

import datetime as dt
import json
import time

import pytest
from dateutil.parser import isoparse

from hubspot.crm.objects.calls import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
    CollectionResponseWithTotalSimplePublicObjectForwardPaging,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObject,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
    SimplePublicObjectWithAssociations,
)
from hubspot.crm.objects.calls.exceptions import NotFoundException, UnauthorizedException

TS_IN = "2025-04-24T20:01:33.000Z"
TS_OUT = "2025-04-24T20:01:33Z"  # Instant.toString(): zero millis are dropped
DEFAULT_PROPS = {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
UNKNOWN_ID = "999999999999999"


# ---------------------------------------------------------------- helpers


def create_call(calls, title, **extra):
    props = {"hs_timestamp": TS_IN, "hs_call_title": title}
    props.update(extra)
    obj = calls.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties=props)
    )
    assert obj is not None, "create returned no model: the server did not answer 201"
    return obj


def assert_object_shape(obj, cls=SimplePublicObject):
    """Fields HubSpot always emits on a record (SPEC-v3 required + real captures)."""
    assert isinstance(obj, cls), f"expected {cls.__name__}, got {type(obj).__name__}"
    assert isinstance(obj.id, str) and obj.id.isdigit(), f"id must be a numeric string: {obj.id!r}"
    assert isinstance(obj.properties, dict)
    for k, v in obj.properties.items():
        assert v is None or isinstance(v, str), f"property {k} not a string: {v!r}"
    assert isinstance(obj.created_at, dt.datetime) and obj.created_at.tzinfo is not None
    assert isinstance(obj.updated_at, dt.datetime) and obj.updated_at.tzinfo is not None
    assert obj.archived is False, f"archived must be present and false, got {obj.archived!r}"
    assert obj.properties.get("hs_object_id") == obj.id


def error_body(exc):
    assert exc.body, f"error response has an empty body (status {exc.status})"
    body = json.loads(exc.body)
    assert body.get("status") == "error", body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("correlationId"), str) and body["correlationId"], body
    return body


def header(exc, name):
    for k, v in (exc.headers or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def list_all(calls, **kwargs):
    """Follow ``paging.next.after`` to the end; returns (pages, objects)."""
    pages, objs, after = [], [], None
    for _ in range(1000):
        page = calls.basic_api.get_page(after=after, **kwargs)
        assert isinstance(page, CollectionResponseSimplePublicObjectWithAssociationsForwardPaging)
        pages.append(page)
        objs.extend(page.results)
        if page.paging is None or page.paging.next is None:
            return pages, objs
        after = page.paging.next.after
        assert after, "paging.next.after must be a non-empty string"
    pytest.fail("paging never ended")


def search_all(calls, request):
    total, objs = None, []
    for _ in range(1000):
        page = calls.search_api.do_search(public_object_search_request=request)
        assert isinstance(page, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
        total = page.total if total is None else total
        objs.extend(page.results)
        if page.paging is None or page.paging.next is None:
            return total, objs
        request.after = page.paging.next.after
    pytest.fail("search paging never ended")


# ---------------------------------------------------------------- single object


def test_create_returns_201_and_simple_public_object(calls, unique):
    title = unique("create")
    body = SimplePublicObjectInputForCreate(
        properties={"hs_timestamp": TS_IN, "hs_call_title": title, "hs_call_direction": "OUTBOUND"}
    )
    obj, status, headers = calls.basic_api.create_with_http_info(
        simple_public_object_input_for_create=body
    )
    assert status == 201
    assert obj is not None
    assert_object_shape(obj)
    p = obj.properties
    assert p["hs_call_title"] == title
    assert p["hs_call_direction"] == "OUTBOUND"
    assert p["hs_timestamp"] == TS_OUT
    assert p["hs_object_id"] == obj.id
    # createdAt/updatedAt mirror hs_createdate/hs_lastmodifieddate
    assert isoparse(p["hs_createdate"]) == obj.created_at
    assert isoparse(p["hs_lastmodifieddate"]) == obj.updated_at
    assert obj.created_at == obj.updated_at
    # created "now"
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - obj.created_at).total_seconds()) < 300


def test_create_accepts_epoch_millis_timestamp(calls, unique):
    obj = create_call(calls, unique("epoch"), hs_timestamp="1745524893000")
    assert obj.properties["hs_timestamp"] == TS_OUT


def test_create_without_hs_timestamp_is_400(calls, unique):
    with pytest.raises(ApiException) as ei:
        calls.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"hs_call_title": unique("nots")}
            )
        )
    assert ei.value.status == 400
    assert error_body(ei.value).get("category") == "VALIDATION_ERROR"


def test_get_by_id_with_properties(calls, unique):
    title = unique("get")
    created = create_call(calls, title, hs_call_direction="INBOUND", hs_call_body="notes")

    obj = calls.basic_api.get_by_id(created.id, properties=["hs_call_title", "hs_timestamp"])
    assert_object_shape(obj, SimplePublicObjectWithAssociations)
    assert obj.id == created.id
    assert obj.properties["hs_call_title"] == title
    assert obj.properties["hs_timestamp"] == TS_OUT
    # requested + the three defaults, nothing else that was not asked for
    assert DEFAULT_PROPS <= set(obj.properties)
    assert "hs_call_direction" not in obj.properties
    assert "hs_call_body" not in obj.properties
    assert obj.created_at == created.created_at
    assert obj.updated_at == created.updated_at

    plain = calls.basic_api.get_by_id(created.id)
    assert set(plain.properties) == DEFAULT_PROPS
    assert plain.properties["hs_object_id"] == created.id


def test_get_unknown_id_is_404(calls):
    with pytest.raises(ApiException) as ei:
        calls.basic_api.get_by_id(UNKNOWN_ID)
    assert isinstance(ei.value, NotFoundException)
    assert ei.value.status == 404
    error_body(ei.value)


def test_update_changes_value_and_updated_at(calls, unique):
    created = create_call(calls, unique("upd-old"))
    time.sleep(0.05)
    new_title = unique("upd-new")
    updated, status, _ = calls.basic_api.update_with_http_info(
        created.id, SimplePublicObjectInput(properties={"hs_call_title": new_title})
    )
    assert status == 200
    assert_object_shape(updated)
    assert updated.id == created.id
    assert updated.properties["hs_call_title"] == new_title
    assert updated.updated_at > created.updated_at
    assert updated.created_at == created.created_at
    assert isoparse(updated.properties["hs_lastmodifieddate"]) == updated.updated_at

    again = calls.basic_api.get_by_id(created.id, properties=["hs_call_title"])
    assert again.properties["hs_call_title"] == new_title
    assert again.updated_at == updated.updated_at


def test_archive_then_get_is_404(calls, unique):
    created = create_call(calls, unique("arch"))
    result, status, _ = calls.basic_api.archive_with_http_info(created.id)
    assert status == 204
    assert result is None

    with pytest.raises(ApiException) as ei:
        calls.basic_api.get_by_id(created.id)
    assert ei.value.status == 404
    error_body(ei.value)

    # DELETE of an already archived id still answers 204 (real behaviour, notes §5.6)
    _, status2, _ = calls.basic_api.archive_with_http_info(created.id)
    assert status2 == 204


def test_archived_flag_on_list(calls, unique):
    """The SDK sends ``archived=True``/``archived=False`` (Python spelling)."""
    created = create_call(calls, unique("archlist"))
    calls.basic_api.archive(created.id)

    _, live = list_all(calls, limit=100, archived=False)
    assert created.id not in {o.id for o in live}

    _, archived = list_all(calls, limit=100, archived=True)
    match = [o for o in archived if o.id == created.id]
    assert len(match) == 1, "archived call missing from get_page(archived=True)"
    assert match[0].archived is True
    assert match[0].archived_at is not None


def test_create_unknown_property_is_400_validation_error(calls, unique):
    with pytest.raises(ApiException) as ei:
        calls.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={
                    "hs_timestamp": TS_IN,
                    "hs_call_title": unique("bad"),
                    "no_such_property_xyz": "1",
                }
            )
        )
    exc = ei.value
    assert exc.status == 400
    body = error_body(exc)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    assert body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert body["errors"][0]["context"]["propertyName"] == ["no_such_property_xyz"]
    assert "application/json" in (header(exc, "content-type") or "")


def test_wrong_token_is_401(make_client):
    bad = make_client("pat-na1-not-the-right-token")
    with pytest.raises(ApiException) as ei:
        bad.crm.objects.calls.basic_api.get_page(limit=1)
    assert isinstance(ei.value, UnauthorizedException)
    assert ei.value.status == 401
    assert error_body(ei.value)["category"] == "INVALID_AUTHENTICATION"


def test_missing_token_is_401(make_client):
    anon = make_client(None)
    with pytest.raises(ApiException) as ei:
        anon.crm.objects.calls.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"hs_timestamp": TS_IN}
            )
        )
    assert ei.value.status == 401
    assert error_body(ei.value)["category"] == "INVALID_AUTHENTICATION"


# ---------------------------------------------------------------- list / paging


def test_list_paging_limit_2(calls, unique):
    title = unique("page")
    ids = [create_call(calls, title).id for _ in range(3)]

    first = calls.basic_api.get_page(limit=2, properties=["hs_call_title"])
    assert isinstance(first, CollectionResponseSimplePublicObjectWithAssociationsForwardPaging)
    assert len(first.results) == 2
    assert first.paging is not None and first.paging.next is not None
    assert first.paging.next.after

    pages, objs = list_all(calls, limit=2, properties=["hs_call_title"])
    for page in pages:
        assert len(page.results) <= 2
    assert pages[-1].paging is None, "last page must not carry paging"
    seen = [o.id for o in objs]
    assert len(seen) == len(set(seen)), "a record appeared on two pages"
    # documented: ordered by record id ascending, `after` is the next id
    assert [int(i) for i in seen] == sorted(int(i) for i in seen)
    by_id = {o.id: o for o in objs}
    for i in ids:
        assert i in by_id, f"created call {i} not found while paging"
        assert by_id[i].properties["hs_call_title"] == title
        assert_object_shape(by_id[i], SimplePublicObjectWithAssociations)


def test_generic_objects_get_all_calls(client, calls, unique):
    """``client.crm.objects.get_all("calls")`` (the generic objects API, same path)."""
    created = create_call(calls, unique("getall"))
    everything = client.crm.objects.get_all("calls", properties=["hs_call_title"])
    match = [o for o in everything if o.id == created.id]
    assert len(match) == 1
    assert match[0].properties["hs_call_title"] == created.properties["hs_call_title"]


# ---------------------------------------------------------------- batch


def test_batch_create_read_update_archive(calls, unique):
    titles = [unique("batch") for _ in range(3)]
    create_in = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            SimplePublicObjectBatchInputForCreate(
                properties={"hs_timestamp": TS_IN, "hs_call_title": t, "hs_call_direction": "INBOUND"}
            )
            for t in titles
        ]
    )
    created, status, _ = calls.batch_api.create_with_http_info(
        batch_input_simple_public_object_batch_input_for_create=create_in
    )
    assert status == 201
    assert isinstance(created, BatchResponseSimplePublicObject)
    assert created.status == "COMPLETE"
    assert isinstance(created.started_at, dt.datetime)
    assert isinstance(created.completed_at, dt.datetime)
    assert created.started_at <= created.completed_at
    assert len(created.results) == 3
    for o in created.results:
        assert_object_shape(o)
        assert o.properties["hs_timestamp"] == TS_OUT
    assert sorted(o.properties["hs_call_title"] for o in created.results) == sorted(titles)
    ids = [o.id for o in created.results]
    assert len(set(ids)) == 3

    # read, with one unknown id -> 207 with one error
    read_in = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i in ids + [UNKNOWN_ID]],
        properties=["hs_call_title", "hs_call_direction"],
    )
    read, status, _ = calls.batch_api.read_with_http_info(
        batch_read_input_simple_public_object_id=read_in
    )
    assert status == 207
    assert isinstance(read, BatchResponseSimplePublicObjectWithErrors)
    assert read.status == "COMPLETE"
    assert read.num_errors == 1
    assert len(read.errors) == 1
    err = read.errors[0]
    assert err.status == "error"
    assert err.category == "OBJECT_NOT_FOUND"
    assert err.message
    assert err.context == {"ids": [UNKNOWN_ID]}
    assert sorted(o.id for o in read.results) == sorted(ids)
    for o in read.results:
        assert_object_shape(o)
        assert o.properties["hs_call_direction"] == "INBOUND"
        assert DEFAULT_PROPS <= set(o.properties)

    # read of known ids only -> 200, plain BatchResponseSimplePublicObject
    ok_read, status, _ = calls.batch_api.read_with_http_info(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids],
            properties=["hs_call_title"],
            properties_with_history=[],
        )
    )
    assert status == 200
    assert isinstance(ok_read, BatchResponseSimplePublicObject)
    assert len(ok_read.results) == 3

    # update
    time.sleep(0.05)
    new_titles = {i: unique("batch-upd") for i in ids}
    upd, status, _ = calls.batch_api.update_with_http_info(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=i, properties={"hs_call_title": t})
                for i, t in new_titles.items()
            ]
        )
    )
    assert status == 200
    assert isinstance(upd, BatchResponseSimplePublicObject)
    assert upd.status == "COMPLETE"
    assert len(upd.results) == 3
    before = {o.id: o for o in created.results}
    for o in upd.results:
        assert_object_shape(o)
        assert o.properties["hs_call_title"] == new_titles[o.id]
        assert o.updated_at > before[o.id].updated_at
    for i, t in new_titles.items():
        assert calls.basic_api.get_by_id(i, properties=["hs_call_title"]).properties["hs_call_title"] == t

    # archive
    result, status, _ = calls.batch_api.archive_with_http_info(
        batch_input_simple_public_object_id=BatchInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids]
        )
    )
    assert status == 204
    assert result is None
    for i in ids:
        with pytest.raises(ApiException) as ei:
            calls.basic_api.get_by_id(i)
        assert ei.value.status == 404


# ---------------------------------------------------------------- search


def test_search_eq_on_direction(calls, unique):
    title = unique("search")
    inbound = {create_call(calls, title, hs_call_direction="INBOUND").id for _ in range(2)}
    outbound = create_call(calls, title, hs_call_direction="OUTBOUND").id

    req = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[
                    Filter(property_name="hs_call_title", operator="EQ", value=title),
                    Filter(property_name="hs_call_direction", operator="EQ", value="INBOUND"),
                ]
            )
        ],
        properties=["hs_call_title", "hs_call_direction"],
        limit=10,
    )
    res = calls.search_api.do_search(public_object_search_request=req)
    assert isinstance(res, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
    assert res.total == 2
    assert {o.id for o in res.results} == inbound
    assert res.paging is None
    for o in res.results:
        assert_object_shape(o)
        assert o.properties["hs_call_direction"] == "INBOUND"
        assert o.properties["hs_call_title"] == title
        assert DEFAULT_PROPS <= set(o.properties)

    # direction only: every hit is OUTBOUND and ours is among them
    total, hits = search_all(
        calls,
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name="hs_call_direction", operator="EQ", value="OUTBOUND")]
                )
            ],
            properties=["hs_call_direction"],
            limit=100,
        ),
    )
    assert total == len(hits) >= 1
    assert outbound in {o.id for o in hits}
    assert all(o.properties["hs_call_direction"] == "OUTBOUND" for o in hits)

    # without `properties`: only the three defaults come back
    res = calls.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name="hs_call_title", operator="EQ", value=title)])
            ]
        )
    )
    assert res.total == 3
    assert {o.id for o in res.results} == inbound | {outbound}
    for o in res.results:
        assert set(o.properties) == DEFAULT_PROPS


# ---------------------------------------------------------------- strict models


def test_responses_pass_sdk_client_side_validation(make_client, unique):
    """With ``client_side_validation=True`` the SDK rejects a response model that lacks
    a field it marks required (SimplePublicObject: id, properties, createdAt, updatedAt;
    BatchResponse: status in PENDING|PROCESSING|CANCELED|COMPLETE, results, startedAt,
    completedAt; search: total, results; NextPage: after)."""
    strict = make_client(client_side_validation=True)
    calls = strict.crm.objects.calls
    title = unique("strict")
    obj = create_call(calls, title)
    calls.basic_api.get_by_id(obj.id, properties=["hs_call_title"])
    calls.basic_api.update(obj.id, SimplePublicObjectInput(properties={"hs_call_title": title + "x"}))
    calls.basic_api.get_page(limit=1)
    calls.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[SimplePublicObjectBatchInputForCreate(properties={"hs_timestamp": TS_IN, "hs_call_title": title})]
        )
    )
    calls.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=obj.id)], properties=[], properties_with_history=[]
        )
    )
    calls.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name="hs_call_title", operator="EQ", value=title)])]
        )
    )

