"""Pipelines (`/crm/pipelines/2026-03/{deals|tickets}`) and owners (`/crm/owners/2026-03`)
through the date-versioned SDK."""

import pytest
from hubspot_sdk import NotFoundError

from dated_portal import OWNERS

# What each pipeline type's stages need in `metadata`.
STAGE_METADATA = {
    "deals": [{"probability": "0.3"}, {"probability": "1.0", "isClosed": "true"}],
    "tickets": [{"ticketState": "OPEN"}, {"ticketState": "CLOSED"}],
}
DEFAULT_PIPELINE = {"deals": ("default", "appointmentscheduled"), "tickets": ("0", "1")}


@pytest.mark.parametrize("object_type", ["deals", "tickets"])
def test_default_pipeline_is_listed_and_read(object_type, client):
    pipeline_id, first_stage = DEFAULT_PIPELINE[object_type]
    listed = client.crm.pipelines.list(object_type)
    assert pipeline_id in {p.id for p in listed.results}
    pipeline = client.crm.pipelines.get(pipeline_id, object_type=object_type)
    assert pipeline.stages[0].id == first_stage
    # 2026-03 makes `writePermissions` a required field of every stage.
    assert {s.write_permissions for s in pipeline.stages} == {"CRM_PERMISSIONS_ENFORCEMENT"}
    stage = client.crm.pipelines.get_stage(first_stage, object_type=object_type, pipeline_id=pipeline_id)
    assert stage.label == pipeline.stages[0].label


@pytest.mark.parametrize("object_type", ["deals", "tickets"])
def test_pipeline_and_stage_lifecycle(object_type, client, unique):
    pipelines = client.crm.pipelines
    open_meta, closed_meta = STAGE_METADATA[object_type]
    pipeline = pipelines.create(
        object_type,
        label=unique("Pipeline "),
        display_order=5,
        stages=[{"label": "Open", "display_order": 0, "metadata": open_meta}],
    )
    assert [s.label for s in pipeline.stages] == ["Open"]
    assert pipeline.stages[0].write_permissions == "CRM_PERMISSIONS_ENFORCEMENT"

    stage = pipelines.create_stage(
        pipeline.id, object_type=object_type, label="Done", display_order=1, metadata=closed_meta
    )
    assert stage.metadata == {**closed_meta, **stage.metadata} and stage.label == "Done"
    moved = pipelines.update_stage(
        stage.id, object_type=object_type, pipeline_id=pipeline.id, metadata=closed_meta, label="Finished"
    )
    assert moved.label == "Finished"
    assert [s.id for s in pipelines.list_stages(pipeline.id, object_type=object_type).results] == [
        pipeline.stages[0].id,
        stage.id,
    ]
    renamed = pipelines.update(pipeline.id, object_type=object_type, label=unique("Renamed "))
    assert renamed.label.startswith("Renamed ")

    # A record placed in the new pipeline's stage.
    stage_props = (
        {"pipeline": pipeline.id, "dealstage": stage.id, "dealname": unique()}
        if object_type == "deals"
        else {"hs_pipeline": pipeline.id, "hs_pipeline_stage": stage.id, "subject": unique()}
    )
    placed = getattr(client.crm.objects, object_type).create(associations=[], properties=stage_props)
    assert placed.id

    actions = [a.action for a in pipelines.list_audit(pipeline.id, object_type=object_type).results]
    assert "CREATE" in actions and "UPDATE" in actions
    assert pipelines.list_stage_audit(stage.id, object_type=object_type, pipeline_id=pipeline.id).results

    assert pipelines.delete_stage(stage.id, object_type=object_type, pipeline_id=pipeline.id) is None
    with pytest.raises(NotFoundError):
        pipelines.get_stage(stage.id, object_type=object_type, pipeline_id=pipeline.id)
    assert pipelines.delete(pipeline.id, object_type=object_type) is None
    with pytest.raises(NotFoundError):
        pipelines.get(pipeline.id, object_type=object_type)


def test_owners_list_page_and_read(client):
    owners = client.crm.owners
    everyone = list(owners.list(limit=1))
    assert [o.email for o in everyone] == [o["email"] for o in OWNERS]
    first = owners.list(limit=1)
    assert first.has_next_page()

    ada = owners.get(int(OWNERS[0]["id"]))
    assert (ada.first_name, ada.last_name, ada.type) == ("Ada", "Lovelace", "PERSON")
    by_user = owners.get(OWNERS[0]["userId"], id_property="userId")
    assert by_user.id == str(OWNERS[0]["id"])
    assert [o.id for o in owners.list(email=OWNERS[1]["email"]).results] == [str(OWNERS[1]["id"])]
    with pytest.raises(NotFoundError):
        owners.get(404404)


def test_owner_assigned_to_a_record(client, unique):
    owner_id = str(OWNERS[0]["id"])
    contact = client.crm.objects.contacts.create(
        associations=[], properties={"firstname": unique(), "hubspot_owner_id": owner_id}
    )
    assert client.crm.objects.contacts.get(contact.id, properties=["hubspot_owner_id"]).properties[
        "hubspot_owner_id"
    ] == owner_id
