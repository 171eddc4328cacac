// Acceptance test: HubSpot's official Node SDK (@hubspot/api-client) against hubcalls — the
// API surface around calls: properties (core + groups), batch upsert by a unique property,
// v4 associations (basic + batch) and v3-style associations on call reads.
// Everything goes through the SDK; the only change from a stock client is `basePath`.
//
// SDK facts (13.5.0, lib/codegen/crm/{properties,associations/v4}/apis/*.js): properties and
// groups create answer 201, reads/updates 200, archive 204; v4 basic create 201, createDefault
// 200, getPage 200, archive 204; v4 batch create 201|207, createDefault 200, read 200|207,
// archive 204. Any other status makes the SDK throw `ApiException`.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { apiError, makeClient, startServer, unique } from './server.mjs';

const TS_IN = '2025-04-24T20:01:33.000Z';
const CALL_TYPE_ID = '0-48';
const CONTACT_TYPE_ID = '0-1';
const CALL_TO_CONTACT = 194;
const CONTACT_TO_CALL = 193;
const CALL_TO_COMPANY = 182;

let server;
let client;
let calls;
let props;
let groups;
let assocBasic;
let assocBatch;

before(async () => {
  server = await startServer();
  client = makeClient(server);
  calls = client.crm.objects.calls;
  props = client.crm.properties.coreApi;
  groups = client.crm.properties.groupsApi;
  assocBasic = client.crm.associations.v4.basicApi;
  assocBatch = client.crm.associations.v4.batchApi;
});

after(async () => {
  await server?.stop();
});

// ---------------------------------------------------------------- helpers

const propName = (prefix) => `${prefix}_${randomBytes(5).toString('hex')}`;

/** A real contact, made through the SDK's contacts API (associations need their records). */
async function createContact() {
  const contact = await client.crm.contacts.basicApi.create({
    properties: { email: `${unique('contact')}@example.com` },
  });
  return contact.id;
}

async function createCall(title = unique('assoc'), extra = {}) {
  return calls.basicApi.create({ properties: { hs_timestamp: TS_IN, hs_call_title: title, ...extra } });
}

/** HubSpot's 400 for associations with contacts that do not exist. */
function assertInvalidContacts(err, ids) {
  assert.equal(err.code, 400);
  const body = errorBody(err);
  assert.equal(body.category, 'VALIDATION_ERROR');
  assert.equal(body.message, 'One or more associations are invalid');
  assert.deepEqual(body.context?.INVALID_OBJECT_IDS, ids.map((id) => `CONTACT=${id} is not valid`));
}

function errorBody(err) {
  const body = err.body;
  assert.ok(body && typeof body === 'object', `error response has no JSON body (status ${err.code})`);
  assert.equal(body.status, 'error');
  assert.ok(typeof body.message === 'string' && body.message.length > 0);
  assert.ok(typeof body.correlationId === 'string' && body.correlationId.length > 0);
  return body;
}

/** All association rows of `getPage`, following paging. */
async function v4All(fromType, fromId, toType) {
  const rows = [];
  let afterCursor;
  for (let i = 0; i < 100; i++) {
    const page = await assocBasic.getPage(fromType, fromId, toType, afterCursor, 500);
    assert.equal(page.constructor.name, 'CollectionResponseMultiAssociatedObjectWithLabelForwardPaging');
    rows.push(...page.results);
    if (!page.paging?.next) return rows;
    afterCursor = page.paging.next.after;
  }
  assert.fail('association paging never ended');
}

const typeKeys = (row) =>
  row.associationTypes.map((t) => `${t.category}:${t.typeId}`).sort();

// ---------------------------------------------------------------- properties

