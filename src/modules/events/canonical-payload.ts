// The idempotency fingerprint of an event: SHA-256 of its semantic fields in a canonical JSON form.
// Key order, whitespace and the spelling of numbers (1.50, 1.5, 15e-1) do not count; the instant of
// event_timestamp counts, not how it was written. Pure: no I/O.
import { createHash } from 'node:crypto';
import { readTimestamp } from '../../platform/timestamp.js';

export interface EventPayload {
  program_id: string;
  external_id?: string | undefined;
  participant_id?: string | undefined;
  recipient_id?: string | undefined;
  recipient_external_id?: string | undefined;
  event_timestamp: string;
  event_data: Record<string, unknown>;
}

/**
 * JSON with object keys sorted and no whitespace. Numbers are already parsed, so JSON.stringify
 * writes them in the shortest round-trip form (the RFC 8785 number form): 1.50 and 1.5 are equal.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${canonicalJson(child)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hashEventPayload(payload: EventPayload): Buffer {
  const semantic = {
    program_id: payload.program_id.toLowerCase(),
    external_id: payload.external_id,
    participant_id: payload.participant_id?.toLowerCase(),
    recipient_id: payload.recipient_id?.toLowerCase(),
    recipient_external_id: payload.recipient_external_id,
    event_timestamp: readTimestamp(payload.event_timestamp, 'event_timestamp').toISOString(),
    event_data: payload.event_data,
  };
  return createHash('sha256').update(canonicalJson(semantic)).digest();
}
