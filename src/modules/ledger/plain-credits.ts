// Plain credits, posted together: CREDITs of rules that mint from SYSTEM_ISSUANCE into a
// participant's AVAILABLE bucket (UNLIMITED assets, no reference_id, no hold, no maturity). Each is
// its own journal entry with its own postings and lot, drafted by the same rule as `credit`'s
// (creditEntry, newLot), but a claim's credits cost a few statements in all: the participants'
// accounts are ensured and locked in one fixed order, then entries, postings, lots and balance
// changes are written one statement each.
// As `credit` does, a holder's due lots are settled first: one statement finds the holders that
// have any, and only those are opened (locked and settled) one by one.
import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';
import { newId } from '../../platform/ids.js';
import type { AssetRow } from '../assets/index.js';
import { type Owner, participantOwner, systemOwner } from './accounts.js';
import { enqueueBalanceNotifications } from './balance-notifications.js';
import { openHolder } from './holder.js';
import type { EntryContext, EntryDraft } from './journal-entry.js';
import * as store from './ledger.store.js';
import { repayOverdraft } from './lots.js';
import type { LotRow } from './lots.store.js';
import * as lotStore from './lots.store.js';
import { checkLotDates, checkTransactionAmount, creditEntry, newLot } from './operations.js';
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
    if (account.balance !== null) available.set(account.id, account.balance);
  const entries: { draft: EntryDraft; write: store.JournalEntryWrite }[] = [];
  const lots: LotRow[] = [];
  const repayments: { lot: LotRow; before: bigint }[] = [];
  for (const credit of credits) {
    const holder = accountOf(accounts, credit, participantOwner(credit.participantId));
    const entry = entryOf(credit, accounts);
    entries.push(entry);
    const before = available.get(holder.id) ?? 0n;
    available.set(holder.id, before + credit.amount);
    if (credit.asset.inventory_mode !== 'LOT') continue;
    const lot = newLot(credit.context, creditInput(credit), entry.write.entry.id);
    lots.push(lot);
    if (before < 0n) repayments.push({ lot, before });
  }
  await store.insertJournalEntries(
    trx,
    entries.map((entry) => entry.write),
  );
  await lotStore.insertLots(trx, lots);
  for (const { lot, before } of repayments) await repayOverdraft(trx, [lot], before);
  await addBalances(trx, credits, accounts);
  for (const [index, { draft, write }] of entries.entries()) {
    const { context } = credits[index] as PlainCredit;
    await enqueueBalanceNotifications(trx, context, draft, write.entry.id, draft.postings);
  }
}

/** A plain credit as `credit` takes it: into the participant's AVAILABLE bucket. */
function creditInput(credit: PlainCredit) {
  const { asset, amount, expiresAt } = credit;
  return {
    owner: participantOwner(credit.participantId),
    asset,
    amount,
    bucket: 'AVAILABLE' as const,
    expiresAt,
  };
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

/** An account a claim's credits post to: a credited participant's AVAILABLE or the asset's issuance. */
interface CreditedAccount {
  organizationId: string;
  id: string;
  ownerType: 'PARTICIPANT' | 'SYSTEM';
  ownerId: string;
  /** The locked balance; null for the issuance account, which is only read. */
  balance: bigint | null;
}

function accountOf(accounts: Map<string, CreditedAccount>, credit: PlainCredit, owner: Owner) {
  const account = accounts.get(accountKey(credit.context.organizationId, credit.asset.id, owner.id));
  assert(account !== undefined, `${owner.type} account missing for asset ${credit.asset.id}`);
  return account;
}

/**
 * Ensures every credited participant's AVAILABLE account and locks them all in one statement per
 * organization, in account id order (holders rank first in the fixed lock order); the issuance
 * accounts are only read.
 */
async function lockCreditedAccounts(
  trx: Database,
  credits: PlainCredit[],
): Promise<Map<string, CreditedAccount>> {
  const byKey = new Map<string, CreditedAccount>();
  for (const organizationId of new Set(credits.map((credit) => credit.context.organizationId))) {
    const ofOrganization = credits.filter((credit) => credit.context.organizationId === organizationId);
    const holders = [
      ...new Map(
        ofOrganization.map((credit) => [
          accountKey(organizationId, credit.asset.id, credit.participantId),
          { assetId: credit.asset.id, ownerId: credit.participantId },
        ]),
      ).values(),
    ];
    const issuance = systemOwner('SYSTEM_ISSUANCE');
    const now = (ofOrganization[0] as PlainCredit).context.now;
    const issuanceIds = await store.ensureHolderAccounts(
      trx,
      organizationId,
      holders,
      issuance.id,
      newId,
      now,
    );
    for (const [assetId, id] of issuanceIds) {
      const account = {
        organizationId,
        id,
        ownerType: 'SYSTEM' as const,
        ownerId: issuance.id,
        balance: null,
      };
      byKey.set(accountKey(organizationId, assetId, issuance.id), account);
    }
    for (const row of await store.lockHolderAccounts(trx, organizationId, holders)) {
      const account = { organizationId, id: row.id, ownerType: 'PARTICIPANT' as const, ownerId: row.ownerId };
      byKey.set(accountKey(organizationId, row.assetId, row.ownerId), {
        ...account,
        balance: BigInt(row.balance),
      });
    }
  }
  return byKey;
}

/** The credit's entry, drafted by the CREDIT rule, with its postings on the locked accounts. */
function entryOf(credit: PlainCredit, accounts: Map<string, CreditedAccount>) {
  const draft = creditEntry(credit.context, creditInput(credit));
  const id = newId();
  const postings = draft.postings.map((posting): store.PostingInsert => {
    const account = accountOf(accounts, credit, posting.owner);
    return {
      id: newId(),
      account_id: account.id,
      owner_type: account.ownerType,
      owner_id: account.ownerId,
      bucket: posting.bucket,
      amount: posting.amount,
    };
  });
  const write = { entry: toEntryRow(id, credit.context, draft), assetId: credit.asset.id, postings };
  return { draft, write };
}

/** One balance change per credited account, summed over the claim. */
async function addBalances(trx: Database, credits: PlainCredit[], accounts: Map<string, CreditedAccount>) {
  const deltas = new Map<string, { organizationId: string; amount: bigint }>();
  for (const credit of credits) {
    const holder = accountOf(accounts, credit, participantOwner(credit.participantId));
    const current = deltas.get(holder.id)?.amount ?? 0n;
    deltas.set(holder.id, { organizationId: holder.organizationId, amount: current + credit.amount });
  }
  for (const organizationId of new Set([...deltas.values()].map((delta) => delta.organizationId))) {
    const changes = [...deltas]
      .filter(([, delta]) => delta.organizationId === organizationId)
      .map(([accountId, delta]) => ({ accountId, amount: delta.amount }));
    await store.addToBalances(trx, organizationId, changes);
  }
}
