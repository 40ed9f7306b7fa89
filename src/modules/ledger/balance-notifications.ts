// The webhook notifications of a journal entry, written where the ledger posts it, so every caller
// (API operations, rule actions, jobs) emits them once: one `balance.*` per holder (participant or
// group) whose balance the entry moves, or `program.funded|burned` for a program wallet. Transfers,
// redemptions and reversals emit their own types from their modules instead. Nothing is read or
// written unless some ACTIVE endpoint of the organization subscribes to the type.
import type { Database } from '../../platform/db/database.js';
import { formatAmount } from '../../platform/money.js';
import { enqueueNotifications, isSubscribed, type Notification } from '../../platform/outbox.js';
import { findAssetRow } from '../assets/index.js';
import type { EntryContext, EntryDraft, PostingDraft } from './journal-entry.js';

const topicByAction: Partial<Record<EntryDraft['actionType'], string>> = {
  CREDIT: 'balance.credited',
  MATURITY: 'balance.credited',
  DEBIT: 'balance.debited',
  FORFEIT: 'balance.debited',
  EXPIRATION: 'balance.expired',
  HOLD: 'balance.held',
  RELEASE: 'balance.released',
  VOID_HOLD: 'balance.released',
  FUND: 'program.funded',
  BURN: 'program.burned',
};

export async function enqueueBalanceNotifications(
  trx: Database,
  context: EntryContext,
  draft: EntryDraft,
  journalEntryId: string,
  postings: PostingDraft[],
): Promise<void> {
  const topic = topicByAction[draft.actionType];
  if (topic === undefined || !(await isSubscribed(trx, context.organizationId, topic))) return;
  const { scale } = await findAssetRow(trx, context.organizationId, draft.assetId);
  const holderType = topic.startsWith('program.') ? 'PROGRAM' : undefined;
  const notifications: Notification[] = [];
  for (const [ownerKey, owned] of groupByHolder(postings, holderType)) {
    const [type, id] = ownerKey.split(':') as [string, string];
    notifications.push({
      organizationId: context.organizationId,
      topic,
      now: context.now,
      payload: {
        ...holderField(type, id),
        ...describeEntry(context, draft, journalEntryId),
        ...describeMovement(owned, scale, draft.actionType),
      },
    });
  }
  await enqueueNotifications(trx, notifications);
}

/** Postings of holders (participants and groups; or program wallets for FUND and BURN), by holder. */
function groupByHolder(postings: PostingDraft[], holderType: 'PROGRAM' | undefined) {
  const byHolder = new Map<string, PostingDraft[]>();
  for (const posting of postings) {
    const isHolder =
      holderType === undefined
        ? posting.owner.type === 'PARTICIPANT' || posting.owner.type === 'GROUP'
        : posting.owner.type === holderType;
    if (!isHolder) continue;
    const key = `${posting.owner.type}:${posting.owner.id}`;
    byHolder.set(key, [...(byHolder.get(key) ?? []), posting]);
  }
  return byHolder;
}

function holderField(type: string, id: string): Record<string, string> {
  if (type === 'GROUP') return { group_id: id };
  if (type === 'PROGRAM') return { program_id: id };
  return { participant_id: id };
}

function describeEntry(context: EntryContext, draft: EntryDraft, journalEntryId: string) {
  return {
    journal_entry_id: journalEntryId,
    action_type: draft.actionType,
    program_id: context.programId,
    asset_id: draft.assetId,
    event_id: context.eventId ?? null,
    rule_id: context.ruleId ?? null,
    ...(draft.referenceId ? { reference_id: draft.referenceId } : {}),
  };
}

/**
 * `amount`: the largest movement of one bucket (a hold moves the same amount out of AVAILABLE and
 * into HELD); `postings`: each bucket's signed change. A CREDIT that empties HELD into AVAILABLE is
 * a settle: `held_amount` was held, `delta` is what was settled minus that.
 */
function describeMovement(postings: PostingDraft[], scale: number, actionType: EntryDraft['actionType']) {
  const largest = postings.reduce((max, posting) => {
    const size = posting.amount < 0n ? -posting.amount : posting.amount;
    return size > max ? size : max;
  }, 0n);
  const held = postings.find((posting) => posting.bucket === 'HELD')?.amount ?? 0n;
  const available = postings.find((posting) => posting.bucket === 'AVAILABLE')?.amount ?? 0n;
  const settles = actionType === 'CREDIT' && held < 0n && available > 0n;
  return {
    // A settle's amount is what was settled; any other movement's is its largest bucket change.
    amount: formatAmount(settles ? available : largest, scale),
    postings: postings.map((posting) => ({
      bucket: posting.bucket,
      amount: formatAmount(posting.amount, scale),
    })),
    ...(settles
      ? { settle: { held_amount: formatAmount(-held, scale), delta: formatAmount(available + held, scale) } }
      : {}),
  };
}
