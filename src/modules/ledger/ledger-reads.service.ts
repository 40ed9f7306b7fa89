// Queries of the HTTP API: balances, lots, activity, statements and journal entries.
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import { decodeCursor, decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { balancesPerHolderMax, pageSizeDefault, scaleMax } from '../../platform/limits.js';
import { formatAmount, parseSignedAmount } from '../../platform/money.js';
import { readOptionalTimestamp } from '../../platform/timestamp.js';
import { findAssetRow } from '../assets/index.js';
import { type Owner, systemAccountName } from './accounts.js';
import type {
  ActivityItem,
  HistoryQuery,
  JournalEntriesQuery,
  JournalEntry,
  Lot,
  LotsQuery,
  Statement,
  StatementQuery,
} from './ledger.schemas.js';
import * as store from './ledger.store.js';
import * as readStore from './ledger-reads.store.js';
import * as lotStore from './lots.store.js';

export async function requireParticipantExists(db: Database, organizationId: string, id: string) {
  if ((await store.findParticipantStatus(db, organizationId, id)) === undefined)
    throw notFound('participant');
}

export async function listBalances(
  db: Database,
  organizationId: string,
  owner: Owner,
  query: { asset_id?: string | undefined; limit?: number; cursor?: string | undefined },
  prefundedOnly = false,
) {
  const limit = query.limit ?? pageSizeDefault;
  const scope = `balances:${owner.type}:${owner.id}`;
  const after = decodeCursor(query.cursor, scope);
  const rows = await store.listOwnerBalances(db, organizationId, owner, {
    assetId: query.asset_id,
    afterAssetId: after === undefined ? undefined : String(after[0]),
    limit,
    prefundedOnly,
  });
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row.asset_id],
    (row) => ({
      asset_id: row.asset_id,
      available: formatAmount(BigInt(row.available), row.scale),
      held: formatAmount(BigInt(row.held), row.scale),
      deferred: formatAmount(BigInt(row.deferred), row.scale),
      issuance_policy: 'PREFUNDED',
    }),
  );
}

/** The `balances` of GET /v1/participants/{id}: every asset the participant holds. */
export async function readParticipantBalances(db: Database, organizationId: string, participantId: string) {
  const page = await listBalances(
    db,
    organizationId,
    { type: 'PARTICIPANT', id: participantId },
    { limit: 1000 },
  );
  return {
    balances: page.data.map(({ asset_id, available, held, deferred }) => ({
      asset_id,
      available,
      held,
      deferred,
    })),
  };
}

export async function listLots(db: Database, organizationId: string, owner: Owner, query: LotsQuery) {
  const asset = await findAssetRow(db, organizationId, query.asset_id);
  if (asset.inventory_mode !== 'LOT') {
    throw new DomainError(
      'unsupported_inventory_mode',
      'lots exist for LOT assets only; use the balances endpoint',
    );
  }
  const limit = query.limit ?? pageSizeDefault;
  const scope = `lots:${owner.id}:${asset.id}`;
  const rows = await lotStore.listLots(db, organizationId, owner, {
    assetId: asset.id,
    programId: query.program_id,
    status: query.status,
    expiresBefore: readOptionalTimestamp(query.expires_before, 'expires_before'),
    expiresAfter: readOptionalTimestamp(query.expires_after, 'expires_after'),
    referenceId: query.reference_id,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row.created_at, row.id],
    (row): Lot => ({
      id: row.id,
      asset_id: row.asset_id,
      program_id: row.program_id,
      amount: formatAmount(BigInt(row.amount), asset.scale),
      remaining: formatAmount(BigInt(row.remaining), asset.scale),
      status: row.status,
      reference_id: row.reference_id,
      expires_at: toIsoOrNull(row.expires_at),
      matures_at: toIsoOrNull(row.matures_at),
      created_at: toIso(row.created_at),
    }),
  );
}

async function scalesOf(db: Database, organizationId: string, assetIds: string[]) {
  const scales = new Map<string, number>();
  for (const id of new Set(assetIds)) scales.set(id, (await findAssetRow(db, organizationId, id)).scale);
  return scales;
}

export async function listHistory(
  db: Database,
  organizationId: string,
  owner: Owner,
  query: HistoryQuery,
): Promise<PageResult<ActivityItem>> {
  if (query.asset_id !== undefined) await findAssetRow(db, organizationId, query.asset_id);
  const limit = query.limit ?? pageSizeDefault;
  const scope = `history:${owner.id}`;
  const rows = await readStore.listActivity(db, organizationId, owner, {
    assetId: query.asset_id,
    bucket: query.bucket,
    from: readOptionalTimestamp(query.from, 'from'),
    to: readOptionalTimestamp(query.to, 'to'),
    eventFrom: readOptionalTimestamp(query.event_from, 'event_from'),
    eventTo: readOptionalTimestamp(query.event_to, 'event_to'),
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  const scales = await scalesOf(
    db,
    organizationId,
    rows.map((row) => row.asset_id),
  );
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row.created_at, row.posting_id],
    (row) => ({ ...activityFields(row, scales.get(row.asset_id) ?? 0), asset_id: row.asset_id }),
  );
}

function activityFields(row: readStore.ActivityRow, scale: number) {
  return {
    action_type: row.action_type,
    amount: formatAmount(BigInt(row.amount), scale),
    bucket: row.bucket,
    created_at: toIso(row.created_at),
    created_by_api_key_id: row.created_by_api_key_id,
    description: row.description,
    event_id: row.event_id,
    event_timestamp: toIsoOrNull(row.event_timestamp),
    journal_entry_id: row.journal_entry_id,
  };
}