describe('properties core API', () => {
  test('create, getByName, getAll, update, archive a custom unique property', async () => {
    const name = propName('sdk_prop');
    const createRes = await props.createWithHttpInfo('calls', {
      name,
      label: 'SDK external id',
      description: 'made by the Node SDK test',
      type: 'string',
      fieldType: 'text',
      groupName: 'callinformation',
      hasUniqueValue: true,
      formField: false,
    });
    assert.equal(createRes.httpStatusCode, 201);
    const created = createRes.data;
    assert.equal(created.constructor.name, 'Property');
    assert.equal(created.name, name);
    assert.equal(created.label, 'SDK external id');
    assert.equal(created.type, 'string');
    assert.equal(created.fieldType, 'text');
    assert.equal(created.groupName, 'callinformation');
    assert.equal(created.hasUniqueValue, true);
    assert.ok(Array.isArray(created.options));
    assert.notEqual(created.hubspotDefined, true);
    assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));

    // same name again: 409 OBJECT_ALREADY_EXISTS
    const dup = await apiError(() =>
      props.create('calls', { name, label: 'again', type: 'string', fieldType: 'text', groupName: 'callinformation' }),
    );
    assert.equal(dup.code, 409);
    assert.equal(errorBody(dup).category, 'OBJECT_ALREADY_EXISTS');

    const got = await props.getByName('calls', name);
    assert.equal(got.name, name);
    assert.equal(got.hasUniqueValue, true);
    assert.equal(got.label, 'SDK external id');

    const all = await props.getAll('calls');
    assert.equal(all.constructor.name, 'CollectionResponsePropertyNoPaging');
    const names = all.results.map((p) => p.name);
    assert.ok(names.includes(name), 'custom property missing from getAll');
    const builtIn = all.results.find((p) => p.name === 'hs_call_title');
    assert.ok(builtIn, 'built-in hs_call_title missing from getAll');
    assert.equal(builtIn.hubspotDefined, true);
    assert.equal(new Set(names).size, names.length, 'a property listed twice');

    const updRes = await props.updateWithHttpInfo('calls', name, { label: 'SDK external id (renamed)', description: 'changed' });
    assert.equal(updRes.httpStatusCode, 200);
    assert.equal(updRes.data.label, 'SDK external id (renamed)');
    assert.equal(updRes.data.description, 'changed');
    assert.equal(updRes.data.hasUniqueValue, true);
    assert.equal((await props.getByName('calls', name)).label, 'SDK external id (renamed)');

    // the property is usable on calls
    const call = await createCall(unique('prop'), { [name]: 'value-1' });
    assert.equal(call.properties[name], 'value-1');

    const archRes = await props.archiveWithHttpInfo('calls', name);
    assert.equal(archRes.httpStatusCode, 204);
    const gone = await apiError(() => props.getByName('calls', name));
    assert.equal(gone.code, 404);
    errorBody(gone);
    assert.ok(!(await props.getAll('calls')).results.some((p) => p.name === name), 'archived property still listed');
    const archivedList = await props.getAll('calls', true);
    const archived = archivedList.results.find((p) => p.name === name);
    assert.ok(archived, 'archived property missing from getAll(archived=true)');
    assert.equal(archived.archived, true);
  });

  test('built-in properties are served and cannot be archived', async () => {
    const p = await props.getByName('calls', 'hs_timestamp');
    assert.equal(p.type, 'datetime');
    assert.equal(p.hubspotDefined, true);
    const err = await apiError(() => props.archive('calls', 'hs_timestamp'));
    assert.equal(err.code, 400);
    errorBody(err);
  });

  test('unknown property name is a 404', async () => {
    const err = await apiError(() => props.getByName('calls', 'no_such_property_xyz'));
    assert.equal(err.code, 404);
    errorBody(err);
  });
});

