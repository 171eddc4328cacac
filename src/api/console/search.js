// The search builder's model: what the form holds, and the exact request body it becomes.
// Pure functions, so what the page shows is what `fetch` sends.

/** HubSpot's 13 filter operators, with the shape of value each one takes. */
export const OPERATORS = [
  { op: 'EQ', label: 'is equal to', takes: 'value' },
  { op: 'NEQ', label: 'is not equal to', takes: 'value' },
  { op: 'LT', label: 'is less than', takes: 'value' },
  { op: 'LTE', label: 'is less than or equal to', takes: 'value' },
  { op: 'GT', label: 'is greater than', takes: 'value' },
  { op: 'GTE', label: 'is greater than or equal to', takes: 'value' },
  { op: 'BETWEEN', label: 'is between', takes: 'range' },
  { op: 'IN', label: 'is any of', takes: 'values' },
  { op: 'NOT_IN', label: 'is none of', takes: 'values' },
  { op: 'HAS_PROPERTY', label: 'has a value', takes: 'nothing' },
  { op: 'NOT_HAS_PROPERTY', label: 'has no value', takes: 'nothing' },
  { op: 'CONTAINS_TOKEN', label: 'contains the word', takes: 'value' },
  { op: 'NOT_CONTAINS_TOKEN', label: 'does not contain the word', takes: 'value' },
];

export function operator(op) {
  return OPERATORS.find((o) => o.op === op) || OPERATORS[0];
}

export function newFilter() {
  return { propertyName: 'hs_call_title', operator: 'EQ', value: '', highValue: '', values: '' };
}

/** Splits the comma-separated text of an IN / NOT_IN filter into its values. */
export function splitValues(text) {
  return text.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

/** One filter as HubSpot reads it: only the fields its operator takes. */
export function filterBody(filter) {
  const out = { propertyName: filter.propertyName.trim(), operator: filter.operator };
  switch (operator(filter.operator).takes) {
    case 'value':
      out.value = filter.value;
      break;
    case 'range':
      out.value = filter.value;
      out.highValue = filter.highValue;
      break;
    case 'values':
      out.values = splitValues(filter.values);
      break;
    default:
      break;
  }
  return out;
}

/**
 * The request body of a search. Empty groups are left out (they would match nothing);
 * `query`, `sorts` and `after` only appear when set.
 */
export function searchBody({ query, groups, sort, properties, limit, after }) {
  const body = {};
  if (query.trim() !== '') body.query = query;
  const filterGroups = groups
    .filter((g) => g.filters.length > 0)
    .map((g) => ({ filters: g.filters.map(filterBody) }));
  if (filterGroups.length) body.filterGroups = filterGroups;
  if (sort.propertyName.trim() !== '') {
    body.sorts = [{ propertyName: sort.propertyName.trim(), direction: sort.direction }];
  }
  body.properties = [...properties];
  body.limit = limit;
  if (after) body.after = after;
  return body;
}
