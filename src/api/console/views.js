// Rendering: builds DOM nodes from API answers. Text always goes in as text, never as HTML,
// so stored values cannot inject markup.

/** `el('p', {class: 'x'}, 'text', child)`: an element with attributes and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Shows an API failure the way HubSpot reports it: status, category, message, correlation id. */
export function renderError(container, error) {
  container.replaceChildren();
  if (!error) {
    container.hidden = true;
    return;
  }
  const body = error.body || {};
  const title = [error.status ? `HTTP ${error.status}` : null, body.category].filter(Boolean).join(' · ');
  container.append(
    el('h2', {}, title || 'Error'),
    el('p', { class: 'error-message' }, body.message || error.message),
  );
  const details = Array.isArray(body.errors) ? body.errors.map((e) => e?.message).filter(Boolean) : [];
  if (details.length) container.append(el('ul', {}, details.map((d) => el('li', {}, d))));
  if (error.correlationId) {
    container.append(el('p', {}, 'Correlation id: ', el('code', { class: 'correlation-id' }, error.correlationId)));
  }
  container.append(el('button', { type: 'button', onclick: () => renderError(container, null) }, 'Dismiss'));
  container.hidden = false;
}

/** A table of calls: the id opens the call, then one column per chosen property. */
export function renderCallTable(container, results, properties, labelOf, caption) {
  if (!results.length) {
    container.replaceChildren(el('p', { class: 'empty' }, 'No calls.'));
    return;
  }
  const head = el('tr', {}, el('th', { scope: 'col' }, 'ID'),
    properties.map((p) => el('th', { scope: 'col', title: p }, labelOf(p))));
  const rows = results.map((call) => el('tr', {},
    el('th', { scope: 'row' }, el('a', { href: `#call/${encodeURIComponent(call.id)}` }, call.id)),
    properties.map((p) => el('td', {}, call.properties?.[p] ?? ''))));
  container.replaceChildren(el('div', { class: 'scroll' },
    el('table', {}, el('caption', {}, caption), el('thead', {}, head), el('tbody', {}, rows))));
}

/** A call in full: its properties, the history of each property, and its associations. */
export function renderCallDetail(container, call, associations, labelOf) {
  const names = Object.keys(call.properties || {}).sort();
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Created'), el('dd', {}, call.createdAt),
    el('dt', {}, 'Updated'), el('dd', {}, call.updatedAt),
    el('dt', {}, 'Archived'), el('dd', {}, call.archived ? 'yes' : 'no'));

  const properties = el('section', { 'aria-labelledby': 'props-heading' },
    el('h3', { id: 'props-heading' }, 'Properties'),
    el('div', { class: 'scroll' }, el('table', { id: 'detail-properties' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Property'),
        el('th', { scope: 'col' }, 'Internal name'), el('th', { scope: 'col' }, 'Value'))),
      el('tbody', {}, names.filter((n) => call.properties[n] !== null && call.properties[n] !== '')
        .map((n) => el('tr', {}, el('th', { scope: 'row' }, labelOf(n)), el('td', {}, el('code', {}, n)),
          el('td', { class: 'value' }, call.properties[n])))))));

  const withHistory = Object.entries(call.propertiesWithHistory || {})
    .filter(([, versions]) => versions.length > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  const history = el('section', { 'aria-labelledby': 'history-heading', id: 'detail-history' },
    el('h3', { id: 'history-heading' }, 'Property history'),
    el('p', { class: 'help' }, 'Newest first, as HubSpot returns it.'),
    withHistory.length === 0 ? el('p', { class: 'empty' }, 'No history.') :
      withHistory.map(([name, versions]) => el('details', { class: 'history', open: versions.length > 1 },
        el('summary', {}, `${labelOf(name)} (${name}): ${versions.length} version${versions.length === 1 ? '' : 's'}`),
        el('table', {},
          el('thead', {}, el('tr', {}, ['Value', 'Timestamp', 'Source', 'Source id']
            .map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, versions.map((v) => el('tr', {}, el('td', { class: 'value' }, v.value),
            el('td', {}, v.timestamp), el('td', {}, v.sourceType ?? ''), el('td', {}, v.sourceId ?? ''))))))));

  const assoc = el('section', { 'aria-labelledby': 'assoc-heading', id: 'detail-associations' },
    el('h3', { id: 'assoc-heading' }, 'Associations'),
    Object.entries(associations).map(([type, links]) => el('div', { class: 'assoc' },
      el('h4', {}, `${type[0].toUpperCase()}${type.slice(1)} (${links.length})`),
      links.length === 0 ? el('p', { class: 'empty' }, 'None.') :
        el('ul', {}, links.map((link) => el('li', {},
          `${type} ${link.toObjectId}: `,
          link.associationTypes.map((t) => `${t.label || 'unlabelled'} (type ${t.typeId}, ${t.category})`).join('; ')))))));

  container.replaceChildren(facts, properties, history, assoc);
}
