// Plain credits, posted together: CREDITs of rules that mint from SYSTEM_ISSUANCE into a
// participant's AVAILABLE bucket (UNLIMITED assets, no reference_id, no hold, no maturity). Each is
// its own journal entry with its own postings and lot, exactly as `credit` writes it, but a claim's
// credits cost a few statements in all: the participants' accounts are ensured and locked in one
// fixed order, then entries, postings, lots and balance changes are written one statement each.
// As `credit` does, a holder's due lots are settled first: one statement finds the holders that
// have any, and only those are opened (locked and settled) one by one.
import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';
import { newId } from '../../platform/ids.js';
import type { AssetRow } from '../assets/index.js';
import { participantOwner, systemOwner } from './accounts.js';
import { enqueueBalanceNotifications } from './balance-notifications.js';
import { openHolder } from './holder.js';
import type { EntryContext } from './journal-entry.js';
import type { AccountRow } from './ledger.store.js';
import * as store from './ledger.store.js';
import { repayOverdraft } from './lots.js';
import type { LotRow } from './lots.store.js';
import * as lotStore from './lots.store.js';
import { checkLotDates, checkTransactionAmount } from './operations.js';
import { toEntryRow } from './post-entry.js';

export interface PlainCredit {
  context: EntryContext;
  participantId: string;
  asset: AssetRow;
  amount: bigint;
  expiresAt: Date | null;
}

export interface CreditShape {
  bucket: string;
  referenceId: string | null;
  maturesAt: Date | null;
  expiresAt: Date | null;
}

/**
 * Whether a credit can go through postPlainCredits (the others go through `credit`). Throws the
 * DomainError `credit` would for the amount (archived asset, max_transaction_amount) and for the
 * lot's dates, given the credit's time `at`.
 */
export function isPlainCredit(asset: AssetRow, amount: bigint, shape: CreditShape, at: Date): boolean {
  checkTransactionAmount(asset, amount);
  checkLotDates(shape, at);
  return (
    asset.issuance_policy === 'UNLIMITED' &&
    shape.bucket !== 'HELD' &&
    shape.referenceId === null &&
    shape.maturesAt === null &&
    (asset.inventory_mode === 'LOT' || shape.expiresAt === null)
  );
}

/** Posts the credits in order. The assets' system accounts exist: they are made with the asset. */
export async function postPlainCredits(trx: Database, credits: PlainCredit[]): Promise<void> {
  if (credits.length === 0) return;
  await settleDueLotsOfHolders(trx, credits);
  const accounts = await lockCreditedAccounts(trx, credits);
  const available = new Map<string, bigint>();
  for (const account of accounts.values())
    if (account.owner_type === 'PARTICIPANT') available.set(account.id, BigInt(account.balance));
  const entries: store.JournalEntryWrite[] = [];
  const lots: LotRow[] = [];
  const repayments: { lot: LotRow; before: bigint }[] = [];
  for (const credit of credits) {
    const source = accountOf(accounts, credit, 'SYSTEM');
    const holder = accountOf(accounts, credit, 'PARTICIPANT');
    const entry = entryOf(credit, source, holder);
    entries.push(entry);
    const before = available.get(holder.id) ?? 0n;
    available.set(holder.id, before + credit.amount);
    if (credit.asset.inventory_mode !== 'LOT') continue;
    const lot = lotOf(credit, entry.entry.id);
    lots.push(lot);
    if (before < 0n) repayments.push({ lot, before });
  }
  await store.insertJournalEntries(trx, entries);
  await lotStore.insertLots(trx, lots);
  for (const { lot, before } of repayments) await repayOverdraft(trx, [lot], before);
  await addBalances(trx, credits, accounts);
  await notifyCredits(trx, credits, entries);
}

async function notifyCredits(trx: Database, credits: PlainCredit[], entries: store.JournalEntryWrite[]) {
  for (const [index, credit] of credits.entries()) {
    const draft = {
      actionType: 'CREDIT' as const,
      assetId: credit.asset.id,
      postings: [
        { owner: systemOwner('SYSTEM_ISSUANCE'), bucket: 'AVAILABLE' as const, amount: -credit.amount },
        {
          owner: participantOwner(credit.participantId),
          bucket: 'AVAILABLE' as const,
          amount: credit.amount,
        },
      ],
    };
    await enqueueBalanceNotifications(
      trx,
      credit.context,
      draft,
      entries[index]?.entry.id ?? '',
      draft.postings,
    );
  }
}

