// Acceptance test: HubSpot's official Node SDK (@hubspot/api-client) against hubcalls — the
// calls object API (basic, batch, search). Everything goes through the SDK exactly as a user
// calls it; the only change from a stock client is `basePath` (see server.mjs).
//
// SDK facts that shape these tests (@hubspot/api-client 13.5.0, generated code in
// node_modules/@hubspot/api-client/lib/codegen/crm/objects/calls/apis/*.js):
// * The response processor accepts exactly the documented status: create 201; get, list,
//   update, search 200; archive 204; batch create 201 or 207; batch read/update/upsert 200 or
//   207. Any other status (2xx included) makes the SDK throw `ApiException`.
// * `ApiException` has `code` (the HTTP status), `body` (the parsed JSON error body) and
//   `headers` (lower-case names).
// * A 207 batch answer is *returned*, not thrown, as a `BatchResponseSimplePublicObjectWithErrors`
//   with `numErrors` and `errors`.
// * `createdAt`/`updatedAt`/`archivedAt`/`startedAt`/`completedAt` become `Date` objects;
//   property values stay strings.
// * With the default configuration there is no rate limiter and no retry decorator.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { apiError, makeClient, startServer, unique } from './server.mjs';

const TS_IN = '2025-04-24T20:01:33.000Z';
const TS_OUT = '2025-04-24T20:01:33Z'; // Instant.toString(): zero millis are dropped
const DEFAULT_PROPS = ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'];
const UNKNOWN_ID = '999999999999999';

let server;
let client;
let calls;

before(async () => {
  server = await startServer();
  client = makeClient(server);
  calls = client.crm.objects.calls;
});

after(async () => {
  await server?.stop();
});

// ---------------------------------------------------------------- helpers

async function createCall(title, extra = {}) {
  return calls.basicApi.create({ properties: { hs_timestamp: TS_IN, hs_call_title: title, ...extra } });
}

function assertDate(value, what) {
  assert.ok(value instanceof Date, `${what} must be a Date, got ${value}`);
  assert.ok(!Number.isNaN(value.getTime()), `${what} is an invalid Date`);
}

/** Fields HubSpot always emits on a record. */
function assertObjectShape(obj, className = 'SimplePublicObject') {
  assert.equal(obj.constructor.name, className);
  assert.equal(typeof obj.id, 'string');
  assert.match(obj.id, /^\d+$/, 'id must be a numeric string');
  assert.equal(typeof obj.properties, 'object');
  for (const [k, v] of Object.entries(obj.properties)) {
    assert.ok(v === null || typeof v === 'string', `property ${k} is not a string: ${JSON.stringify(v)}`);
  }
  assertDate(obj.createdAt, 'createdAt');
  assertDate(obj.updatedAt, 'updatedAt');
  assert.equal(obj.archived, false, 'archived must be present and false');
  assert.equal(obj.properties.hs_object_id, obj.id);
}

/** The JSON error envelope HubSpot always sends. */
function errorBody(err) {
  const body = err.body;
  assert.ok(body && typeof body === 'object', `error response has no JSON body (status ${err.code})`);
  assert.equal(body.status, 'error');
  assert.ok(typeof body.message === 'string' && body.message.length > 0, 'message');
  assert.ok(typeof body.correlationId === 'string' && body.correlationId.length > 0, 'correlationId');
  return body;
}

/** Follows `paging.next.after` to the end; returns { pages, objects }. */
async function listAll({ limit, properties, archived } = {}) {
  const pages = [];
  const objects = [];
  let afterId;
  for (let i = 0; i < 1000; i++) {
    const page = await calls.basicApi.getPage(limit, afterId, properties, undefined, undefined, archived);
    assert.equal(page.constructor.name, 'CollectionResponseSimplePublicObjectWithAssociationsForwardPaging');
    pages.push(page);
    objects.push(...page.results);
    if (!page.paging?.next) return { pages, objects };
    afterId = page.paging.next.after;
    assert.ok(afterId, 'paging.next.after must be a non-empty string');
  }
  assert.fail('paging never ended');
}

