// End-to-end tests of the web console: the real hubcalls binary, Debian's headless Chromium,
// and assertions on what a person sees on the page. Screenshots go to output/.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { api, createCall, launchBrowser, openPage, screenshot, startServer } from './server.mjs';

const DEFAULT_COLUMNS = ['hs_call_title', 'hs_timestamp', 'hs_call_direction', 'hs_call_status', 'hs_call_duration'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const titleOf = (i) => `Console call ${String(i).padStart(2, '0')}`;

let server;
let browser;
let historyCallId;
let contactId;
let companyId;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  // Portal 1: twelve calls, created in order (the list pages by id, ascending).
  for (let i = 1; i <= 12; i += 1) {
    await createCall(server, server.tokens.portal1, {
      hs_call_title: titleOf(i),
      hs_call_duration: String(i * 1000),
      hs_call_direction: i % 2 ? 'INBOUND' : 'OUTBOUND',
    });
  }
  // Portal 2: one call with a title changed twice and two associations (with a contact and a
  // company of the portal: associations need their records).
  const call = await createCall(server, server.tokens.portal2, { hs_call_title: 'First title' });
  historyCallId = call.id;
  for (const title of ['Second title', 'Third title']) {
    await api(server, server.tokens.portal2, 'PATCH', `/crm/v3/objects/calls/${call.id}`,
      { properties: { hs_call_title: title } });
  }
  contactId = (await api(server, server.tokens.portal2, 'POST', '/crm/v3/objects/contacts',
    { properties: { email: 'console-contact@example.com' } })).id;
  companyId = (await api(server, server.tokens.portal2, 'POST', '/crm/v3/objects/companies',
    { properties: { name: 'Console company' } })).id;
  await api(server, server.tokens.portal2, 'PUT', `/crm/v4/objects/calls/${call.id}/associations/default/contacts/${contactId}`);
  await api(server, server.tokens.portal2, 'PUT', `/crm/v4/objects/calls/${call.id}/associations/default/companies/${companyId}`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function connect(page, token, name) {
  await page.getByLabel('Access token').fill(token);
  await page.getByLabel('Name (optional)').fill(name);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByText(`Connected: ${name}`).waitFor();
}

/** The titles in a results table, top to bottom (the first property column). */
async function titlesIn(page, containerId) {
  return page.locator(`#${containerId} tbody tr > td:nth-of-type(1)`).allTextContents();
}

/** What the page must never do: talk to another origin, or trip its own security policy. */
function assertWellBehaved(page) {
  const foreign = page.requests.filter((url) => !url.startsWith(`${server.baseUrl}/`));
  assert.deepEqual(foreign, [], 'the console requested another origin');
  assert.deepEqual(page.problems, [], 'the page reported errors');
}

test('the list shows the seeded calls and pages forward and back', async () => {
  const page = await openPage(browser);
  await page.goto(`${server.baseUrl}/`);
  assert.equal(await page.title(), 'hubcalls console');
  await connect(page, server.tokens.portal1, 'Portal one');

  await page.locator('#calls-results caption', { hasText: 'page 1' }).waitFor();
  assert.deepEqual(await titlesIn(page, 'calls-results'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(titleOf));
  const headers = await page.locator('#calls-results thead th').allTextContents();
  assert.deepEqual(headers, ['ID', 'Call Title', 'Activity date', 'Call direction', 'Call status', 'Call duration']
    .slice(0, headers.length));
  assert.equal(headers.length, DEFAULT_COLUMNS.length + 1);

  await page.getByLabel('Per page', { exact: true }).selectOption('5');
  await page.waitForFunction(() => document.querySelectorAll('#calls-results tbody tr').length === 5);
  assert.deepEqual(await titlesIn(page, 'calls-results'), [1, 2, 3, 4, 5].map(titleOf));
  assert.equal(await page.getByRole('button', { name: 'Previous page' }).first().isDisabled(), true);

  const next = page.locator('#calls-next');
  await next.click();
  await page.locator('#calls-results caption', { hasText: 'page 2' }).waitFor();
  assert.deepEqual(await titlesIn(page, 'calls-results'), [6, 7, 8, 9, 10].map(titleOf));
  await next.click();
  await page.locator('#calls-results caption', { hasText: 'page 3' }).waitFor();
  assert.deepEqual(await titlesIn(page, 'calls-results'), [11, 12].map(titleOf));
  assert.equal(await next.isDisabled(), true, 'the last page has no next page');
  assert.equal(await page.locator('#calls-page').textContent(), 'Page 3');

  await page.locator('#calls-prev').click();
  await page.locator('#calls-results caption', { hasText: 'page 2' }).waitFor();
  assert.deepEqual(await titlesIn(page, 'calls-results'), [6, 7, 8, 9, 10].map(titleOf));

  // Choosing another visible property adds its column and asks the API for it.
  await page.getByText('Visible properties').click();
  await page.getByLabel('Filter properties').fill('hs_object_id');
  await page.getByLabel(/Record ID.*hs_object_id|hs_object_id/).check();
  await page.locator('#calls-results thead th', { hasText: 'Record ID' }).waitFor();
  const lastColumn = await page.locator('#calls-results tbody tr:first-child > td:last-child').textContent();
  assert.match(lastColumn, /^\d+$/);
  assert.ok(page.requests.some((u) => u.includes('properties=') && u.includes('hs_object_id')));

  // The token stays in this tab's session storage, never in local storage.
  const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('hubcalls.portals'), local: localStorage.length }));
  assert.ok(stored.session.includes(server.tokens.portal1));
  assert.equal(stored.local, 0);
  await screenshot(page, 'list');
  assertWellBehaved(page);
  await page.context().close();
});