/**
 * A running-balance statement. Balances always reflect the full history: the running balance of a
 * line is the sum of every earlier posting, so it is right on every page; from/to only pick lines.
 */
export async function getStatement(
  db: Database,
  organizationId: string,
  owner: Owner,
  query: StatementQuery,
): Promise<Statement> {
  const asset = await findAssetRow(db, organizationId, query.asset_id);
  const limit = query.limit ?? pageSizeDefault;
  const scope = `statement:${owner.id}:${asset.id}:${query.bucket ?? ''}`;
  const from = readOptionalTimestamp(query.from, 'from');
  const to = readOptionalTimestamp(query.to, 'to');
  const rows = await readStore.listActivity(db, organizationId, owner, {
    assetId: asset.id,
    bucket: query.bucket,
    from,
    to,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  const sum = (before: { createdAt: Date; id?: string; inclusive?: boolean }) =>
    readStore.sumBefore(db, organizationId, owner, asset.id, query.bucket, before);
  const opening = from === undefined ? 0n : await sum({ createdAt: from });
  const closing = await sum({ createdAt: to ?? new Date(8.64e15), inclusive: true });
  const first = rows[0];
  let running = first === undefined ? 0n : await sum({ createdAt: first.created_at, id: first.posting_id });
  const page = toPage(
    rows,
    limit,
    scope,
    (row) => [row.created_at, row.posting_id],
    (row) => {
      running += BigInt(row.amount);
      const line = { ...activityFields(row, asset.scale), posting_id: row.posting_id };
      return { ...line, running_balance: formatAmount(running, asset.scale) };
    },
  );
  return {
    asset_id: asset.id,
    ...(query.bucket === undefined ? {} : { bucket: query.bucket }),
    opening_balance: formatAmount(opening, asset.scale),
    closing_balance: formatAmount(closing, asset.scale),
    from: toIsoOrNull(from ?? null),
    to: toIsoOrNull(to ?? null),
    ...page,
  };
}

export async function listJournalEntries(
  db: Database,
  organizationId: string,
  query: JournalEntriesQuery,
): Promise<PageResult<JournalEntry>> {
  const holders = [query.participant_id, query.group_id, query.external_id].filter((v) => v !== undefined);
  if (holders.length > 1)
    throw invalidField('participant_id', 'give at most one of participant_id, group_id, external_id');
  for (const field of ['min_amount', 'max_amount'] as const) {
    const value = query[field];
    if (value !== undefined) parseSignedAmount(value, scaleMax, field);
  }
  const limit = query.limit ?? pageSizeDefault;
  const scope = 'journal-entries';
  const rows = await readStore.listJournalEntries(db, organizationId, {
    programId: query.program_id,
    eventId: query.event_id,
    ruleId: query.rule_id,
    participantId: query.participant_id,
    groupId: query.group_id,
    externalId: query.external_id,
    assetId: query.asset_id,
    bucket: query.bucket,
    minAmount: query.min_amount,
    maxAmount: query.max_amount,
    from: readOptionalTimestamp(query.from, 'from'),
    to: readOptionalTimestamp(query.to, 'to'),
    actionType: query.action_type,
    referenceId: query.reference_id,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  const page = toPage(
    rows,
    limit,
    scope,
    (row) => [row.created_at, row.id],
    (row) => row,
  );
  return { data: await withPostings(db, organizationId, page.data), pagination: page.pagination };
}

export async function getJournalEntry(
  db: Database,
  organizationId: string,
  id: string,
): Promise<JournalEntry> {
  const rows = await readStore.listJournalEntries(db, organizationId, { id, limit: 1 });
  const [entry] = await withPostings(db, organizationId, rows.slice(0, 1));
  if (entry === undefined) throw notFound('journal entry');
  return entry;
}

async function withPostings(db: Database, organizationId: string, rows: readStore.JournalEntryRow[]) {
  const postings = await readStore.listPostingsOf(
    db,
    organizationId,
    rows.map((row) => row.id),
  );
  return rows.map(
    (row): JournalEntry => ({
      ...row,
      created_at: toIso(row.created_at),
      postings: postings
        .filter((posting) => posting.journal_entry_id === row.id)
        .map((posting) => ({
          id: posting.id,
          amount: formatAmount(BigInt(posting.amount), posting.scale),
          asset_id: posting.asset_id,
          asset_symbol: posting.asset_symbol,
          bucket: posting.bucket,
          entity_type: posting.owner_type,
          system_account:
            posting.owner_type === 'SYSTEM' ? (systemAccountName(posting.owner_id) ?? null) : null,
          participant_id: posting.owner_type === 'PARTICIPANT' ? posting.owner_id : null,
          group_id: posting.owner_type === 'GROUP' ? posting.owner_id : null,
          program_id: posting.owner_type === 'PROGRAM' ? posting.owner_id : null,
          created_at: toIso(posting.created_at),
        })),
    }),
  );
}

/** A holder's balance per asset, every bucket summed: the flat `balances` map of a group. */
export async function readTotalBalances(
  db: Database,
  organizationId: string,
  owner: Owner,
): Promise<Record<string, string>> {
  const rows = await store.listOwnerBalances(db, organizationId, owner, { limit: balancesPerHolderMax });
  return Object.fromEntries(
    rows.map((row) => [
      row.asset_id,
      formatAmount(BigInt(row.available) + BigInt(row.held) + BigInt(row.deferred), row.scale),
    ]),
  );
}