async function searchAll(request) {
  let total;
  const objects = [];
  for (let i = 0; i < 1000; i++) {
    const page = await calls.searchApi.doSearch(request);
    assert.equal(page.constructor.name, 'CollectionResponseWithTotalSimplePublicObjectForwardPaging');
    total ??= page.total;
    objects.push(...page.results);
    if (!page.paging?.next) return { total, objects };
    request = { ...request, after: page.paging.next.after };
  }
  assert.fail('search paging never ended');
}

const sorted = (xs) => [...xs].sort();

// ---------------------------------------------------------------- single object

test('create answers 201 with a SimplePublicObject', async () => {
  const title = unique('create');
  const res = await calls.basicApi.createWithHttpInfo({
    properties: { hs_timestamp: TS_IN, hs_call_title: title, hs_call_direction: 'OUTBOUND' },
  });
  assert.equal(res.httpStatusCode, 201);
  const obj = res.data;
  assertObjectShape(obj);
  const p = obj.properties;
  assert.equal(p.hs_call_title, title);
  assert.equal(p.hs_call_direction, 'OUTBOUND');
  assert.equal(p.hs_timestamp, TS_OUT);
  assert.equal(p.hs_object_id, obj.id);
  // createdAt/updatedAt mirror hs_createdate/hs_lastmodifieddate
  assert.equal(new Date(p.hs_createdate).getTime(), obj.createdAt.getTime());
  assert.equal(new Date(p.hs_lastmodifieddate).getTime(), obj.updatedAt.getTime());
  assert.equal(obj.createdAt.getTime(), obj.updatedAt.getTime());
  assert.ok(Math.abs(Date.now() - obj.createdAt.getTime()) < 300_000, 'created "now"');
  assert.match(res.headers['content-type'] ?? '', /application\/json/);
});

test('create accepts an epoch-milliseconds hs_timestamp', async () => {
  const obj = await createCall(unique('epoch'), { hs_timestamp: '1745524893000' });
  assert.equal(obj.properties.hs_timestamp, TS_OUT);
});

test('create without hs_timestamp is a 400 VALIDATION_ERROR', async () => {
  const err = await apiError(() => calls.basicApi.create({ properties: { hs_call_title: unique('nots') } }));
  assert.equal(err.code, 400);
  assert.equal(errorBody(err).category, 'VALIDATION_ERROR');
});

test('getById returns the requested properties plus the defaults', async () => {
  const title = unique('get');
  const created = await createCall(title, { hs_call_direction: 'INBOUND', hs_call_body: 'notes' });

  const obj = await calls.basicApi.getById(created.id, ['hs_call_title', 'hs_timestamp']);
  assertObjectShape(obj, 'SimplePublicObjectWithAssociations');
  assert.equal(obj.id, created.id);
  assert.equal(obj.properties.hs_call_title, title);
  assert.equal(obj.properties.hs_timestamp, TS_OUT);
  for (const k of DEFAULT_PROPS) assert.ok(k in obj.properties, `default property ${k} missing`);
  assert.ok(!('hs_call_direction' in obj.properties), 'unrequested property returned');
  assert.ok(!('hs_call_body' in obj.properties), 'unrequested property returned');
  assert.equal(obj.createdAt.getTime(), created.createdAt.getTime());
  assert.equal(obj.updatedAt.getTime(), created.updatedAt.getTime());

  const plain = await calls.basicApi.getById(created.id);
  assert.deepEqual(sorted(Object.keys(plain.properties)), DEFAULT_PROPS);
  assert.equal(plain.properties.hs_object_id, created.id);
});

test('generic objects API reaches the same calls (crm.objects.basicApi)', async () => {
  const created = await createCall(unique('generic'));
  const obj = await client.crm.objects.basicApi.getById('calls', created.id, ['hs_call_title']);
  assert.equal(obj.id, created.id);
  assert.equal(obj.properties.hs_call_title, created.properties.hs_call_title);
  const byTypeId = await client.crm.objects.basicApi.getById('0-48', created.id, ['hs_call_title']);
  assert.equal(byTypeId.properties.hs_call_title, created.properties.hs_call_title);
});

test('getById of an unknown id is a 404 OBJECT_NOT_FOUND', async () => {
  const err = await apiError(() => calls.basicApi.getById(UNKNOWN_ID));
  assert.equal(err.code, 404);
  assert.equal(errorBody(err).category, 'OBJECT_NOT_FOUND');
});

