// The console's only way out: same-origin requests to this server's HubSpot API, with the
// person's token. Errors keep HubSpot's envelope (message, category, correlationId, errors).

/** An API answer that was not a success, carrying HubSpot's error envelope when there is one. */
export class ApiError extends Error {
  constructor(status, body, correlationId) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.correlationId = this.body.correlationId || correlationId || '';
  }
}

/**
 * Sends one request. `path` is relative to this origin, so the token can only ever go to the
 * server that served the console.
 */
export async function request(token, method, path, body) {
  if (!path.startsWith('/crm/')) throw new Error(`not an API path: ${path}`);
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  const init = { method, headers, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { message: `The server could not be reached: ${e.message}`, category: 'NETWORK' });
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const envelope = parsed && typeof parsed === 'object' ? parsed : { message: text || response.statusText };
    throw new ApiError(response.status, envelope, response.headers.get('x-hubspot-correlation-id'));
  }
  return parsed;
}

/** The object types the console browses, with the properties a list shows at first. */
export const OBJECT_TYPES = {
  calls: ['hs_call_title', 'hs_timestamp', 'hs_call_direction', 'hs_call_status', 'hs_call_duration'],
  contacts: ['email', 'firstname', 'lastname', 'phone', 'company'],
  companies: ['name', 'domain', 'industry', 'city'],
  deals: ['dealname', 'amount', 'pipeline', 'dealstage', 'closedate'],
  tickets: ['subject', 'hs_pipeline', 'hs_pipeline_stage', 'hs_ticket_priority'],
  notes: ['hs_note_body', 'hs_timestamp'],
  emails: ['hs_email_subject', 'hs_email_direction', 'hs_timestamp'],
  meetings: ['hs_meeting_title', 'hs_meeting_start_time', 'hs_meeting_outcome'],
  tasks: ['hs_task_subject', 'hs_task_status', 'hs_task_priority', 'hs_timestamp'],
  products: ['name', 'price', 'hs_sku'],
  line_items: ['name', 'quantity', 'price', 'amount'],
};

const ENGAGEMENTS = ['calls', 'emails', 'meetings', 'notes', 'tasks'];
const RECORDS = ['contacts', 'companies', 'deals', 'tickets'];

/** The types a record of `type` can be associated with (v4 association reads). */
export function associatedTypes(type) {
  if (ENGAGEMENTS.includes(type)) return RECORDS;
  if (RECORDS.includes(type)) {
    const others = [...RECORDS.filter((t) => t !== type), ...ENGAGEMENTS];
    return type === 'deals' ? [...others, 'line_items'] : others;
  }
  return type === 'line_items' ? ['deals'] : [];
}

/**
 * The API version the console speaks: HubSpot's latest date version (see
 * src/api/version.rs), as a new integration would.
 */
export const API_VERSION = '2026-09';

/** The console's API, for records of one object type at a time. */
export const api = {
  properties: (token, type) => request(token, 'GET', `/crm/properties/${API_VERSION}/${type}`),

  list(token, type, { limit, after, properties }) {
    const q = new URLSearchParams({ limit: String(limit) });
    if (properties.length) q.set('properties', properties.join(','));
    if (after) q.set('after', after);
    return request(token, 'GET', `/crm/objects/${API_VERSION}/${type}?${q}`);
  },

  search: (token, type, body) => request(token, 'POST', `/crm/objects/${API_VERSION}/${type}/search`, body),

  /** One record with every named property and the history of each. */
  record(token, type, id, propertyNames) {
    const q = new URLSearchParams();
    if (propertyNames.length) {
      q.set('properties', propertyNames.join(','));
      q.set('propertiesWithHistory', propertyNames.join(','));
    }
    return request(token, 'GET', `/crm/objects/${API_VERSION}/${type}/${encodeURIComponent(id)}?${q}`);
  },

  async associations(token, type, id) {
    const types = associatedTypes(type);
    const lists = await Promise.all(types.map((to) =>
      request(token, 'GET', `/crm/objects/${API_VERSION}/${type}/${encodeURIComponent(id)}/associations/${to}?limit=500`)));
    return Object.fromEntries(types.map((to, i) => [to, lists[i]?.results || []]));
  },
};