test('a search built in the form shows its request body, sends exactly that, and lists the matches', async () => {
  const page = await openPage(browser);
  await page.goto(`${server.baseUrl}/#search`);
  await connect(page, server.tokens.portal1, 'Portal one');
  await page.getByRole('heading', { name: 'Search' }).waitFor();

  await page.getByRole('button', { name: 'Add filter group' }).click();
  const first = page.getByRole('group', { name: 'Filter 1 of group 1' });
  const operators = await first.getByLabel('Operator').locator('option').evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(operators, ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN',
    'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN']);
  await first.getByLabel('Property').fill('hs_call_duration');
  await first.getByLabel('Operator').selectOption('BETWEEN');
  await first.getByLabel('From', { exact: true }).fill('2000');
  await first.getByLabel('To', { exact: true }).fill('4000');

  await page.getByRole('button', { name: 'Add filter group' }).click();
  const second = page.getByRole('group', { name: 'Filter 1 of group 2' });
  await second.getByLabel('Property').fill('hs_call_title');
  await second.getByLabel('Value', { exact: true }).fill('Console call 11');
  await page.getByRole('button', { name: 'Add filter to group 2' }).click();
  const third = page.getByRole('group', { name: 'Filter 2 of group 2' });
  await third.getByLabel('Property').fill('hs_call_direction');
  await third.getByLabel('Operator').selectOption('HAS_PROPERTY');
  assert.equal(await third.getByLabel('Value', { exact: true }).count(), 0, 'HAS_PROPERTY takes no value');

  await page.getByLabel('Sort by property').fill('hs_call_duration');
  await page.getByLabel('Sort direction').selectOption('DESCENDING');

  const expected = {
    filterGroups: [
      { filters: [{ propertyName: 'hs_call_duration', operator: 'BETWEEN', value: '2000', highValue: '4000' }] },
      { filters: [
        { propertyName: 'hs_call_title', operator: 'EQ', value: 'Console call 11' },
        { propertyName: 'hs_call_direction', operator: 'HAS_PROPERTY' },
      ] },
    ],
    sorts: [{ propertyName: 'hs_call_duration', direction: 'DESCENDING' }],
    properties: DEFAULT_COLUMNS,
    limit: 10,
  };
  const shown = JSON.parse(await page.locator('#search-body').textContent());
  assert.deepEqual(shown, expected);

  const sent = page.waitForRequest((r) => r.url().endsWith('/crm/objects/2026-09/calls/search'));
  await page.getByRole('button', { name: 'Run search' }).click();
  assert.deepEqual((await sent).postDataJSON(), expected, 'the request sent is the body shown');
  await page.getByText('4 matching calls').waitFor();
  assert.deepEqual(await titlesIn(page, 'search-results'), [11, 4, 3, 2].map(titleOf));
  assert.equal(await page.locator('#search-next').isDisabled(), true);
  await screenshot(page, 'search');

  // Removing the second group leaves only the range, and the shown body follows.
  await page.getByRole('button', { name: 'Remove group 2' }).click();
  const after1 = JSON.parse(await page.locator('#search-body').textContent());
  assert.equal(after1.filterGroups.length, 1);
  await page.getByRole('button', { name: 'Run search' }).click();
  await page.getByText('3 matching calls').waitFor();
  assert.deepEqual(await titlesIn(page, 'search-results'), [4, 3, 2].map(titleOf));
  assertWellBehaved(page);
  await page.context().close();
});