test('update changes the value and updatedAt', async () => {
  const created = await createCall(unique('upd-old'));
  await sleep(50);
  const newTitle = unique('upd-new');
  const res = await calls.basicApi.updateWithHttpInfo(created.id, { properties: { hs_call_title: newTitle } });
  assert.equal(res.httpStatusCode, 200);
  const updated = res.data;
  assertObjectShape(updated);
  assert.equal(updated.id, created.id);
  assert.equal(updated.properties.hs_call_title, newTitle);
  assert.ok(updated.updatedAt > created.updatedAt, 'updatedAt must move forward');
  assert.equal(updated.createdAt.getTime(), created.createdAt.getTime());
  assert.equal(new Date(updated.properties.hs_lastmodifieddate).getTime(), updated.updatedAt.getTime());

  const again = await calls.basicApi.getById(created.id, ['hs_call_title']);
  assert.equal(again.properties.hs_call_title, newTitle);
  assert.equal(again.updatedAt.getTime(), updated.updatedAt.getTime());
});

test('archive answers 204; then getById is a 404 OBJECT_NOT_FOUND', async () => {
  const created = await createCall(unique('arch'));
  const res = await calls.basicApi.archiveWithHttpInfo(created.id);
  assert.equal(res.httpStatusCode, 204);
  assert.equal(res.data, undefined);

  const err = await apiError(() => calls.basicApi.getById(created.id));
  assert.equal(err.code, 404);
  assert.equal(errorBody(err).category, 'OBJECT_NOT_FOUND');

  // archiving an already archived id still answers 204
  const again = await calls.basicApi.archiveWithHttpInfo(created.id);
  assert.equal(again.httpStatusCode, 204);
});

test('getPage archived=true lists only archived calls', async () => {
  const created = await createCall(unique('archlist'));
  await calls.basicApi.archive(created.id);

  const live = await listAll({ limit: 100, archived: false });
  assert.ok(!live.objects.some((o) => o.id === created.id), 'archived call listed with archived=false');

  const archived = await listAll({ limit: 100, archived: true });
  const match = archived.objects.filter((o) => o.id === created.id);
  assert.equal(match.length, 1, 'archived call missing from getPage(archived=true)');
  assert.equal(match[0].archived, true);
  assertDate(match[0].archivedAt, 'archivedAt');
  assert.ok(archived.objects.every((o) => o.archived === true));
});

test('unknown property is a 400 VALIDATION_ERROR / PROPERTY_DOESNT_EXIST', async () => {
  const err = await apiError(() =>
    calls.basicApi.create({
      properties: { hs_timestamp: TS_IN, hs_call_title: unique('bad'), no_such_property_xyz: '1' },
    }),
  );
  assert.equal(err.code, 400);
  const body = errorBody(err);
  assert.equal(body.category, 'VALIDATION_ERROR');
  assert.ok(body.message.startsWith('Property values were not valid: '), body.message);
  assert.equal(body.errors[0].code, 'PROPERTY_DOESNT_EXIST');
  assert.deepEqual(body.errors[0].context.propertyName, ['no_such_property_xyz']);
  assert.match(err.headers['content-type'] ?? '', /application\/json/);
});

test('a wrong token is a 401 INVALID_AUTHENTICATION', async () => {
  const bad = makeClient(server, 'pat-na1-not-the-right-token');
  const err = await apiError(() => bad.crm.objects.calls.basicApi.getPage(1));
  assert.equal(err.code, 401);
  assert.equal(errorBody(err).category, 'INVALID_AUTHENTICATION');
});

test('no token at all is a 401 INVALID_AUTHENTICATION', async () => {
  const anon = makeClient(server, null);
  const err = await apiError(() => anon.crm.objects.calls.basicApi.create({ properties: { hs_timestamp: TS_IN } }));
  assert.equal(err.code, 401);
  assert.equal(errorBody(err).category, 'INVALID_AUTHENTICATION');
});

// ---------------------------------------------------------------- list / paging