describe('property groups API', () => {
  test('create and getAll a group, then put a property in it', async () => {
    const name = propName('sdk_group');
    const res = await groups.createWithHttpInfo('calls', { name, label: 'SDK group', displayOrder: 7 });
    assert.equal(res.httpStatusCode, 201);
    assert.equal(res.data.constructor.name, 'PropertyGroup');
    assert.equal(res.data.name, name);
    assert.equal(res.data.label, 'SDK group');
    assert.equal(res.data.displayOrder, 7);
    assert.equal(res.data.archived, false);

    const all = await groups.getAll('calls');
    assert.equal(all.constructor.name, 'CollectionResponsePropertyGroupNoPaging');
    const names = all.results.map((g) => g.name);
    assert.ok(names.includes(name), 'new group missing from getAll');
    for (const builtIn of ['call', 'engagement', 'callinformation']) {
      assert.ok(names.includes(builtIn), `built-in group ${builtIn} missing`);
    }

    const got = await groups.getByName('calls', name);
    assert.equal(got.label, 'SDK group');

    const prop = await props.create('calls', {
      name: propName('sdk_in_group'),
      label: 'In group',
      type: 'number',
      fieldType: 'number',
      groupName: name,
    });
    assert.equal(prop.groupName, name);

    const dup = await apiError(() => groups.create('calls', { name, label: 'again' }));
    assert.equal(dup.code, 409);
    errorBody(dup);
  });
});

// ---------------------------------------------------------------- upsert

describe('batch upsert', () => {
  test('upsert by a unique property: new true, then new false on the same record', async () => {
    const idProperty = propName('sdk_ext');
    await props.create('calls', {
      name: idProperty,
      label: 'External id',
      type: 'string',
      fieldType: 'text',
      groupName: 'callinformation',
      hasUniqueValue: true,
    });
    const extId = `ext-${randomBytes(4).toString('hex')}`;
    const title1 = unique('upsert-1');

    const first = await calls.batchApi.upsertWithHttpInfo({
      inputs: [{ idProperty, id: extId, properties: { hs_timestamp: TS_IN, hs_call_title: title1 } }],
    });
    assert.equal(first.httpStatusCode, 200);
    assert.equal(first.data.constructor.name, 'BatchResponseSimplePublicUpsertObject');
    assert.equal(first.data.status, 'COMPLETE');
    assert.equal(first.data.results.length, 1);
    const r1 = first.data.results[0];
    assert.equal(r1._new, true, 'first upsert must create (new: true)');
    assert.match(r1.id, /^\d+$/);
    assert.equal(r1.properties[idProperty], extId);
    assert.equal(r1.properties.hs_call_title, title1);
    assert.ok(r1.createdAt instanceof Date);

    const title2 = unique('upsert-2');
    const second = await calls.batchApi.upsert({
      inputs: [{ idProperty, id: extId, properties: { hs_call_title: title2 } }],
    });
    assert.equal(second.results.length, 1);
    const r2 = second.results[0];
    assert.equal(r2._new, false, 'second upsert must update (new: false)');
    assert.equal(r2.id, r1.id);
    assert.equal(r2.properties.hs_call_title, title2);

    // visible through idProperty reads, too
    const byExt = await calls.basicApi.getById(extId, ['hs_call_title'], undefined, undefined, false, idProperty);
    assert.equal(byExt.id, r1.id);
    assert.equal(byExt.properties.hs_call_title, title2);

    // a clash on the unique value is a 400 VALIDATION_ERROR
    const clash = await apiError(() => createCall(unique('clash'), { [idProperty]: extId.toUpperCase() }));
    assert.equal(clash.code, 400);
    assert.equal(errorBody(clash).category, 'VALIDATION_ERROR');
  });

  test('upsert by a non-unique property is a 400', async () => {
    const err = await apiError(() =>
      calls.batchApi.upsert({
        inputs: [{ idProperty: 'hs_call_title', id: 'x', properties: { hs_timestamp: TS_IN } }],
      }),
    );
    assert.equal(err.code, 400);
    errorBody(err);
  });
});

// ---------------------------------------------------------------- v4 associations, basic