/** Settles the due lots of the credited holders of LOT assets, as `credit` does before posting. */
async function settleDueLotsOfHolders(trx: Database, credits: PlainCredit[]): Promise<void> {
  const lotCredits = credits.filter((credit) => credit.asset.inventory_mode === 'LOT');
  if (lotCredits.length === 0) return;
  const holders = lotCredits.map((credit) => ({
    organizationId: credit.context.organizationId,
    ownerId: credit.participantId,
    assetId: credit.asset.id,
  }));
  const due = await lotStore.findHoldersWithDueLots(trx, holders, lotCredits[0]?.context.now as Date);
  for (const holder of due) {
    const credit = lotCredits.find(
      (candidate) =>
        candidate.context.organizationId === holder.organization_id &&
        candidate.participantId === holder.owner_id &&
        candidate.asset.id === holder.asset_id,
    );
    assert(credit !== undefined, 'a holder with due lots is a credited holder');
    await openHolder(trx, credit.context, participantOwner(credit.participantId), credit.asset);
  }
}

const accountKey = (organizationId: string, assetId: string, ownerId: string) =>
  `${organizationId}:${assetId}:${ownerId}`;

function accountOf(accounts: Map<string, AccountRow>, credit: PlainCredit, type: 'SYSTEM' | 'PARTICIPANT') {
  const ownerId = type === 'SYSTEM' ? systemOwner('SYSTEM_ISSUANCE').id : credit.participantId;
  const account = accounts.get(accountKey(credit.context.organizationId, credit.asset.id, ownerId));
  assert(account !== undefined, `${type} account missing for asset ${credit.asset.id}`);
  return account;
}

/**
 * Ensures every credited participant's AVAILABLE account and locks them all in one statement, in
 * account id order (holders rank first in the fixed lock order); the issuance accounts are only read.
 */
async function lockCreditedAccounts(trx: Database, credits: PlainCredit[]): Promise<Map<string, AccountRow>> {
  const groups = new Map<string, PlainCredit[]>();
  for (const credit of credits) {
    const key = `${credit.context.organizationId}:${credit.asset.id}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [credit]);
    else group.push(credit);
  }
  const byKey = new Map<string, AccountRow>();
  const holders: AccountRow[] = [];
  for (const group of groups.values()) {
    const [{ context, asset }] = group as [PlainCredit];
    const owners = [...new Set(group.map((credit) => credit.participantId))].map(participantOwner);
    const specs = [systemOwner('SYSTEM_ISSUANCE'), ...owners].map((owner) => ({
      owner,
      bucket: 'AVAILABLE' as const,
    }));
    const rows = await store.ensureAccounts(trx, context.organizationId, asset.id, specs, newId, context.now);
    for (const row of rows) byKey.set(accountKey(row.organization_id, row.asset_id, row.owner_id), row);
    holders.push(...rows.filter((row) => row.owner_type === 'PARTICIPANT'));
  }
  for (const organizationId of new Set(holders.map((row) => row.organization_id))) {
    const ids = holders
      .filter((row) => row.organization_id === organizationId)
      .map((row) => row.id)
      .sort();
    for (const row of await store.lockAccounts(trx, organizationId, ids))
      byKey.set(accountKey(row.organization_id, row.asset_id, row.owner_id), row);
  }
  return byKey;
}

function entryOf(credit: PlainCredit, source: AccountRow, holder: AccountRow): store.JournalEntryWrite {
  const id = newId();
  const posting = (account: AccountRow, amount: bigint): store.PostingInsert => ({
    id: newId(),
    account_id: account.id,
    owner_type: account.owner_type,
    owner_id: account.owner_id,
    bucket: 'AVAILABLE',
    amount,
  });
  return {
    entry: toEntryRow(id, credit.context, { actionType: 'CREDIT', assetId: credit.asset.id, postings: [] }),
    assetId: credit.asset.id,
    postings: [posting(source, -credit.amount), posting(holder, credit.amount)],
  };
}

function lotOf(credit: PlainCredit, journalEntryId: string): LotRow {
  return {
    organization_id: credit.context.organizationId,
    id: newId(),
    owner_type: 'PARTICIPANT',
    owner_id: credit.participantId,
    asset_id: credit.asset.id,
    program_id: credit.context.programId,
    journal_entry_id: journalEntryId,
    parent_lot_id: null,
    amount: credit.amount.toString(),
    remaining: credit.amount.toString(),
    status: 'AVAILABLE',
    provisional: false,
    reference_id: null,
    expires_at: credit.expiresAt,
    matures_at: null,
    created_at: credit.context.now,
  };
}

/** One balance change per credited account, summed over the claim. */
async function addBalances(trx: Database, credits: PlainCredit[], accounts: Map<string, AccountRow>) {
  const deltas = new Map<string, { organizationId: string; amount: bigint }>();
  for (const credit of credits) {
    const holder = accountOf(accounts, credit, 'PARTICIPANT');
    const current = deltas.get(holder.id)?.amount ?? 0n;
    deltas.set(holder.id, { organizationId: holder.organization_id, amount: current + credit.amount });
  }
  for (const organizationId of new Set([...deltas.values()].map((delta) => delta.organizationId))) {
    const changes = [...deltas]
      .filter(([, delta]) => delta.organizationId === organizationId)
      .map(([accountId, delta]) => ({ accountId, amount: delta.amount }));
    await store.addToBalances(trx, organizationId, changes);
  }
}
