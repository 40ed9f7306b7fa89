// Applies the resolved actions of matched rules, inside the event's transaction: ledger postings
// through the ledger module, state changes through the participants module, tier changes through
// the tiers module, follow-up events as SYSTEM events. Any failure fails the whole event.

import type { Database } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';
import { isUuid } from '../../platform/ids.js';
import { parseAmount } from '../../platform/money.js';
import { type AssetRow, requireUsableAsset } from '../assets/index.js';
import { lockGroupStatus } from '../groups/index.js';
import {
  credit,
  debit,
  type EntryContext,
  forfeit,
  groupOwner,
  hold,
  participantOwner,
  release,
  requireParticipantAllowedTo,
  voidHold,
} from '../ledger/index.js';
import {
  applyTag,
  applyUntag,
  findParticipantByExternalId,
  findParticipantRow,
  incrementCounter,
  type StateOwner,
  type StateSource,
  setAttribute,
} from '../participants/index.js';
import {
  amountScaleFailure,
  financialActionTypes,
  type ResolvedAction,
  type ResolvedTarget,
} from '../rules/index.js';
import { setTierFromRule } from '../tiers/index.js';
import { type SystemEventDraft, scheduleSystemEvents } from './system-events.js';

export interface ActionScope {
  organizationId: string;
  programId: string;
  eventId: string;
  eventTimestamp: Date;
  /**
   * Who an action without a target lands on: the event's recipient, or its participant; null when
   * the event has none (a program-scope automation's), and such an action fails the event.
   */
  defaultParticipantId: string | null;
  now: Date;
}

export interface AppliedEffects {
  /** Tiers a SET_TIER action changed: auto-qualification leaves them alone for this event. */
  setTierKeys: Set<string>;
  /** Participants whose state the actions touched, for tier qualification. */
  touchedParticipantIds: Set<string>;
}

/** Thrown with the message the FAILED event shows. */
export class ActionFailure extends Error {}

/** Applies one action of a matched rule; a refusal fails the event with the action's type in front. */
export async function applyAction(
  trx: Database,
  scope: ActionScope,
  ruleId: string,
  action: ResolvedAction,
  effects: AppliedEffects,
): Promise<void> {
  try {
    await applyActionTo(trx, scope, ruleId, action, effects);
  } catch (error) {
    if (error instanceof DomainError)
      throw new ActionFailure(`action ${action.type} failed: ${error.message}`);
    throw error;
  }
}

async function applyActionTo(
  trx: Database,
  scope: ActionScope,
  ruleId: string,
  action: ResolvedAction,
  effects: AppliedEffects,
): Promise<void> {
  if (action.type === 'BROADCAST') {
    await scheduleSystemEvents(trx, scope, [{ ...broadcastDraft(action), ruleId }]);
    return;
  }
  const owner = await resolveOwner(trx, scope, action.target);
  const source: StateSource = {
    eventId: scope.eventId,
    eventTimestamp: scope.eventTimestamp,
    ruleId,
    programId: scope.programId,
  };
  if (owner.type === 'PARTICIPANT') {
    effects.touchedParticipantIds.add(owner.id);
    if (financialActionTypes.has(action.type)) {
      await requireParticipantAllowedTo(trx, scope.organizationId, owner.id, action.type);
    }
  }
  switch (action.type) {
    case 'TAG':
      await applyTag(trx, { owner, tag: action.tag, source, now: scope.now });
      return;
    case 'UNTAG':
      await applyUntag(trx, { owner, tag: action.tag, source, now: scope.now });
      return;
    case 'COUNTER':
      await incrementCounter(trx, {
        owner,
        key: action.key,
        by: action.value,
        ...(action.reset_after === null ? {} : { resetAfter: action.reset_after }),
        source,
        now: scope.now,
        at: scope.eventTimestamp,
      });
      return;
    case 'SET_ATTRIBUTE':
      await setAttribute(trx, { owner, key: action.key, value: action.value, source, now: scope.now });
      return;
    case 'SET_TIER':
      await applySetTier(trx, scope, owner, action, source, effects);
      return;
    case 'SCHEDULE_EVENT':
      await scheduleSystemEvents(trx, scope, [
        {
          participantId: owner.id,
          eventName: action.event_name,
          payload: action.payload,
          processAt: action.process_at,
          ruleId,
        },
      ]);
      return;
    default:
      await applyLedgerAction(trx, scope, ruleId, owner, action);
  }
}

async function applySetTier(
  trx: Database,
  scope: ActionScope,
  owner: StateOwner,
  action: Extract<ResolvedAction, { type: 'SET_TIER' }>,
  source: StateSource,
  effects: AppliedEffects,
): Promise<void> {
  const outcome = await setTierFromRule(trx, {
    organizationId: scope.organizationId,
    programId: scope.programId,
    participantId: owner.id,
    tier: action.tier,
    level: action.level,
    now: scope.now,
    source,
  });
  // SET_TIER on an archived tier is skipped and the event still completes.
  if (outcome === 'applied') effects.setTierKeys.add(action.tier);
}

