// The search builder's model, without a browser: every operator gives HubSpot's filter shape,
// and the body leaves out what is unset. Imports the very module the console serves.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { OPERATORS, filterBody, newFilter, searchBody, splitValues } from '../../src/api/console/search.js';

const filter = (operator, fields = {}) => ({ ...newFilter(), propertyName: 'hs_call_duration', operator, ...fields });

test('all thirteen HubSpot operators are offered, once each', () => {
  const ops = OPERATORS.map((o) => o.op);
  assert.deepEqual(ops, ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN',
    'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN']);
});

test('each operator sends only the value fields it takes', () => {
  for (const op of ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN']) {
    assert.deepEqual(filterBody(filter(op, { value: '5', highValue: '9', values: 'a,b' })),
      { propertyName: 'hs_call_duration', operator: op, value: '5' }, op);
  }
  assert.deepEqual(filterBody(filter('BETWEEN', { value: '1', highValue: '9', values: 'a' })),
    { propertyName: 'hs_call_duration', operator: 'BETWEEN', value: '1', highValue: '9' });
  for (const op of ['IN', 'NOT_IN']) {
    assert.deepEqual(filterBody(filter(op, { value: 'x', values: ' inbound, outbound ,, ' })),
      { propertyName: 'hs_call_duration', operator: op, values: ['inbound', 'outbound'] }, op);
  }
  for (const op of ['HAS_PROPERTY', 'NOT_HAS_PROPERTY']) {
    assert.deepEqual(filterBody(filter(op, { value: 'x', values: 'y' })),
      { propertyName: 'hs_call_duration', operator: op }, op);
  }
});

test('the body leaves out empty groups and unset query, sort and after', () => {
  const body = searchBody({
    query: '  ', groups: [{ filters: [] }], sort: { propertyName: '', direction: 'ASCENDING' },
    properties: ['hs_call_title'], limit: 10, after: null,
  });
  assert.deepEqual(body, { properties: ['hs_call_title'], limit: 10 });
});

test('groups stay in order, filters inside them too, with sort, query and after', () => {
  const body = searchBody({
    query: 'demo',
    groups: [
      { filters: [filter('GT', { value: '10' }), filter('LT', { value: '20' })] },
      { filters: [] },
      { filters: [filter('HAS_PROPERTY')] },
    ],
    sort: { propertyName: ' hs_timestamp ', direction: 'DESCENDING' },
    properties: [],
    limit: 200,
    after: '20',
  });
  assert.deepEqual(body, {
    query: 'demo',
    filterGroups: [
      { filters: [
        { propertyName: 'hs_call_duration', operator: 'GT', value: '10' },
        { propertyName: 'hs_call_duration', operator: 'LT', value: '20' },
      ] },
      { filters: [{ propertyName: 'hs_call_duration', operator: 'HAS_PROPERTY' }] },
    ],
    sorts: [{ propertyName: 'hs_timestamp', direction: 'DESCENDING' }],
    properties: [],
    limit: 200,
    after: '20',
  });
});

test('comma-separated values are trimmed and blanks dropped', () => {
  assert.deepEqual(splitValues(''), []);
  assert.deepEqual(splitValues('a'), ['a']);
  assert.deepEqual(splitValues(' a , b,,c '), ['a', 'b', 'c']);
});