test('search results page with the `after` the body shows', async () => {
  const page = await openPage(browser);
  await page.goto(`${server.baseUrl}/`);
  await connect(page, server.tokens.portal1, 'Portal one');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByLabel(/^Query/).fill('console');
  await page.getByRole('button', { name: 'Run search' }).click();
  await page.getByText('12 matching calls').waitFor();
  assert.deepEqual(await titlesIn(page, 'search-results'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(titleOf));
  const firstBody = JSON.parse(await page.locator('#search-body').textContent());
  assert.equal(firstBody.query, 'console');
  assert.equal(firstBody.after, undefined);

  await page.locator('#search-next').click();
  await page.locator('#search-results caption', { hasText: 'page 2' }).waitFor();
  assert.deepEqual(await titlesIn(page, 'search-results'), [11, 12].map(titleOf));
  assert.equal(JSON.parse(await page.locator('#search-body').textContent()).after, '10');
  assert.equal(await page.locator('#search-next').isDisabled(), true);
  await page.locator('#search-prev').click();
  await page.locator('#search-results caption', { hasText: 'page 1' }).waitFor();
  assert.equal(await page.locator('#search-results tbody tr').count(), 10);

  // A bigger page: the body asks for it and everything fits on one page.
  await page.getByLabel('Results per page').selectOption('25');
  assert.equal(JSON.parse(await page.locator('#search-body').textContent()).limit, 25);
  await page.getByRole('button', { name: 'Run search' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#search-results tbody tr').length === 12);
  assert.equal(await page.locator('#search-next').isDisabled(), true);
  assertWellBehaved(page);
  await page.context().close();
});

test('a search the API refuses shows HubSpot\'s error with its correlation id', async () => {
  const page = await openPage(browser);
  await page.goto(`${server.baseUrl}/#search`);
  await connect(page, server.tokens.portal1, 'Portal one');
  await page.getByRole('button', { name: 'Add filter group' }).click();
  const first = page.getByRole('group', { name: 'Filter 1 of group 1' });
  await first.getByLabel('Property').fill('no_such_property');
  await first.getByLabel('Value', { exact: true }).fill('x');
  await page.getByRole('button', { name: 'Run search' }).click();
  const alert = page.getByRole('alert');
  await alert.getByText('HTTP 400').waitFor();
  const text = await alert.textContent();
  assert.match(text, /no_such_property/);
  assert.match(await alert.locator('.correlation-id').textContent(), UUID);
  assertWellBehaved(page);
  await page.context().close();
});

test('portals switch by token, and a call shows its properties, history and associations', async () => {
  const page = await openPage(browser);
  await page.goto(`${server.baseUrl}/`);
  await connect(page, server.tokens.portal1, 'Portal one');
  await page.locator('#calls-results caption').waitFor();
  await connect(page, server.tokens.portal2, 'Portal two');
  await page.locator('#calls-results tbody tr', { hasText: 'Third title' }).waitFor();
  // Portal two holds one call; nothing of portal one shows.
  assert.deepEqual(await titlesIn(page, 'calls-results'), ['Third title']);
  const options = await page.getByLabel('Portal', { exact: true }).locator('option').allTextContents();
  assert.deepEqual(options, ['Portal one', 'Portal two']);

  await page.getByRole('link', { name: historyCallId }).click();
  await page.getByRole('heading', { name: `Call ${historyCallId}` }).waitFor();
  await page.locator('#detail-associations').waitFor();

  const titleRow = page.locator('#detail-properties tr', { hasText: 'hs_call_title' });
  assert.match(await titleRow.textContent(), /Third title/);

  const history = page.locator('#detail-history details', { hasText: '(hs_call_title)' });
  assert.match(await history.locator('summary').textContent(), /3 versions/);
  const versions = await history.locator('tbody tr > td:first-child').allTextContents();
  assert.deepEqual(versions, ['Third title', 'Second title', 'First title']);

  const associations = await page.locator('#detail-associations').innerText();
  assert.match(associations, /Contacts \(1\)/);
  assert.ok(associations.includes(`contacts ${contactId}: unlabelled (type 194, HUBSPOT_DEFINED)`), associations);
  assert.match(associations, /Companies \(1\)/);
  assert.ok(associations.includes(`companies ${companyId}: unlabelled (type 182, HUBSPOT_DEFINED)`), associations);
  assert.match(associations, /Deals \(0\)/);
  await screenshot(page, 'detail');

  // The address names the call: a reload shows it again, the portal kept for this tab.
  await page.reload();
  await page.locator('#detail-history details', { hasText: '(hs_call_title)' }).waitFor();
  assert.match(await page.locator('#connection').textContent(), /Connected: Portal two/);

  // Back to portal one: its list returns.
  await page.getByRole('link', { name: 'Back to the list' }).click();
  await page.getByLabel('Portal', { exact: true }).selectOption({ label: 'Portal one' });
  await page.locator('#calls-results tbody tr', { hasText: titleOf(1) }).waitFor();

  // Forgetting portal one's token leaves portal two, whose call shows again.
  await page.getByRole('button', { name: 'Forget this token' }).click();
  await page.getByText('Connected: Portal two').waitFor();
  assert.deepEqual(await page.getByLabel('Portal', { exact: true }).locator('option').allTextContents(), ['Portal two']);
  await page.locator('#calls-results tbody tr', { hasText: 'Third title' }).waitFor();
  assert.ok(!(await page.evaluate(() => sessionStorage.getItem('hubcalls.portals'))).includes(server.tokens.portal1));
  assertWellBehaved(page);
  await page.context().close();
});

test('a call of another portal is not found, with the error shown', async () => {
  const page = await openPage(browser);
  await page.goto(`${server.baseUrl}/`);
  await connect(page, server.tokens.portal1, 'Portal one');
  await page.goto(`${server.baseUrl}/#call/${historyCallId}`);
  await page.getByRole('alert').getByText('HTTP 404').waitFor();
  await page.locator('#detail', { hasText: 'This call could not be read.' }).waitFor();
  assert.equal(await page.locator('#detail-properties').count(), 0, 'nothing of the other portal shows');
  assertWellBehaved(page);
  await page.context().close();
});

test('a bad token shows HubSpot\'s 401 and connects nothing', async () => {
  const page = await openPage(browser);
  await page.goto(`${server.baseUrl}/`);
  // Keyboard only: type the token and press Enter.
  await page.getByLabel('Access token').focus();
  await page.keyboard.type('pat-na1-not-a-real-token');
  await page.keyboard.press('Enter');
  const alert = page.getByRole('alert');
  await alert.getByText('HTTP 401').waitFor();
  assert.match(await alert.locator('h2').textContent(), /HTTP 401 · INVALID_AUTHENTICATION/);
  const message = await alert.locator('.error-message').textContent();
  const reply = await fetch(`${server.baseUrl}/crm/v3/objects/calls`, { headers: { Authorization: 'Bearer pat-na1-not-a-real-token' } });
  assert.equal(message, (await reply.json()).message, 'the page shows the API\'s own message');
  assert.match(await alert.locator('.correlation-id').textContent(), UUID);
  assert.equal(await page.locator('#connection').textContent(), 'Not connected');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('hubcalls.portals')), null, 'a refused token is not kept');
  await screenshot(page, 'bad-token');

  await alert.getByRole('button', { name: 'Dismiss' }).click();
  assert.equal(await page.locator('#error').isHidden(), true);

  // Without a portal, a search says why it cannot run instead of doing nothing.
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: 'Run search' }).click();
  await alert.getByText('Connect with a token first').waitFor();
  assertWellBehaved(page);
  await page.context().close();
});

test('every object type can be listed, searched and opened', async () => {
  const page = await openPage(browser);
  await page.goto(`${server.baseUrl}/`);
  await connect(page, server.tokens.portal2, 'Portal two, contacts');

  await page.locator('#object-type').selectOption('contacts');
  await page.locator('#calls-results caption', { hasText: 'Contacts, page 1' }).waitFor();
  assert.deepEqual(await titlesIn(page, 'calls-results'), ['console-contact@example.com']);
  assert.equal(await page.getByRole('heading', { name: 'Contacts' }).count(), 1);

  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByLabel(/^Query/).fill('console');
  await page.getByRole('button', { name: 'Run search' }).click();
  await page.getByText('1 matching contact').waitFor();

  await page.locator('#calls-view').getByRole('link', { name: contactId }).or(
    page.locator('#search-results').getByRole('link', { name: contactId })).first().click();
  await page.getByRole('heading', { name: `Contact ${contactId}` }).waitFor();
  await page.locator('#detail', { hasText: 'console-contact@example.com' }).waitFor();
  // The contact's side of the call's association.
  await page.locator('#detail', { hasText: historyCallId }).waitFor();
  await screenshot(page, 'contact-detail');
  assertWellBehaved(page);
});
