"""Merge (contacts, companies, deals, tickets: the SDK's `merge` methods) and GDPR delete
(contacts: `gdpr_delete`) on `2026-03`, and the types that have neither there."""

import pytest
from hubspot_sdk import NotFoundError

from dated_types import BY_NAME

MERGEABLE = ["contacts", "companies", "deals", "tickets"]


@pytest.mark.parametrize("name", MERGEABLE)
def test_merge_makes_one_record_both_ids_read(name, client, unique):
    kind = BY_NAME[name]
    api = kind.api(client)
    primary_word, other_word = unique("primary"), unique("other")
    primary = api.create(associations=[], properties=kind.properties(primary_word)).id
    other = api.create(associations=[], properties=kind.properties(other_word)).id

    merged = api.merge(primary_object_id=primary, object_id_to_merge=other)
    # HubSpot gives the merged record a new id; the primary's values win.
    assert merged.id not in (primary, other)
    assert merged.properties[kind.title] == primary_word
    assert set(merged.properties["hs_merged_object_ids"].split(";")) == {primary, other}
    for old in (primary, other):
        assert api.get(old, properties=[kind.title]).id == merged.id


def test_merge_of_contacts_keeps_both_emails(client, unique):
    contacts = client.crm.objects.contacts
    emails = [f"{unique()}@example.com", f"{unique()}@example.com"]
    ids = [contacts.create(associations=[], properties={"email": e}).id for e in emails]
    merged = contacts.merge(primary_object_id=ids[0], object_id_to_merge=ids[1])
    got = contacts.get(merged.id, properties=["email", "hs_additional_emails"])
    assert got.properties["email"] == emails[0]
    assert emails[1] in got.properties["hs_additional_emails"].split(";")


@pytest.mark.parametrize("name", ["calls", "notes", "products"])
def test_types_without_merge_on_2026_03_answer_404(name, client, unique):
    # The SDK offers merge only on the types that have it; its generic `custom.merge` can
    # still name any type, and 2026-03 has no merge for these (2026-09-beta has).
    kind = BY_NAME[name]
    api = kind.api(client)
    ids = [api.create(associations=[], properties=kind.properties(unique())).id for _ in range(2)]
    with pytest.raises(NotFoundError):
        client.crm.objects.custom.merge(name, primary_object_id=ids[0], object_id_to_merge=ids[1])
    assert api.get(ids[1]).id == ids[1]


def test_gdpr_delete_by_id_and_by_email(client, unique):
    contacts = client.crm.objects.contacts
    by_id = contacts.create(associations=[], properties={"firstname": unique()}).id
    email = f"{unique()}@example.com"
    by_email = contacts.create(associations=[], properties={"email": email}).id

    assert contacts.gdpr_delete(object_id=by_id) is None
    assert contacts.gdpr_delete(object_id=email, id_property="email") is None
    for gone in (by_id, by_email):
        with pytest.raises(NotFoundError):
            contacts.get(gone)
        # Deleted for good: not even among the archived records.
        with pytest.raises(NotFoundError):
            contacts.get(gone, archived=True)
    # The email is free again.
    assert contacts.create(associations=[], properties={"email": email}).id != by_email