type LedgerAction = Extract<
  ResolvedAction,
  { type: 'CREDIT' | 'DEBIT' | 'HOLD' | 'RELEASE' | 'FORFEIT' | 'VOID_HOLD' }
>;

async function applyLedgerAction(
  trx: Database,
  scope: ActionScope,
  ruleId: string,
  owner: StateOwner,
  action: LedgerAction,
): Promise<void> {
  if (owner.type === 'PROGRAM')
    throw new DomainError('bad_request', 'ledger actions need a participant or group');
  const asset = await ledgerAsset(trx, scope, action.asset_id);
  const scaleFailure = amountScaleFailure(action, asset.scale);
  if (scaleFailure !== undefined) throw new ActionFailure(scaleFailure);
  const context: EntryContext = {
    organizationId: scope.organizationId,
    programId: scope.programId,
    description: action.description ?? `${action.type} by rule`,
    now: scope.now,
    eventId: scope.eventId,
    ruleId,
    eventTimestamp: scope.eventTimestamp,
  };
  const target = { owner: owner.type === 'GROUP' ? groupOwner(owner.id) : participantOwner(owner.id), asset };
  const amountOf = (text: string) => parseAmount(text, asset.scale, 'amount');
  const referenceId = action.reference_id ?? undefined;
  switch (action.type) {
    case 'CREDIT':
      await credit(trx, context, {
        ...target,
        amount: amountOf(action.amount),
        ...(action.bucket === 'HELD' ? { bucket: 'HELD' as const } : {}),
        referenceId,
        expiresAt: action.expires_at,
        maturesAt: action.matures_at,
      });
      return;
    case 'DEBIT':
      await debit(trx, context, {
        ...target,
        amount: amountOf(action.amount),
        allowNegative: action.allow_negative,
        referenceId,
      });
      return;
    case 'HOLD':
      await hold(trx, context, { ...target, amount: amountOf(action.amount), referenceId });
      return;
    case 'RELEASE':
      await release(trx, context, {
        ...target,
        ...(action.amount === null ? {} : { amount: amountOf(action.amount) }),
        referenceId,
      });
      return;
    case 'FORFEIT':
      await forfeit(trx, context, {
        ...target,
        amount: amountOf(action.amount),
        bucket: action.bucket,
        referenceId,
      });
      return;
    case 'VOID_HOLD':
      await voidHold(trx, context, { ...target, referenceId: action.reference_id });
  }
}

async function ledgerAsset(trx: Database, scope: ActionScope, assetId: string): Promise<AssetRow> {
  return requireUsableAsset(trx, scope.organizationId, scope.programId, assetId, scope.now);
}

async function resolveOwner(trx: Database, scope: ActionScope, target: ResolvedTarget): Promise<StateOwner> {
  const { organizationId } = scope;
  switch (target.kind) {
    case 'program':
      return { organizationId, type: 'PROGRAM', id: scope.programId };
    case 'event_participant':
      if (scope.defaultParticipantId === null) {
        throw new DomainError(
          'bad_request',
          'the event has no participant (a program-scope automation fired it); give the action a target',
        );
      }
      return { organizationId, type: 'PARTICIPANT', id: scope.defaultParticipantId };
    case 'participant_id':
      return {
        organizationId,
        type: 'PARTICIPANT',
        id: (await findParticipantRow(trx, organizationId, target.participant_id)).id,
      };
    case 'external_id': {
      const row = await findParticipantByExternalId(trx, organizationId, target.external_id);
      if (row === undefined)
        throw new DomainError('not_found', `target participant ${target.external_id} not found`);
      return { organizationId, type: 'PARTICIPANT', id: row.id };
    }
    case 'group':
      return {
        organizationId,
        type: 'GROUP',
        id: await requireActiveGroup(trx, organizationId, target.group_id),
      };
  }
}

/** A rule's GROUP target: an unknown or ARCHIVED group fails the event, saying which. */
async function requireActiveGroup(trx: Database, organizationId: string, groupId: string): Promise<string> {
  const status = isUuid(groupId) ? await lockGroupStatus(trx, organizationId, groupId, 'update') : undefined;
  if (status === undefined) throw new DomainError('not_found', `target group ${groupId} not found`);
  if (status === 'ARCHIVED') throw new DomainError('group_archived', `target group ${groupId} is archived`);
  return groupId;
}

function broadcastDraft(
  action: Extract<ResolvedAction, { type: 'BROADCAST' }>,
): Omit<SystemEventDraft, 'ruleId'> {
  return { participantId: null, eventName: action.event_name, payload: action.payload, processAt: null };
}
