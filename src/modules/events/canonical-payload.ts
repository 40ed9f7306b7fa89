// The idempotency fingerprint of an event: SHA-256 of its semantic fields in a canonical JSON form.
// Key order, whitespace and the spelling of numbers (1.50, 1.5, 15e-1) do not count; the instant of
// event_timestamp counts, not how it was written. Pure: no I/O.
import { hash } from 'node:crypto';
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
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let items = '';
    for (let index = 0; index < value.length; index += 1)
      items += `${index === 0 ? '' : ','}${canonicalJson(value[index]) ?? ''}`;
    return `[${items}]`;
  }
  // Keys in UTF-16 code unit order (sort's own); a written member is never empty, so '' means none yet.
  const object = value as Record<string, unknown>;
  let members = '';
  for (const key of Object.keys(object).sort()) {
    const child = object[key];
    if (child !== undefined)
      members += `${members === '' ? '' : ','}${JSON.stringify(key)}:${canonicalJson(child)}`;
  }
  return `{${members}}`;
}

export function hashEventPayload(payload: EventPayload): Buffer {
  const instant = readTimestamp(payload.event_timestamp, 'event_timestamp');
  return hashCanonicalEvent(payload, canonicalJson(payload.event_data), instant);
}

/**
 * The hash of hashEventPayload from parts already at hand: event_data as canonicalJson wrote it and
 * event_timestamp read. The fields are written in their sorted order, as canonicalJson would.
 */
export function hashCanonicalEvent(payload: EventPayload, eventDataJson: string, instant: Date): Buffer {
  const fields = [
    `"event_data":${eventDataJson}`,
    `"event_timestamp":"${instant.toISOString()}"`,
    optionalField('external_id', payload.external_id),
    optionalField('participant_id', payload.participant_id?.toLowerCase()),
    `"program_id":${JSON.stringify(payload.program_id.toLowerCase())}`,
    optionalField('recipient_external_id', payload.recipient_external_id),
    optionalField('recipient_id', payload.recipient_id?.toLowerCase()),
  ];
  const text = `{${fields.filter((field) => field !== '').join(',')}}`;
  return hash('sha256', text, 'buffer');
}

function optionalField(name: string, value: string | undefined): string {
  return value === undefined ? '' : `"${name}":${JSON.stringify(value)}`;
}
