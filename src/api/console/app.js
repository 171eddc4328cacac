// The console's wiring: portals (tokens), the object type, its records' list, the search
// builder and the record view. State lives in memory and in this tab's sessionStorage;
// nothing leaves but API calls.

import { OBJECT_TYPES, api } from './api.js';
import { OPERATORS, newFilter, operator, searchBody } from './search.js';
import { el, renderCallDetail, renderCallTable, renderError } from './views.js';

const $ = (id) => document.getElementById(id);

const store = {
  read(key, fallback) {
    try {
      const text = sessionStorage.getItem(`hubcalls.${key}`);
      return text === null ? fallback : JSON.parse(text);
    } catch {
      return fallback;
    }
  },
  write(key, value) {
    sessionStorage.setItem(`hubcalls.${key}`, JSON.stringify(value));
  },
};

const state = {
  portals: store.read('portals', []),
  current: store.read('current', -1),
  definitions: [],
  objectType: OBJECT_TYPES[store.read('objectType', 'calls')] ? store.read('objectType', 'calls') : 'calls',
  columns: [],
  list: { cursors: [null], page: 0 },
  search: {
    query: '',
    groups: [],
    sort: { propertyName: '', direction: 'DESCENDING' },
    cursors: [null],
    page: 0,
    ran: false,
  },
};

state.columns = store.read(`columns.${state.objectType}`, OBJECT_TYPES[state.objectType]);

const token = () => state.portals[state.current]?.token;
const type = () => state.objectType;
/** `calls` -> `Calls`, `line_items` -> `Line items`. */
const typeLabel = (name = type()) => (name.charAt(0).toUpperCase() + name.slice(1)).replace('_', ' ');
/** One record of the type, in words: `call`, `company`, `line item`. */
const singular = () => type().replace(/ies$/, 'y').replace(/s$/, '').replace('_', ' ');
const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const labelOf = (name) => state.definitions.find((d) => d.name === name)?.label || name;
const pageSize = () => Number($('page-size').value);
/** What the error on show came from: only a later success of the same kind clears it. */
let errorSource = null;

function showError(source, error) {
  errorSource = error ? source : null;
  renderError($('error'), error);
}

/**
 * Runs an API action of kind `source` (connect, properties, list, search, call), showing its
 * failure in the error box instead of throwing. Requests run concurrently, so a success of
 * one kind must not hide the failure of another.
 */
async function attempt(source, work) {
  try {
    const result = await work();
    if (errorSource === source) showError(source, null);
    return result;
  } catch (error) {
    showError(source, error);
    return undefined;
  }
}

// ------------------------------------------------------------------ portals

function renderPortals() {
  const select = $('portal');
  select.replaceChildren(...(state.portals.length === 0
    ? [el('option', { value: '' }, 'No portal yet')]
    : state.portals.map((p, i) => el('option', { value: i, selected: i === state.current }, p.name))));
  select.disabled = state.portals.length === 0;
  $('forget').disabled = state.current < 0;
  const portal = state.portals[state.current];
  $('connection').textContent = portal
    ? `Connected: ${portal.name} (token ending ${portal.token.slice(-4)})`
    : 'Not connected';
}

function savePortals() {
  store.write('portals', state.portals);
  store.write('current', state.current);
}

async function connect(event) {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  // The token must work before it is kept: reading the type's properties proves it.
  const properties = await attempt('connect', () => api.properties(value, type()));
  if (!properties) return;
  const name = $('portal-name').value.trim() || `Portal with token …${value.slice(-4)}`;
  const existing = state.portals.findIndex((p) => p.token === value);
  if (existing >= 0) {
    state.portals[existing].name = name;
    state.current = existing;
  } else {
    state.portals.push({ name, token: value });
    state.current = state.portals.length - 1;
  }
  savePortals();
  $('token').value = '';
  $('portal-name').value = '';
  setDefinitions(properties.results);
  renderPortals();
  await reloadAll();
}

async function switchPortal() {
  state.current = Number($('portal').value);
  savePortals();
  renderPortals();
  await loadDefinitions();
  await reloadAll();
}

function forget() {
  state.portals.splice(state.current, 1);
  state.current = state.portals.length ? 0 : -1;
  savePortals();
  renderPortals();
  if (state.current >= 0) switchPortal();
  else $('calls-results').replaceChildren(el('p', { class: 'empty' }, `Connect with a token to see ${type()}.`));
}

// ------------------------------------------------------------------ properties

