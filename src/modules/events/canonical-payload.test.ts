import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, hashEventPayload } from './canonical-payload.js';

const base = {
  program_id: '0190a1b2-0000-7000-8000-000000000001',
  external_id: 'user_abc123',
  event_timestamp: '2024-01-15T10:30:00Z',
  event_data: { amount: 1.5, items: [{ sku: 'a', qty: 2 }] },
};

describe('canonical payload', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('does not count key order, whitespace or trailing decimal zeros', () => {
    const reordered = JSON.parse('{ "items": [ {"qty": 2.00, "sku": "a"} ], "amount": 1.50 }');
    expect(hashEventPayload({ ...base, event_data: reordered })).toEqual(hashEventPayload(base));
  });

  it('compares event_timestamp as an instant', () => {
    const sameInstant = { ...base, event_timestamp: '2024-01-15T12:30:00.000+02:00' };
    expect(hashEventPayload(sameInstant)).toEqual(hashEventPayload(base));
  });

  it('counts a changed value, a string for a number, and another participant', () => {
    const original = hashEventPayload(base);
    expect(hashEventPayload({ ...base, event_data: { ...base.event_data, amount: 1.51 } })).not.toEqual(
      original,
    );
    expect(hashEventPayload({ ...base, event_data: { ...base.event_data, amount: '1.5' } })).not.toEqual(
      original,
    );
    expect(hashEventPayload({ ...base, external_id: 'someone_else' })).not.toEqual(original);
  });

  it('hashes the canonical text of the semantic fields, sorted, optional ones only when given', () => {
    const canonical =
      '{"event_data":{"amount":1.5,"items":[{"qty":2,"sku":"a"}]},"event_timestamp":"2024-01-15T10:30:00.000Z",' +
      '"external_id":"user_abc123","program_id":"0190a1b2-0000-7000-8000-000000000001","recipient_id":"0190a1b2-0000-7000-8000-00000000000a"}';
    const payload = {
      ...base,
      program_id: base.program_id.toUpperCase(),
      recipient_id: '0190A1B2-0000-7000-8000-00000000000A',
    };
    expect(hashEventPayload(payload)).toEqual(createHash('sha256').update(canonical).digest());
  });
});