test('getPage with limit 2 pages to the end in ascending id order', async () => {
  const title = unique('page');
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await createCall(title)).id);

  const first = await calls.basicApi.getPage(2, undefined, ['hs_call_title']);
  assert.equal(first.results.length, 2);
  assert.ok(first.paging?.next?.after, 'first page must carry paging.next.after');

  const { pages, objects } = await listAll({ limit: 2, properties: ['hs_call_title'] });
  for (const page of pages) assert.ok(page.results.length <= 2);
  assert.equal(pages.at(-1).paging, undefined, 'last page must not carry paging');
  const seen = objects.map((o) => o.id);
  assert.equal(new Set(seen).size, seen.length, 'a record appeared on two pages');
  const numeric = seen.map(BigInt);
  assert.deepEqual(numeric, [...numeric].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'ascending id order');
  const byId = new Map(objects.map((o) => [o.id, o]));
  for (const id of ids) {
    assert.ok(byId.has(id), `created call ${id} not found while paging`);
    assert.equal(byId.get(id).properties.hs_call_title, title);
    assertObjectShape(byId.get(id), 'SimplePublicObjectWithAssociations');
  }
});

// ---------------------------------------------------------------- batch

test('batch create / read / update / archive', async () => {
  const titles = [unique('batch'), unique('batch'), unique('batch')];
  const createRes = await calls.batchApi.createWithHttpInfo({
    inputs: titles.map((t) => ({
      properties: { hs_timestamp: TS_IN, hs_call_title: t, hs_call_direction: 'INBOUND' },
      associations: [],
    })),
  });
  assert.equal(createRes.httpStatusCode, 201);
  const created = createRes.data;
  assert.equal(created.constructor.name, 'BatchResponseSimplePublicObject');
  assert.equal(created.status, 'COMPLETE');
  assertDate(created.startedAt, 'startedAt');
  assertDate(created.completedAt, 'completedAt');
  assert.ok(created.startedAt <= created.completedAt);
  assert.equal(created.results.length, 3);
  for (const o of created.results) {
    assertObjectShape(o);
    assert.equal(o.properties.hs_timestamp, TS_OUT);
  }
  assert.deepEqual(sorted(created.results.map((o) => o.properties.hs_call_title)), sorted(titles));
  const ids = created.results.map((o) => o.id);
  assert.equal(new Set(ids).size, 3);

  // read with one unknown id: the SDK does NOT throw; the 207 comes back as a
  // BatchResponseSimplePublicObjectWithErrors with numErrors 1.
  const readRes = await calls.batchApi.readWithHttpInfo({
    inputs: [...ids, UNKNOWN_ID].map((id) => ({ id })),
    properties: ['hs_call_title', 'hs_call_direction'],
    propertiesWithHistory: [],
  });
  assert.equal(readRes.httpStatusCode, 207);
  const read = readRes.data;
  assert.equal(read.constructor.name, 'BatchResponseSimplePublicObjectWithErrors');
  assert.equal(read.status, 'COMPLETE');
  assert.equal(read.numErrors, 1);
  assert.equal(read.errors.length, 1);
  const e = read.errors[0];
  assert.equal(e.status, 'error');
  assert.equal(e.category, 'OBJECT_NOT_FOUND');
  assert.ok(e.message);
  assert.deepEqual(e.context, { ids: [UNKNOWN_ID] });
  assert.deepEqual(sorted(read.results.map((o) => o.id)), sorted(ids));
  for (const o of read.results) {
    assertObjectShape(o);
    assert.equal(o.properties.hs_call_direction, 'INBOUND');
    for (const k of DEFAULT_PROPS) assert.ok(k in o.properties);
  }
  // the plain promise API behaves the same: resolves, does not throw
  const readPlain = await calls.batchApi.read({
    inputs: [{ id: ids[0] }, { id: UNKNOWN_ID }],
    properties: [],
    propertiesWithHistory: [],
  });
  assert.equal(readPlain.numErrors, 1);
  assert.deepEqual(readPlain.results.map((o) => o.id), [ids[0]]);

  // read of known ids only: 200, plain BatchResponseSimplePublicObject
  const okRead = await calls.batchApi.readWithHttpInfo({
    inputs: ids.map((id) => ({ id })),
    properties: ['hs_call_title'],
    propertiesWithHistory: [],
  });
  assert.equal(okRead.httpStatusCode, 200);
  assert.equal(okRead.data.constructor.name, 'BatchResponseSimplePublicObject');
  assert.equal(okRead.data.results.length, 3);

  // update
  await sleep(50);
  const newTitles = new Map(ids.map((id) => [id, unique('batch-upd')]));
  const updRes = await calls.batchApi.updateWithHttpInfo({
    inputs: [...newTitles].map(([id, t]) => ({ id, properties: { hs_call_title: t } })),
  });
  assert.equal(updRes.httpStatusCode, 200);
  const upd = updRes.data;
  assert.equal(upd.constructor.name, 'BatchResponseSimplePublicObject');
  assert.equal(upd.status, 'COMPLETE');
  assert.equal(upd.results.length, 3);
  const before = new Map(created.results.map((o) => [o.id, o]));
  for (const o of upd.results) {
    assertObjectShape(o);
    assert.equal(o.properties.hs_call_title, newTitles.get(o.id));
    assert.ok(o.updatedAt > before.get(o.id).updatedAt);
  }
  for (const [id, t] of newTitles) {
    assert.equal((await calls.basicApi.getById(id, ['hs_call_title'])).properties.hs_call_title, t);
  }

  // archive
  const archRes = await calls.batchApi.archiveWithHttpInfo({ inputs: ids.map((id) => ({ id })) });
  assert.equal(archRes.httpStatusCode, 204);
  for (const id of ids) {
    const err = await apiError(() => calls.basicApi.getById(id));
    assert.equal(err.code, 404);
  }
});