function setDefinitions(definitions) {
  state.definitions = [...definitions].sort((a, b) => a.name.localeCompare(b.name));
  $('property-names').replaceChildren(...state.definitions.map((d) => el('option', { value: d.name }, d.label)));
  renderColumnChooser();
}

async function loadDefinitions() {
  if (!token()) return;
  const properties = await attempt('properties', () => api.properties(token(), type()));
  if (properties) setDefinitions(properties.results);
}

function renderColumnChooser() {
  const filter = $('columns-filter').value.trim().toLowerCase();
  const shown = state.definitions.filter((d) => !filter
    || d.name.toLowerCase().includes(filter) || d.label.toLowerCase().includes(filter));
  $('columns-list').replaceChildren(...shown.map((d) => {
    const id = `column-${d.name}`;
    return el('div', { class: 'check' },
      el('input', { type: 'checkbox', id, value: d.name, checked: state.columns.includes(d.name) }),
      el('label', { for: id }, d.label, ' ', el('code', {}, d.name)));
  }));
  $('columns-count').textContent = String(state.columns.length);
}

function toggleColumn(event) {
  const box = event.target;
  if (box.type !== 'checkbox') return;
  state.columns = box.checked
    ? [...state.columns.filter((c) => c !== box.value), box.value]
    : state.columns.filter((c) => c !== box.value);
  store.write(`columns.${type()}`, state.columns);
  $('columns-count').textContent = String(state.columns.length);
  loadList();
  renderSearchBody();
}

// ------------------------------------------------------------------ list

function renderPager(prefix, pager, hasNext) {
  $(`${prefix}-prev`).disabled = pager.page === 0;
  $(`${prefix}-next`).disabled = !hasNext;
  $(`${prefix}-page`).textContent = `Page ${pager.page + 1}`;
}

/** Request counters: an answer that arrives after a newer request was sent is dropped. */
const latest = { list: 0, search: 0, call: 0 };

async function loadList() {
  if (!token()) return;
  const ticket = ++latest.list;
  const pager = state.list;
  const results = $('calls-results');
  results.setAttribute('aria-busy', 'true');
  const page = await attempt('list', () => api.list(token(), type(), {
    limit: pageSize(), after: pager.cursors[pager.page], properties: state.columns,
  }));
  if (ticket !== latest.list) return;
  results.removeAttribute('aria-busy');
  if (!page) return;
  const next = page.paging?.next?.after;
  pager.cursors.length = pager.page + 1;
  if (next) pager.cursors.push(next);
  renderCallTable(results, page.results, state.columns, labelOf, `${typeLabel()}, page ${pager.page + 1}`);
  renderPager('calls', pager, Boolean(next));
}

function restartList() {
  state.list = { cursors: [null], page: 0 };
  return loadList();
}

function turnListPage(step) {
  state.list.page = Math.max(0, state.list.page + step);
  loadList();
}

// ------------------------------------------------------------------ search builder

function currentSearchBody() {
  const s = state.search;
  return searchBody({
    query: s.query, groups: s.groups, sort: s.sort, properties: state.columns,
    limit: Number($('search-limit').value), after: s.cursors[s.page],
  });
}

function renderSearchBody() {
  $('search-body').textContent = JSON.stringify(currentSearchBody(), null, 2);
}

/** Editing the search starts it over from page 1. */
function searchEdited() {
  state.search.cursors = [null];
  state.search.page = 0;
  renderSearchBody();
}

function valueFields(filter, id, where) {
  const input = (key, label, extra = {}) => el('div', { class: 'field inline' },
    el('label', { for: `${id}-${key}` }, label),
    el('input', { id: `${id}-${key}`, 'data-key': key, value: filter[key], spellcheck: 'false', ...extra }));
  switch (operator(filter.operator).takes) {
    case 'value': return [input('value', 'Value')];
    case 'range': return [input('value', 'From'), input('highValue', 'To')];
    case 'values': return [input('values', 'Values (comma-separated)', { 'aria-describedby': `${id}-hint` }),
      el('span', { class: 'help', id: `${id}-hint` }, `For ${where}, lower-case text values match.`)];
    default: return [];
  }
}

