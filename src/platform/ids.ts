// One id scheme: UUIDv7 (RFC 9562). Time-ordered, so new rows land at the end of primary-key indexes
// and ids sort by creation.
import { createHash, randomBytes, randomFillSync, randomUUID } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

// Random bytes are drawn 4 KiB at a time: one system call per 256 ids instead of one per id, which
// showed up in profiles of batch event ingest.
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;

function random16(): Buffer {
  if (randomOffset + 16 > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const bytes = Buffer.from(randomPool.subarray(randomOffset, randomOffset + 16));
  randomOffset += 16;
  return bytes;
}

export function newId(): string {
  const bytes = random16();
  let ms = Date.now();
  if (ms <= lastMs) {
    // Keep ids from one process strictly increasing within a millisecond (12-bit counter in rand_a).
    sequence += 1;
    if (sequence > 0xfff) {
      lastMs += 1;
      sequence = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    sequence = 0;
  }
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  return formatUuid(bytes);
}

/**
 * A stable UUID (version 8, RFC 9562) named by `parts`, for a row that is stored inside another
 * one (a rule evaluation inside its event's row): the same parts always give the same id.
 */
export function derivedId(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('/')).digest().subarray(0, 16);
  bytes[6] = 0x80 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  return formatUuid(bytes);
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}

/** An API key: "sk_" and 43 characters of base64url, 256 bits of entropy. */
export function newApiKeySecret(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a text is a UUID: a value computed by a rule is checked before it reaches SQL as one. */
export function isUuid(text: string): boolean {
  return uuidPattern.test(text);
}