test('batch read of only unknown ids resolves with results [] and numErrors 1', async () => {
  const res = await calls.batchApi.readWithHttpInfo({
    inputs: [{ id: UNKNOWN_ID }],
    properties: [],
    propertiesWithHistory: [],
  });
  assert.equal(res.httpStatusCode, 207);
  assert.deepEqual(res.data.results, []);
  assert.equal(res.data.numErrors, 1);
  assert.equal(res.data.errors[0].category, 'OBJECT_NOT_FOUND');
});

// ---------------------------------------------------------------- search

test('search EQ with total', async () => {
  const title = unique('search');
  const inbound = new Set();
  for (let i = 0; i < 2; i++) inbound.add((await createCall(title, { hs_call_direction: 'INBOUND' })).id);
  const outbound = (await createCall(title, { hs_call_direction: 'OUTBOUND' })).id;

  const res = await calls.searchApi.doSearch({
    filterGroups: [
      {
        filters: [
          { propertyName: 'hs_call_title', operator: 'EQ', value: title },
          { propertyName: 'hs_call_direction', operator: 'EQ', value: 'INBOUND' },
        ],
      },
    ],
    properties: ['hs_call_title', 'hs_call_direction'],
    limit: 10,
  });
  assert.equal(res.constructor.name, 'CollectionResponseWithTotalSimplePublicObjectForwardPaging');
  assert.equal(res.total, 2);
  assert.deepEqual(sorted(res.results.map((o) => o.id)), sorted(inbound));
  assert.equal(res.paging, undefined);
  for (const o of res.results) {
    assertObjectShape(o);
    assert.equal(o.properties.hs_call_direction, 'INBOUND');
    assert.equal(o.properties.hs_call_title, title);
    for (const k of DEFAULT_PROPS) assert.ok(k in o.properties);
  }

  // direction only, paged by 1 (exercises paging.next.after): every hit is OUTBOUND
  const { total, objects } = await searchAll({
    filterGroups: [{ filters: [{ propertyName: 'hs_call_direction', operator: 'EQ', value: 'OUTBOUND' }] }],
    properties: ['hs_call_direction'],
    limit: 1,
  });
  assert.ok(total >= 1);
  assert.equal(total, objects.length);
  assert.ok(objects.some((o) => o.id === outbound));
  assert.ok(objects.every((o) => o.properties.hs_call_direction === 'OUTBOUND'));

  // without `properties`: only the three defaults come back
  const plain = await calls.searchApi.doSearch({
    filterGroups: [{ filters: [{ propertyName: 'hs_call_title', operator: 'EQ', value: title }] }],
  });
  assert.equal(plain.total, 3);
  assert.deepEqual(sorted(plain.results.map((o) => o.id)), sorted([...inbound, outbound]));
  for (const o of plain.results) assert.deepEqual(sorted(Object.keys(o.properties)), DEFAULT_PROPS);
});