function renderGroups(focusId) {
  const groups = state.search.groups;
  const container = $('groups');
  if (groups.length === 0) {
    container.replaceChildren(el('p', { class: 'empty' }, 'No filters: every record matches.'));
  } else {
    container.replaceChildren(...groups.flatMap((group, gi) => {
      const filters = group.filters.flatMap((filter, fi) => {
        const id = `g${gi + 1}-f${fi + 1}`;
        const where = `filter ${fi + 1} of group ${gi + 1}`;
        const row = el('div', { class: 'filter', role: 'group', 'aria-label': `Filter ${fi + 1} of group ${gi + 1}`, 'data-group': gi, 'data-filter': fi },
          el('div', { class: 'field inline' },
            el('label', { for: `${id}-propertyName` }, 'Property'),
            el('input', { id: `${id}-propertyName`, 'data-key': 'propertyName', list: 'property-names', value: filter.propertyName, spellcheck: 'false' })),
          el('div', { class: 'field inline' },
            el('label', { for: `${id}-operator` }, 'Operator'),
            el('select', { id: `${id}-operator`, 'data-key': 'operator' },
              OPERATORS.map((o) => el('option', { value: o.op, selected: o.op === filter.operator }, `${o.op} (${o.label})`)))),
          valueFields(filter, id, where),
          el('button', { type: 'button', 'data-action': 'remove-filter', 'aria-label': `Remove ${where}` }, 'Remove'));
        return fi === 0 ? [row] : [el('p', { class: 'joiner', 'aria-hidden': 'true' }, 'AND'), row];
      });
      const fieldset = el('fieldset', { class: 'group', 'data-group': gi },
        el('legend', {}, `Group ${gi + 1}`),
        filters,
        el('div', { class: 'group-actions' },
          el('button', { type: 'button', 'data-action': 'add-filter', id: `g${gi + 1}-add` }, `Add filter to group ${gi + 1}`),
          el('button', { type: 'button', 'data-action': 'remove-group' }, `Remove group ${gi + 1}`)));
      return gi === 0 ? [fieldset] : [el('p', { class: 'joiner', 'aria-hidden': 'true' }, 'OR'), fieldset];
    }));
  }
  renderSearchBody();
  if (focusId) $(focusId)?.focus();
}

function groupsInput(event) {
  const key = event.target.dataset.key;
  const row = event.target.closest('.filter');
  if (!key || !row) return;
  const filter = state.search.groups[row.dataset.group].filters[row.dataset.filter];
  filter[key] = event.target.value;
  searchEdited();
  // A new operator may take other value fields.
  if (key === 'operator') renderGroups(event.target.id);
}

function groupsClick(event) {
  const action = event.target.dataset.action;
  if (!action) return;
  const groupNode = event.target.closest('.group');
  const gi = Number(groupNode.dataset.group);
  const groups = state.search.groups;
  let focusId = 'add-group';
  if (action === 'add-filter') {
    groups[gi].filters.push(newFilter());
    focusId = `g${gi + 1}-f${groups[gi].filters.length}-propertyName`;
  } else if (action === 'remove-filter') {
    groups[gi].filters.splice(Number(event.target.closest('.filter').dataset.filter), 1);
    if (groups[gi].filters.length === 0) groups.splice(gi, 1);
    else focusId = `g${gi + 1}-add`;
  } else if (action === 'remove-group') {
    groups.splice(gi, 1);
  }
  searchEdited();
  renderGroups(focusId);
}

function addGroup() {
  state.search.groups.push({ filters: [newFilter()] });
  searchEdited();
  renderGroups(`g${state.search.groups.length}-f1-propertyName`);
}

async function runSearch() {
  if (!token()) {
    showError('search', new Error('Connect with a token first: searches run as the token\'s portal.'));
    return;
  }
  const s = state.search;
  const body = currentSearchBody();
  renderSearchBody();
  const results = $('search-results');
  results.setAttribute('aria-busy', 'true');
  const ticket = ++latest.search;
  const page = await attempt('search', () => api.search(token(), type(), body));
  if (ticket !== latest.search) return;
  results.removeAttribute('aria-busy');
  if (!page) return;
  s.ran = true;
  const next = page.paging?.next?.after;
  s.cursors.length = s.page + 1;
  if (next) s.cursors.push(next);
  const noun = page.total === 1 ? singular() : type().replace('_', ' ');
  $('search-total').textContent = `${page.total} matching ${noun}`;
  renderCallTable(results, page.results, state.columns, labelOf, `Search results, page ${s.page + 1}`);
  renderPager('search', s, Boolean(next));
}

function turnSearchPage(step) {
  state.search.page = Math.max(0, state.search.page + step);
  runSearch();
}

// ------------------------------------------------------------------ call view and routing

