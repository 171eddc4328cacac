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

/** The object types a call can be associated with (v4 association reads). */
export const ASSOCIATED_TYPES = ['contacts', 'companies', 'deals', 'tickets'];

export const api = {
  properties: (token) => request(token, 'GET', '/crm/v3/properties/calls'),

  list(token, { limit, after, properties }) {
    const q = new URLSearchParams({ limit: String(limit) });
    if (properties.length) q.set('properties', properties.join(','));
    if (after) q.set('after', after);
    return request(token, 'GET', `/crm/v3/objects/calls?${q}`);
  },

  search: (token, body) => request(token, 'POST', '/crm/v3/objects/calls/search', body),

  /** One call with every named property and the history of each. */
  call(token, id, propertyNames) {
    const q = new URLSearchParams();
    if (propertyNames.length) {
      q.set('properties', propertyNames.join(','));
      q.set('propertiesWithHistory', propertyNames.join(','));
    }
    return request(token, 'GET', `/crm/v3/objects/calls/${encodeURIComponent(id)}?${q}`);
  },

  async associations(token, id) {
    const lists = await Promise.all(ASSOCIATED_TYPES.map((type) =>
      request(token, 'GET', `/crm/v4/objects/calls/${encodeURIComponent(id)}/associations/${type}?limit=500`)));
    return Object.fromEntries(ASSOCIATED_TYPES.map((type, i) => [type, lists[i]?.results || []]));
  },
};