describe('associations v4 basic API', () => {
  test('createDefault call -> contact; visible from both sides', async () => {
    const call = await createCall();
    const contact = await createContact();
    const res = await assocBasic.createDefaultWithHttpInfo('calls', call.id, 'contacts', contact);
    assert.equal(res.httpStatusCode, 200);
    const body = res.data;
    assert.equal(body.constructor.name, 'BatchResponsePublicDefaultAssociation');
    assert.equal(body.status, 'COMPLETE');
    assert.ok(body.results.length >= 1);
    const forward = body.results.find((r) => String(r._from.id) === call.id);
    assert.ok(forward, 'no result from the call side');
    assert.equal(String(forward.to.id), contact);
    assert.equal(forward.associationSpec.associationCategory, 'HUBSPOT_DEFINED');
    assert.equal(forward.associationSpec.associationTypeId, CALL_TO_CONTACT);

    const rows = await v4All('calls', call.id, 'contacts');
    assert.equal(rows.length, 1);
    assert.equal(String(rows[0].toObjectId), contact);
    assert.deepEqual(typeKeys(rows[0]), [`HUBSPOT_DEFINED:${CALL_TO_CONTACT}`]);

    const back = await v4All('contacts', contact, 'calls');
    assert.equal(back.length, 1);
    assert.equal(String(back[0].toObjectId), call.id);
    assert.deepEqual(typeKeys(back[0]), [`HUBSPOT_DEFINED:${CONTACT_TO_CALL}`]);
  });

  test('create with labels, getPage, archive', async () => {
    const call = await createCall();
    const contact = await createContact();
    const res = await assocBasic.createWithHttpInfo('calls', call.id, 'contacts', contact, [
      { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: CALL_TO_CONTACT },
      { associationCategory: 'USER_DEFINED', associationTypeId: 9001 },
    ]);
    assert.equal(res.httpStatusCode, 201);
    const pair = res.data;
    assert.equal(pair.constructor.name, 'LabelsBetweenObjectPair');
    assert.equal(String(pair.fromObjectId), call.id);
    assert.equal(String(pair.toObjectId), contact);
    assert.equal(pair.fromObjectTypeId, CALL_TYPE_ID);
    assert.equal(pair.toObjectTypeId, CONTACT_TYPE_ID);
    assert.ok(Array.isArray(pair.labels));

    // a second contact, default only: getPage lists both, paged by 1
    const other = await createContact();
    await assocBasic.createDefault('calls', call.id, 'contacts', other);
    const first = await assocBasic.getPage('calls', call.id, 'contacts', undefined, 1);
    assert.equal(first.results.length, 1);
    assert.ok(first.paging?.next?.after, 'first page of 2 must carry paging.next.after');
    const rows = await v4All('calls', call.id, 'contacts');
    const byId = new Map(rows.map((r) => [String(r.toObjectId), r]));
    assert.deepEqual([...byId.keys()].sort(), [contact, other].sort());
    assert.deepEqual(typeKeys(byId.get(contact)), [`HUBSPOT_DEFINED:${CALL_TO_CONTACT}`, 'USER_DEFINED:9001']);
    assert.deepEqual(typeKeys(byId.get(other)), [`HUBSPOT_DEFINED:${CALL_TO_CONTACT}`]);

    const arch = await assocBasic.archiveWithHttpInfo('calls', call.id, 'contacts', contact);
    assert.equal(arch.httpStatusCode, 204);
    const after = await v4All('calls', call.id, 'contacts');
    assert.deepEqual(after.map((r) => String(r.toObjectId)), [other]);
  });

  test('an association from an unknown call is a 400 VALIDATION_ERROR', async () => {
    const contact = await createContact();
    const err = await apiError(() => assocBasic.createDefault('calls', '999999999999999', 'contacts', contact));
    assert.equal(err.code, 400);
    const body = errorBody(err);
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.ok(body.message.startsWith('One or more associations are invalid'), body.message);
  });

  test('an association to a contact that does not exist or is archived is a 400 naming it; nothing is stored', async () => {
    const call = await createCall();
    // Ids are unique across object types: a call's id is no contact's.
    const missing = (await createCall()).id;
    const archived = await createContact();
    await client.crm.contacts.basicApi.archive(archived);
    for (const contact of [missing, archived]) {
      for (const associate of [
        () => assocBasic.createDefault('calls', call.id, 'contacts', contact),
        () => assocBasic.create('calls', call.id, 'contacts', contact, [
          { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: CALL_TO_CONTACT },
        ]),
      ]) {
        assertInvalidContacts(await apiError(associate), [contact]);
      }
    }
    assert.deepEqual(await v4All('calls', call.id, 'contacts'), []);
  });
});

