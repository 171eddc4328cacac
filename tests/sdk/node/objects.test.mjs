// Acceptance test: HubSpot's official Node SDK (@hubspot/api-client) drives the standard
// objects next to calls — contacts, companies, deals, tickets and the engagement APIs — and
// the dialer flow end to end. Only `basePath` differs from a stock client (see server.mjs).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { apiError, makeClient, startServer, unique } from './server.mjs';

const TS = '2025-04-24T20:01:33.000Z';

let server;
let client;

before(async () => {
  server = await startServer();
  client = makeClient(server);
});

after(async () => {
  await server?.stop();
});

test('contacts: create, read by id and by email, update, 409 on a second email, archive', async () => {
  const email = `${unique('ada')}@example.com`;
  const api = client.crm.contacts.basicApi;
  const created = await api.create({ properties: { email, firstname: 'Ada', lastname: 'Lovelace' } });
  assert.equal(created.properties.email, email);
  assert.ok(created.properties.createdate);

  const got = await api.getById(created.id);
  assert.equal(got.properties.firstname, 'Ada');
  const byEmail = await api.getById(email, undefined, undefined, undefined, undefined, 'email');
  assert.equal(byEmail.id, created.id);

  const updated = await api.update(created.id, { properties: { jobtitle: 'Engineer' } });
  assert.equal(updated.properties.jobtitle, 'Engineer');

  const err = await apiError(() => api.create({ properties: { email } }));
  assert.equal(err.code, 409);
  assert.equal(err.body.category, 'CONFLICT');
  assert.equal(err.body.message, `Contact already exists. Existing ID: ${created.id}`);

  await api.archive(created.id);
  const gone = await apiError(() => api.getById(created.id));
  assert.equal(gone.code, 404);
});

const CASES = [
  ['companies', () => client.crm.companies, { name: 'Analytical Engines', domain: 'engines.example' }],
  ['deals', () => client.crm.deals, { dealname: 'Licence', dealstage: 'appointmentscheduled' }],
  ['tickets', () => client.crm.tickets, { subject: 'Jammed', hs_pipeline_stage: '1' }],
  ['notes', () => client.crm.objects.notes, { hs_timestamp: TS, hs_note_body: 'Discussed pricing' }],
  ['emails', () => client.crm.objects.emails, { hs_timestamp: TS, hs_email_direction: 'EMAIL', hs_email_subject: 'Hi' }],
  ['meetings', () => client.crm.objects.meetings, { hs_timestamp: TS, hs_meeting_title: 'Review' }],
  ['tasks', () => client.crm.objects.tasks, { hs_timestamp: TS, hs_task_subject: 'Send quote' }],
];

for (const [name, api, properties] of CASES) {
  test(`${name}: create, read, search, batch read`, async () => {
    const created = await api().basicApi.create({ properties });
    // The last property is stored as written (hs_timestamp comes back normalised).
    const [prop, value] = Object.entries(properties).at(-1);
    const got = await api().basicApi.getById(created.id, [prop]);
    assert.equal(got.properties[prop], value);
    const found = await api().searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: created.id }] }],
    });
    assert.equal(found.total, 1);
    assert.equal(found.results[0].id, created.id);
    const read = await api().batchApi.read({ inputs: [{ id: created.id }], properties: [prop] });
    assert.equal(read.results[0].id, created.id);
  });
}

test('dialer flow: find the caller by phone, create when missing, log the call, read it back', async () => {
  const national = `617555${String(Date.now() % 10000).padStart(4, '0')}`;
  const search = {
    filterGroups: [{ filters: [{ propertyName: 'hs_searchable_calculated_phone_number', operator: 'EQ', value: national }] }],
  };
  assert.equal((await client.crm.contacts.searchApi.doSearch(search)).total, 0);
  const contact = await client.crm.contacts.basicApi.create({ properties: { phone: `+1 ${national}`, firstname: 'Caller' } });
  const company = await client.crm.companies.basicApi.create({ properties: { name: unique('caller-co') } });
  const found = await client.crm.contacts.searchApi.doSearch(search);
  assert.deepEqual(found.results.map((r) => r.id), [contact.id]);

  const call = await client.crm.objects.calls.basicApi.create({
    properties: { hs_timestamp: TS, hs_call_title: 'Inbound call' },
    associations: [
      { to: { id: contact.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] },
      { to: { id: company.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 182 }] },
    ],
  });
  const page = await client.crm.associations.v4.basicApi.getPage('contacts', contact.id, 'calls');
  assert.deepEqual(page.results.map((r) => String(r.toObjectId)), [call.id]);
  const fromCompany = await client.crm.associations.v4.basicApi.getPage('companies', company.id, 'calls');
  assert.deepEqual(fromCompany.results.map((r) => String(r.toObjectId)), [call.id]);
});
