import type { Clock } from '../../platform/clock.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isUniqueViolation, withTransaction } from '../../platform/db/transaction.js';
import { DomainError, notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { pageSizeDefault } from '../../platform/limits.js';
import { formatAmount, fromNumeric, parseAmount } from '../../platform/money.js';
import type { Asset, CreateAssetBody, ListAssetsQuery, UpdateAssetBody } from './assets.schemas.js';
import type { AssetRow } from './assets.store.js';
import * as store from './assets.store.js';

/**
 * Opens an asset's ledger (its system accounts) inside the transaction that creates the asset or
 * links it to a program. The ledger module provides it (a layer above); app.ts passes it down.
 */
export type AssetLedgerOpener = (
  trx: Database,
  organizationId: string,
  assetId: string,
  now: Date,
) => Promise<void>;

export function toAsset(row: AssetRow, programIds: string[]): Asset {
  return {
    id: row.id,
    name: row.name,
    symbol: row.symbol,
    inventory_mode: row.inventory_mode,
    issuance_policy: row.issuance_policy,
    scale: row.scale,
    max_transaction_amount:
      row.max_transaction_amount === null
        ? null
        : formatAmount(fromNumeric(row.max_transaction_amount), row.scale),
    program_ids: programIds,
    status: row.status,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    deleted_at: toIsoOrNull(row.deleted_at),
  };
}

async function withProgramIds(db: Database, rows: AssetRow[]): Promise<Asset[]> {
  if (rows.length === 0) return [];
  const organizationId = rows[0]?.organization_id ?? '';
  const byAsset = await store.listProgramIdsOfAssets(
    db,
    organizationId,
    rows.map((row) => row.id),
  );
  return rows.map((row) => toAsset(row, byAsset.get(row.id) ?? []));
}

function parseCeiling(text: string | null | undefined, scale: number): string | null | undefined {
  if (text === undefined || text === null) return text;
  return parseAmount(text, scale, 'max_transaction_amount').toString();
}

export async function createAsset(
  db: Database,
  clock: Clock,
  openLedger: AssetLedgerOpener,
  organizationId: string,
  body: CreateAssetBody,
) {
  const now = clock();
  const row: AssetRow = {
    organization_id: organizationId,
    id: newId(),
    name: body.name,
    symbol: body.symbol,
    inventory_mode: body.inventory_mode,
    issuance_policy: body.issuance_policy,
    scale: body.scale,
    max_transaction_amount: parseCeiling(body.max_transaction_amount, body.scale) ?? null,
    status: 'ACTIVE',
    created_at: now,
    updated_at: now,
    deleted_at: null,
  };
  await withTransaction(db, async (trx) => {
    await requireProgram(trx, organizationId, body.program_id);
    try {
      await store.insertAsset(trx, row);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new DomainError('conflict', `an asset with symbol ${body.symbol} exists`, {
        field: 'symbol',
        reason: 'conflict',
      });
    }
    await store.insertLink(trx, organizationId, body.program_id, row.id, now);
    await openLedger(trx, organizationId, row.id, now);
  });
  return toAsset(row, [body.program_id]);
}

async function requireProgram(db: Database, organizationId: string, programId: string): Promise<void> {
  if (!(await store.programExists(db, organizationId, programId))) throw notFound('program');
}

/** Any asset of the organization, archived ones included; another organization's id is not found. */
export async function findAssetRow(db: Database, organizationId: string, id: string): Promise<AssetRow> {
  const row = await store.findAsset(db, organizationId, id);
  if (row === undefined) throw notFound('asset');
  return row;
}

/** The scale of each asset of the organization among `assetIds`; another organization's are absent. */
export async function findAssetScales(
  db: Database,
  organizationId: string,
  assetIds: string[],
): Promise<Map<string, number>> {
  const rows = await store.listAssetScales(db, organizationId, [...new Set(assetIds)]);
  return new Map(rows.map((row) => [row.id, row.scale]));
}

export async function getAsset(db: Database, organizationId: string, id: string): Promise<Asset> {
  const [asset] = await withProgramIds(db, [await findAssetRow(db, organizationId, id)]);
  if (asset === undefined) throw notFound('asset');
  return asset;
}

export async function updateAsset(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
  body: UpdateAssetBody,
): Promise<Asset> {
  await withTransaction(db, async (trx) => {
    const current = await store.findAsset(trx, organizationId, id, true);
    if (current === undefined) throw notFound('asset');
    const now = clock();
    const changes: Parameters<typeof store.updateAsset>[3] = { updated_at: now };
    if (body.name !== undefined) changes.name = body.name;
    const ceiling = parseCeiling(body.max_transaction_amount, current.scale);
    if (ceiling !== undefined) changes.max_transaction_amount = ceiling;
    if (body.status === 'ARCHIVED' && current.status !== 'ARCHIVED') {
      // Archiving is permanent: no status value brings an asset back.
      changes.status = 'ARCHIVED';
      changes.deleted_at = now;
    }
    await store.updateAsset(trx, organizationId, id, changes);
  });
  return getAsset(db, organizationId, id);
}

export async function listAssets(
  db: Database,
  organizationId: string,
  query: ListAssetsQuery,
): Promise<PageResult<Asset>> {
  const limit = query.limit ?? pageSizeDefault;
  const scope = 'assets:created_at:desc';
  const after = decodeKeyset(query.cursor, scope);
  const rows = await store.listAssets(db, organizationId, {
    programId: query.program_id,
    status: query.status,
    search: query.search,
    after,
    limit,
  });
  const page = toPage(
    rows,
    limit,
    scope,
    (row) => [row.created_at, row.id],
    (row) => row,
  );
  return { data: await withProgramIds(db, page.data), pagination: page.pagination };
}

export async function linkAsset(
  db: Database,
  clock: Clock,
  openLedger: AssetLedgerOpener,
  link: { organizationId: string; programId: string; assetId: string },
): Promise<Asset> {
  const { organizationId, programId, assetId } = link;
  await withTransaction(db, async (trx) => {
    const now = clock();
    await requireProgram(trx, organizationId, programId);
    await findAssetRow(trx, organizationId, assetId);
    await openLedger(trx, organizationId, assetId, now);
    if (!(await store.insertLink(trx, organizationId, programId, assetId, now))) {
      throw new DomainError('conflict', 'the asset is already linked to this program', {
        field: 'asset_id',
        reason: 'conflict',
      });
    }
  });
  return getAsset(db, organizationId, assetId);
}

export async function unlinkAsset(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
): Promise<void> {
  await withTransaction(db, async (trx) => {
    await requireProgram(trx, organizationId, programId);
    const link = await store.findLink(trx, organizationId, programId, assetId, true);
    if (link === undefined) throw notFound('asset link');
    if (
      link.first_entry_at !== null ||
      (await store.hasRecordedUse(trx, organizationId, programId, assetId))
    ) {
      throw new DomainError(
        'conflict',
        'the link is permanent: ledger entries exist for this asset in this program',
      );
    }
    await store.deleteLink(trx, organizationId, programId, assetId);
  });
}

export async function listProgramAssets(
  db: Database,
  organizationId: string,
  programId: string,
  query: { limit?: number; cursor?: string },
): Promise<PageResult<Asset>> {
  await requireProgram(db, organizationId, programId);
  const limit = query.limit ?? pageSizeDefault;
  const scope = `program-assets:${programId}`;
  const after = decodeKeyset(query.cursor, scope);
  const rows = await store.listProgramAssets(db, organizationId, programId, after, limit);
  const page = toPage(
    rows,
    limit,
    scope,
    (row) => [row.linked_at, row.id],
    (row) => row,
  );
  return { data: await withProgramIds(db, page.data), pagination: page.pagination };
}

/**
 * The asset a ledger operation of `programId` may use: it must exist, be linked to the program and
 * not be archived. The first entry makes the link permanent.
 */
export async function requireUsableAsset(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
  now: Date,
): Promise<AssetRow> {
  const { asset, firstEntryAt } = await requireLinkedAsset(db, organizationId, programId, assetId);
  if (firstEntryAt === null) await store.markLinkUsed(db, organizationId, programId, assetId, now);
  return asset;
}

/**
 * An unarchived asset linked to the program, without marking the link used (no entry is made), and
 * when the link's first journal entry was made (null before it), read in one statement. `field` is
 * the request field that named the asset, for the error's details.
 */
export async function requireLinkedAsset(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
  field = 'asset_id',
) {
  const found = await store.findAssetWithLink(db, organizationId, programId, assetId);
  if (found === undefined) throw notFound('asset');
  const { linked, link_first_entry_at: firstEntryAt, ...asset } = found;
  if (!linked) {
    throw new DomainError('asset_not_linked', 'the asset is not linked to this program', {
      field,
      reason: 'not_linked',
    });
  }
  if (asset.status === 'ARCHIVED') throw new DomainError('asset_archived', 'the asset is archived');
  return { asset, firstEntryAt };
}