// ---------------------------------------------------------------- v4 associations, batch

describe('associations v4 batch API', () => {
  test('createDefault, create with labels, getPage (read), archiveLabels, archive', async () => {
    const [c1, c2, lonely] = [await createCall(), await createCall(), await createCall()];
    const [k1, k2, k3] = [await createContact(), await createContact(), await createContact()];

    const defRes = await assocBatch.createDefaultWithHttpInfo('calls', 'contacts', {
      inputs: [
        { _from: { id: c1.id }, to: { id: k1 } },
        { _from: { id: c2.id }, to: { id: k2 } },
      ],
    });
    assert.equal(defRes.httpStatusCode, 200);
    assert.equal(defRes.data.status, 'COMPLETE');
    const forward = defRes.data.results.filter((r) => r.associationSpec.associationTypeId === CALL_TO_CONTACT);
    assert.deepEqual(
      forward.map((r) => `${r._from.id}->${r.to.id}`).sort(),
      [`${c1.id}->${k1}`, `${c2.id}->${k2}`].sort(),
    );

    const createRes = await assocBatch.createWithHttpInfo('calls', 'contacts', {
      inputs: [
        {
          _from: { id: c1.id },
          to: { id: k3 },
          types: [
            { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: CALL_TO_CONTACT },
            { associationCategory: 'USER_DEFINED', associationTypeId: 9002 },
          ],
        },
      ],
    });
    assert.equal(createRes.httpStatusCode, 201);
    assert.equal(createRes.data.results.length, 1);
    assert.equal(String(createRes.data.results[0].fromObjectId), c1.id);
    assert.equal(String(createRes.data.results[0].toObjectId), k3);

    // a batch naming a contact that does not exist is refused whole: `lonely` stays alone
    for (const associate of [
      () => assocBatch.createDefault('calls', 'contacts', {
        inputs: [
          { _from: { id: lonely.id }, to: { id: k1 } },
          { _from: { id: lonely.id }, to: { id: c2.id } },
        ],
      }),
      () => assocBatch.create('calls', 'contacts', {
        inputs: [
          {
            _from: { id: lonely.id },
            to: { id: c2.id },
            types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: CALL_TO_CONTACT }],
          },
        ],
      }),
    ]) {
      assertInvalidContacts(await apiError(associate), [c2.id]);
    }

    // read: the call without associations is reported as an error (207), not thrown
    const readRes = await assocBatch.getPageWithHttpInfo('calls', 'contacts', {
      inputs: [{ id: c1.id }, { id: c2.id }, { id: lonely.id }],
    });
    assert.equal(readRes.httpStatusCode, 207);
    const read = readRes.data;
    assert.equal(read.constructor.name, 'BatchResponsePublicAssociationMultiWithLabelWithErrors');
    assert.equal(read.numErrors, 1);
    assert.equal(read.errors[0].category, 'OBJECT_NOT_FOUND');
    assert.equal(read.errors[0].subCategory, 'crm.associations.NO_ASSOCIATIONS_FOUND');
    const byFrom = new Map(read.results.map((r) => [String(r._from.id), r]));
    assert.deepEqual([...byFrom.keys()].sort(), [c1.id, c2.id].sort());
    const c1To = new Map(byFrom.get(c1.id).to.map((t) => [String(t.toObjectId), t]));
    assert.deepEqual([...c1To.keys()].sort(), [k1, k3].sort());
    assert.deepEqual(typeKeys(c1To.get(k3)), [`HUBSPOT_DEFINED:${CALL_TO_CONTACT}`, 'USER_DEFINED:9002']);
    assert.deepEqual(byFrom.get(c2.id).to.map((t) => String(t.toObjectId)), [k2]);

    // read of only associated calls: 200
    const okRead = await assocBatch.getPageWithHttpInfo('calls', 'contacts', { inputs: [{ id: c2.id }] });
    assert.equal(okRead.httpStatusCode, 200);
    assert.equal(okRead.data.results.length, 1);

    // labels archive: removes only the label, the default type stays
    const labelsRes = await assocBatch.archiveLabelsWithHttpInfo('calls', 'contacts', {
      inputs: [
        { _from: { id: c1.id }, to: { id: k3 }, types: [{ associationCategory: 'USER_DEFINED', associationTypeId: 9002 }] },
      ],
    });
    assert.equal(labelsRes.httpStatusCode, 204);
    const c1Rows = new Map((await v4All('calls', c1.id, 'contacts')).map((r) => [String(r.toObjectId), r]));
    assert.deepEqual(typeKeys(c1Rows.get(k3)), [`HUBSPOT_DEFINED:${CALL_TO_CONTACT}`]);

    // archive everything between c1 and k1, k3
    const archRes = await assocBatch.archiveWithHttpInfo('calls', 'contacts', {
      inputs: [{ _from: { id: c1.id }, to: [{ id: k1 }, { id: k3 }] }],
    });
    assert.equal(archRes.httpStatusCode, 204);
    assert.deepEqual(await v4All('calls', c1.id, 'contacts'), []);
    assert.equal((await v4All('calls', c2.id, 'contacts')).length, 1);
  });
});

