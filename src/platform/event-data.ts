// Event data is what rules read on every evaluation: one bound for every way it reaches them
// (ingested events, simulate).
import { badRequest, type DomainError } from './errors.js';
import { eventDataBytesMax } from './limits.js';

/** The 400 naming `field` when `value` serializes to more than eventDataBytesMax; undefined otherwise. */
export function oversizedEventData(value: unknown, field: string): DomainError | undefined {
  return oversizedEventDataJson(JSON.stringify(value), field);
}

/** The same check for event data already serialized (any key order: the length is the same). */
export function oversizedEventDataJson(json: string, field: string): DomainError | undefined {
  const bytes = Buffer.byteLength(json);
  if (bytes <= eventDataBytesMax) return undefined;
  return badRequest([
    {
      field,
      reason: 'too_large',
      message: `${field} is larger than ${eventDataBytesMax} bytes`,
      expected: `at most ${eventDataBytesMax} bytes of JSON`,
      received: `${bytes} bytes`,
    },
  ]);
}
