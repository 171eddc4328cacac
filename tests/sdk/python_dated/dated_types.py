"""The object types hubcalls serves, as the date-versioned SDK names them, with what a
create needs on each. Tests are parametrized over this table rather than copied per type."""

import uuid
from dataclasses import dataclass
from typing import Callable, Dict

# HubSpot normalises `hs_timestamp` to milliseconds, UTC, `Z`.
TS = "2025-04-24T20:01:33.000Z"


@dataclass(frozen=True)
class Kind:
    # The resource under `client.crm.objects`, and the name the generic APIs (properties,
    # associations) take. The SDK's `deals` resource calls `/crm/objects/2026-03/0-3`.
    name: str
    type_id: str
    # A text property HubSpot's `query` searches for this type: tests write a unique word
    # into it and find the record again.
    title: str
    # The properties a create needs besides `title` (unique ones fresh on every call: two
    # records may share a title, never an email).
    required: Callable[[], Dict[str, str]]

    def properties(self, word: str) -> Dict[str, str]:
        return {**self.required(), self.title: word}

    def api(self, client):
        return getattr(client.crm.objects, self.name)

    def __str__(self) -> str:  # the parametrized test ids
        return self.name


def _timestamp():
    return {"hs_timestamp": TS}


KINDS = [
    Kind("calls", "0-48", "hs_call_title", _timestamp),
    Kind("contacts", "0-1", "firstname", lambda: {"email": f"{uuid.uuid4().hex}@example.com"}),
    Kind("companies", "0-2", "name", lambda: {"domain": f"{uuid.uuid4().hex[:16]}.example"}),
    Kind("deals", "0-3", "dealname", lambda: {"dealstage": "appointmentscheduled", "pipeline": "default"}),
    Kind("tickets", "0-5", "subject", lambda: {"hs_pipeline": "0", "hs_pipeline_stage": "1"}),
    Kind("notes", "0-46", "hs_note_body", _timestamp),
    Kind("emails", "0-49", "hs_email_subject", lambda: {**_timestamp(), "hs_email_direction": "EMAIL"}),
    Kind("meetings", "0-47", "hs_meeting_title", _timestamp),
    Kind("tasks", "0-27", "hs_task_subject", _timestamp),
    Kind("products", "0-7", "name", lambda: {"price": "10"}),
    Kind("line_items", "0-8", "name", lambda: {"quantity": "2"}),
]

BY_NAME = {kind.name: kind for kind in KINDS}