// ---------------------------------------------------------------- v3-style associations on reads

describe('v3-style associations on calls reads', () => {
  test('a v4 association shows up in getById with associations [contacts]', async () => {
    const call = await createCall();
    const contact = await createContact();
    await assocBasic.createDefault('calls', call.id, 'contacts', contact);

    const obj = await calls.basicApi.getById(call.id, undefined, undefined, ['contacts']);
    assert.ok(obj.associations, 'associations missing');
    const contacts = obj.associations.contacts;
    assert.ok(contacts, 'associations.contacts missing');
    assert.deepEqual(
      contacts.results.map((r) => ({ id: r.id, type: r.type })),
      [{ id: contact, type: 'call_to_contact' }],
    );
    // types without associations are left out
    const both = await calls.basicApi.getById(call.id, undefined, undefined, ['contacts', 'companies']);
    assert.deepEqual(Object.keys(both.associations), ['contacts']);
    // without the parameter no associations are returned
    const plain = await calls.basicApi.getById(call.id);
    assert.equal(plain.associations, undefined);
  });

  test('associations given on create are visible in v3 reads and in v4', async () => {
    const contact = await createContact();
    const company = (await client.crm.companies.basicApi.create({ properties: { name: unique('company') } })).id;
    const call = await calls.basicApi.create({
      properties: { hs_timestamp: TS_IN, hs_call_title: unique('create-assoc') },
      associations: [
        { to: { id: contact }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: CALL_TO_CONTACT }] },
        { to: { id: company }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: CALL_TO_COMPANY }] },
      ],
    });
    const obj = await calls.basicApi.getById(call.id, undefined, undefined, ['contacts', 'companies']);
    assert.deepEqual(obj.associations.contacts.results.map((r) => r.id), [contact]);
    assert.deepEqual(obj.associations.companies.results.map((r) => [r.id, r.type]), [[company, 'call_to_company']]);

    // the list carries associations too
    let listed;
    let cursor;
    for (let i = 0; i < 1000 && !listed; i++) {
      const page = await calls.basicApi.getPage(100, cursor, undefined, undefined, ['contacts']);
      listed = page.results.find((o) => o.id === call.id);
      cursor = page.paging?.next?.after;
      if (!cursor) break;
    }
    assert.ok(listed, 'call not found while paging with associations');
    assert.deepEqual(listed.associations.contacts.results.map((r) => r.id), [contact]);

    const rows = await v4All('calls', call.id, 'companies');
    assert.deepEqual(rows.map((r) => String(r.toObjectId)), [company]);
  });
});
