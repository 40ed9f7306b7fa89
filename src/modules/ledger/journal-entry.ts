// Journal entries as data: the double-entry check and the canonical form the hash chain seals.
// Pure: no I/O.
import { createHash } from 'node:crypto';
import { assert } from '../../platform/assert.js';
import type { Bucket, Owner } from './accounts.js';

export type ActionType =
  | 'CREDIT'
  | 'DEBIT'
  | 'HOLD'
  | 'RELEASE'
  | 'FORFEIT'
  | 'VOID_HOLD'
  | 'MATURITY'
  | 'EXPIRATION'
  | 'FUND'
  | 'BURN'
  | 'TRANSFER'
  | 'REDEMPTION'
  | 'REVERSAL';

export interface PostingDraft {
  owner: Owner;
  bucket: Bucket;
  /** Signed minor units: positive is a credit (destination), negative a debit (source). */
  amount: bigint;
}

/** Who and what caused an entry; the same for every action of one event or API call. */
export interface EntryContext {
  organizationId: string;
  programId: string | null;
  description: string;
  now: Date;
  eventId?: string | null;
  ruleId?: string | null;
  eventTimestamp?: Date | null;
  createdByApiKeyId?: string | null;
}

export interface EntryDraft {
  actionType: ActionType;
  assetId: string;
  referenceId?: string | null;
  postings: PostingDraft[];
}

/** Merges postings to the same account and drops zeros, then asserts double entry. */
export function normalizePostings(postings: PostingDraft[]): PostingDraft[] {
  const merged = new Map<string, PostingDraft>();
  for (const posting of postings) {
    const key = `${posting.owner.type}:${posting.owner.id}:${posting.bucket}`;
    const existing = merged.get(key);
    merged.set(key, { ...posting, amount: (existing?.amount ?? 0n) + posting.amount });
  }
  const kept = [...merged.values()].filter((posting) => posting.amount !== 0n);
  assertBalanced(kept);
  return kept;
}

export function assertBalanced(postings: PostingDraft[]): void {
  assert(postings.length >= 2, `a journal entry needs two or more postings, got ${postings.length}`);
  let total = 0n;
  for (const posting of postings) total += posting.amount;
  assert(total === 0n, `postings sum to ${total}, not zero`);
}

export interface SealableEntry {
  id: string;
  organization_id: string;
  action_type: string;
  description: string;
  program_id: string | null;
  event_id: string | null;
  rule_id: string | null;
  reference_id: string | null;
  created_by_api_key_id: string | null;
  created_at: Date;
  postings: { id: string; account_id: string; asset_id: string; bucket: string; amount: string }[];
}

export const genesisHash = '0'.repeat(64);

/** hash = SHA-256(previous hash, sequence number, canonical entry with its postings sorted by id). */
export function sealHash(
  previousHash: string,
  sequenceNumber: number | string,
  entry: SealableEntry,
): string {
  const postings = [...entry.postings]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((p) => [p.id, p.account_id, p.asset_id, p.bucket, p.amount]);
  const canonical = JSON.stringify([
    String(sequenceNumber),
    entry.id,
    entry.organization_id,
    entry.action_type,
    entry.description,
    entry.program_id,
    entry.event_id,
    entry.rule_id,
    entry.reference_id,
    entry.created_by_api_key_id,
    entry.created_at.toISOString(),
    postings,
  ]);
  return createHash('sha256').update(previousHash).update('\n').update(canonical).digest('hex');
}