async function showCall(id) {
  $('detail-heading').textContent = `${capitalized(singular())} ${id}`;
  const detail = $('detail');
  detail.replaceChildren(el('p', {}, 'Loading…'));
  if (!token()) {
    detail.replaceChildren(el('p', { class: 'empty' }, 'Connect with a token to see this record.'));
    return;
  }
  if (state.definitions.length === 0) await loadDefinitions();
  const names = state.definitions.map((d) => d.name);
  const ticket = ++latest.call;
  // The call first: when it cannot be read, its own error (e.g. 404) is the one to show, not
  // whatever the association reads of a missing call answer.
  const both = await attempt('call', async () => {
    const record = await api.record(token(), type(), id, names);
    return [record, await api.associations(token(), type(), id)];
  });
  if (ticket !== latest.call) return;
  if (!both) {
    detail.replaceChildren(el('p', { class: 'empty' }, `This ${singular()} could not be read.`));
    return;
  }
  renderCallDetail(detail, both[0], both[1], labelOf);
}

function show(view) {
  for (const name of ['calls', 'search', 'detail']) $(`${name}-view`).hidden = name !== view;
  $('tab-calls').setAttribute('aria-pressed', String(view === 'calls'));
  $('tab-search').setAttribute('aria-pressed', String(view === 'search'));
}

function route() {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith('call/')) {
    show('detail');
    showCall(hash.slice('call/'.length));
    $('detail-heading').setAttribute('tabindex', '-1');
    $('detail-heading').focus();
  } else {
    show(hash === 'search' ? 'search' : 'calls');
  }
}

/** Everything shown comes from the current portal; `reroute` also reloads an open call. */
async function reloadAll(reroute = true) {
  await restartList();
  state.search.cursors = [null];
  state.search.page = 0;
  if (state.search.ran) await runSearch();
  else renderSearchBody();
  if (reroute && location.hash.startsWith('#call/')) route();
}

/** Another object type: its properties, its remembered columns, a fresh list and search. */
async function switchType() {
  state.objectType = $('object-type').value;
  store.write('objectType', state.objectType);
  state.columns = store.read(`columns.${type()}`, OBJECT_TYPES[type()]);
  state.search.groups = [];
  state.search.sort.propertyName = '';
  $('sort-property').value = '';
  renderGroups();
  renderTypeLabels();
  if (location.hash.startsWith('#call/')) location.hash = 'calls';
  await loadDefinitions();
  await reloadAll(false);
}

function renderTypeLabels() {
  $('object-type').value = type();
  $('tab-calls').textContent = typeLabel();
  $('calls-heading').textContent = typeLabel();
  $('search-type').textContent = type();
  $('columns-count').textContent = String(state.columns.length);
}

function start() {
  $('object-type').replaceChildren(...Object.keys(OBJECT_TYPES)
    .map((name) => el('option', { value: name }, typeLabel(name))));
  $('object-type').addEventListener('change', switchType);
  renderTypeLabels();
  $('connect').addEventListener('submit', connect);
  $('portal').addEventListener('change', switchPortal);
  $('forget').addEventListener('click', forget);
  $('tab-calls').addEventListener('click', () => { location.hash = 'calls'; });
  $('tab-search').addEventListener('click', () => { location.hash = 'search'; });
  $('columns-filter').addEventListener('input', renderColumnChooser);
  $('columns-list').addEventListener('change', toggleColumn);
  $('page-size').addEventListener('change', restartList);
  $('search-limit').addEventListener('change', searchEdited);
  $('reload').addEventListener('click', restartList);
  $('calls-prev').addEventListener('click', () => turnListPage(-1));
  $('calls-next').addEventListener('click', () => turnListPage(1));
  $('search-prev').addEventListener('click', () => turnSearchPage(-1));
  $('search-next').addEventListener('click', () => turnSearchPage(1));
  $('groups').addEventListener('input', groupsInput);
  $('groups').addEventListener('click', groupsClick);
  $('add-group').addEventListener('click', addGroup);
  $('search-query').addEventListener('input', (e) => { state.search.query = e.target.value; searchEdited(); });
  $('sort-property').addEventListener('input', (e) => { state.search.sort.propertyName = e.target.value; searchEdited(); });
  $('sort-direction').addEventListener('change', (e) => { state.search.sort.direction = e.target.value; searchEdited(); });
  $('sort-direction').value = state.search.sort.direction;
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.search.cursors = [null];
    state.search.page = 0;
    runSearch();
  });
  window.addEventListener('hashchange', route);

  renderPortals();
  renderGroups();
  $('columns-count').textContent = String(state.columns.length);
  route();
  if (token()) {
    // route() above already opened a call named in the address, if any.
    loadDefinitions().then(() => reloadAll(false));
  } else {
    $('calls-results').replaceChildren(el('p', { class: 'empty' }, `Connect with a token to see ${type()}.`));
  }
}

start();
