// One event of a claim, through the one path every event takes: resolve its participant (and
// recipient) from the claim's held participants, evaluate the program's ACTIVE rules against the
// state as it was before the event, apply the actions of the rules that matched, take their budgets,
// queue the evaluations, then let tier auto-qualification look at the counters the event left.
//
// An action is applied in memory when it can be (COUNTER and TAG on the event's participant, a
// plain CREDIT), its writes queued with the claim's. Any other action, or one that fails in memory,
// goes to the database through apply-actions.ts: the claim's queued writes are flushed, the event
// takes its savepoint and from there writes as it goes. So every event keeps its savepoint
// semantics: a business failure rolls back that event only and fails it with the failing action's
// message; a deadlock or serialization failure hands it back to the queue.
import { setImmediate } from 'node:timers/promises';
import { sql } from 'kysely';
import { isDatabaseUnavailable, isTransientDatabaseError } from '../../platform/db/transaction.js';
import { DomainError } from '../../platform/errors.js';
import { eventClaimsMax } from '../../platform/limits.js';
import type { Logger } from '../../platform/logger.js';
import { parseAmount } from '../../platform/money.js';
import { isPlainCredit, type PlainCredit, postPlainCredits } from '../ledger/index.js';
import {
  commitDraft,
  draftCounterValues,
  draftIncrement,
  draftTag,
  emptyStateWrites,
  heldCounterValues,
  type ParticipantReference,
  type ParticipantRow,
  resolveEventParticipant,
  type StateDraft,
  saveStateWrites,
  startDraft,
} from '../participants/index.js';
import type { ProgramRow } from '../programs/index.js';
import {
  amountScaleFailure,
  consumeRuleBudgets,
  financialActionTypes,
  type ResolvedAction,
  type RuleEvaluation,
  storedEvaluation,
} from '../rules/index.js';
import {
  type ParticipantTierRow,
  qualificationWouldWrite,
  qualifyTiers,
  recordActivity,
} from '../tiers/index.js';
import { ActionFailure, type ActionScope, type AppliedEffects, applyAction } from './apply-actions.js';
import {
  type ClaimState,
  flushNewParticipants,
  flushPendingWrites,
  forgetEverything,
  forgetHolders,
  type Holder,
  heldParticipant,
  loadHolders,
  ParticipantRace,
  type ProgramContext,
  participantReference,
  programContext,
  programKey,
  recipientReference,
  storeHolder,
  usableAsset,
} from './claim-state.js';
import { type EvaluationTurn, evaluateAtTurn, takeTurn } from './evaluations-ahead.js';
import type { EventOutcome } from './event-queue.store.js';
import type { ClaimedEvent } from './events.store.js';

/** What a probe sees of the event: everything but the queue's bookkeeping. */
export type ProcessingEvent = Omit<ClaimedEvent, 'ordering_key' | 'claim_count'>;

/**
 * The resolved parties of an event; recipient is the participant when the event names none. Both are
 * null for an event without a participant (a program-scope automation's).
 */
export interface EventParties {
  program: ProgramRow;
  participant: ParticipantRow | null;
  recipient: ParticipantRow | null;
}

export type StepResult = { outcome: 'continue' } | { outcome: 'fail'; errorMessage: string };

/**
 * A hook run inside the event's savepoint after its parties are resolved, before its rules: tests
 * plug failures and delays in here. Answering `fail`, or throwing a DomainError, fails the event;
 * throwing a transient database error retries it later.
 */
export type EventStep = (
  trx: ClaimState['trx'],
  event: ProcessingEvent,
  parties: EventParties,
) => Promise<StepResult>;

export interface EventEngine {
  claim: ClaimState;
  logger: Logger;
  steps: readonly EventStep[];
  /** Every event takes its savepoint before anything else (the retry of a claim that failed whole). */
  eager: boolean;
}

/** A business failure: the event ends FAILED with this message. */
class EventFailure extends Error {}

/** Another transaction created the event's participant meanwhile: a later claim resolves it again. */
class ResolveAgain extends Error {}

interface EventRun {
  engine: EventEngine;
  event: ClaimedEvent;
  /** True once the event holds its savepoint and writes to the database as it goes. */
  direct: boolean;
  context?: ProgramContext;
  participant?: Holder;
  recipient?: Holder;
  /** The in-memory changes to the recipient's state, and the plain credits, not yet written. */
  draft?: StateDraft;
  credits: PlainCredit[];
  effects: AppliedEffects;
  evaluations: RuleEvaluation[];
}

export type EventResult =
  | { kind: 'done'; outcome: EventOutcome }
  | { kind: 'failed'; errorMessage: string }
  | { kind: 'retry'; delayMs: number | 'backoff' };

/**
 * Applies one event. Throws only what ends the claim's transaction: a database error, or a new
 * participant another transaction created meanwhile, while the event holds no savepoint (the claim
 * is then retried, eagerly).
 */
export async function applyEvent(engine: EventEngine, event: ClaimedEvent): Promise<EventResult> {
  if (event.claim_count > eventClaimsMax) {
    return {
      kind: 'failed',
      errorMessage: `processing abandoned after ${event.claim_count} attempts; retry the event`,
    };
  }
  // Held state answers without I/O: let requests in between events.
  await setImmediate();
  const run: EventRun = {
    engine,
    event,
    direct: false,
    credits: [],
    effects: { setTierKeys: new Set(), touchedParticipantIds: new Set() },
    evaluations: [],
  };
  try {
    if (engine.eager || engine.steps.length > 0) await enterDatabase(run);
    await runEvent(run);
    return { kind: 'done', outcome: await finishEvent(run) };
  } catch (error) {
    if (run.direct) {
      // If the connection is gone this throws too, and the whole claim is retried.
      await sql`rollback to savepoint event`.execute(engine.claim.trx);
      forgetEverything(engine.claim);
    } else if (isDatabaseError(error) || error instanceof ParticipantRace) {
      throw error;
    }
    if (error instanceof ResolveAgain) return { kind: 'retry', delayMs: 0 };
    if (isTransientFailure(error)) return { kind: 'retry', delayMs: 'backoff' };
    return { kind: 'failed', errorMessage: failureMessage(engine.logger, event, error) };
  }
}

async function runEvent(run: EventRun): Promise<void> {
  const { claim } = run.engine;
  const { event } = run;
  const context = await programContext(claim, event);
  run.context = context;
  const reference = participantReference(event);
  run.participant = reference === undefined ? undefined : await partyOf(run, reference, 'participant');
  const recipient = recipientReference(event);
  run.recipient = recipient === undefined ? run.participant : await partyOf(run, recipient, 'recipient');
  for (const step of run.engine.steps) {
    const result = await step(claim.trx, event, parties(run));
    if (result.outcome === 'fail') throw new EventFailure(result.errorMessage);
  }
  const evaluations =
    context.rules.length === 0 ? [] : await evaluateAtTurn(evaluationTurn(run), !directly(run));
  takeTurn(claim, [run.participant, run.recipient]);
  if (!run.direct && run.recipient !== undefined) run.draft = startDraft(run.recipient.state);
  for (const evaluation of evaluations) {
    if (evaluation.status !== 'MATCHED') continue;
    for (const action of evaluation.actions) await applyRuleAction(run, evaluation.rule_id, action);
  }
  if (evaluations.some((evaluation) => evaluation.budget_consumption.length > 0)) {
    await enterDatabase(run);
    await consumeRuleBudgets(claim.trx, event.organization_id, evaluations, event.event_timestamp);
    // The next event reads the budgets again, with this consumption.
    claim.programs.delete(programKey(event));
  }
  run.evaluations = evaluations;
  await storeParties(run);
  await settleTiers(run);
}

function evaluationTurn(run: EventRun): EvaluationTurn {
  const { context, participant, recipient } = required(run);
  return { claim: run.engine.claim, context, event: run.event, participant, recipient };
}

/** The event writes to the database as it goes, or will: an event of a claim retried eagerly, or probed. */
const directly = (run: EventRun) => run.direct || run.engine.eager || run.engine.steps.length > 0;

function parties(run: EventRun): EventParties {
  const { participant, recipient } = run;
  return {
    program: required(run).context.program,
    participant: participant?.row ?? null,
    recipient: recipient?.row ?? null,
  };
}

/** The event's resolved program; its parties are undefined when the event has no participant. */
function required(run: EventRun) {
  const { context, participant, recipient } = run;
  if (context === undefined) throw new Error('the event is not resolved');
  return { context, participant, recipient };
}

/**
 * The held participant a reference names; a reference the claim cannot answer (not found, the
 * program rejects unknown participants, a race) is resolved by the participants module, which
 * fails the event with the reason.
 */
async function partyOf(run: EventRun, reference: ParticipantReference, role: string): Promise<Holder> {
  const { claim } = run.engine;
  const context = run.context as ProgramContext;
  if (!run.direct) {
    const held = await heldParticipant(claim, context, reference);
    if (held !== undefined) return held;
  }
  await enterDatabase(run);
  const row = await resolveEventParticipant(claim.trx, context.program, reference, claim.now, role);
  const [holder] = await loadHolders(claim, context, [{ participantId: row.id, externalId: null }]);
  if (holder === undefined) throw new Error(`resolved ${role} ${row.id} is not held`);
  return holder;
}

async function applyRuleAction(run: EventRun, ruleId: string, action: ResolvedAction): Promise<void> {
  if (!run.direct && (await applyInMemory(run, ruleId, action))) return;
  await enterDatabase(run);
  await applyAction(run.engine.claim.trx, actionScope(run), ruleId, action, run.effects);
}

function actionScope(run: EventRun): ActionScope {
  const { event } = run;
  return {
    organizationId: event.organization_id,
    programId: event.program_id,
    eventId: event.id,
    eventTimestamp: event.event_timestamp,
    defaultParticipantId: run.recipient?.row.id ?? null,
    now: run.engine.claim.now,
  };
}

/**
 * Applies COUNTER, TAG and plain CREDIT actions on the event's participant to the event's draft;
 * false when the action needs the database (another kind, another target, or it would fail there).
 */
async function applyInMemory(run: EventRun, ruleId: string, action: ResolvedAction): Promise<boolean> {
  const { draft, event } = run;
  if (draft === undefined || !('target' in action) || action.target.kind !== 'event_participant')
    return false;
  // An inactive participant refuses financial actions: the database path says so.
  if (financialActionTypes.has(action.type) && draft.held.status !== 'ACTIVE') return false;
  const now = run.engine.claim.now;
  const source = {
    eventId: event.id,
    eventTimestamp: event.event_timestamp,
    ruleId,
    programId: event.program_id,
  };
  const before = {
    tags: draft.tags,
    counters: new Map(draft.counters),
    changedCounters: new Map(draft.changedCounters),
    history: draft.history.length,
  };
  try {
    switch (action.type) {
      case 'COUNTER':
        draftIncrement(draft, {
          key: action.key,
          by: action.value,
          ...(action.reset_after === null ? {} : { resetAfter: action.reset_after }),
          source,
          now,
          at: event.event_timestamp,
        });
        break;
      case 'TAG':
        draftTag(draft, { tag: action.tag, source, now });
        break;
      case 'CREDIT': {
        const credit = await plainCredit(run, ruleId, action);
        if (credit === undefined) return false;
        run.credits.push(credit);
        break;
      }
      default:
        return false;
    }
  } catch {
    // The database path applies it and fails the event with its exact message.
    Object.assign(draft, {
      tags: before.tags,
      counters: before.counters,
      changedCounters: before.changedCounters,
    });
    draft.history.length = before.history;
    return false;
  }
  run.effects.touchedParticipantIds.add(draft.held.owner.id);
  return true;
}

async function plainCredit(
  run: EventRun,
  ruleId: string,
  action: Extract<ResolvedAction, { type: 'CREDIT' }>,
): Promise<PlainCredit | undefined> {
  const { context, recipient } = required(run);
  if (recipient === undefined) return undefined;
  const { event } = run;
  const { claim } = run.engine;
  const asset = await usableAsset(claim, context, action.asset_id);
  if (asset === undefined || amountScaleFailure(action, asset.scale) !== undefined) return undefined;
  const amount = parseAmount(action.amount, asset.scale, 'amount');
  const shape = {
    bucket: action.bucket,
    referenceId: action.reference_id,
    maturesAt: action.matures_at,
    expiresAt: action.expires_at,
  };
  if (!isPlainCredit(asset, amount, shape, event.event_timestamp)) return undefined;
  return {
    context: {
      organizationId: event.organization_id,
      programId: event.program_id,
      description: action.description ?? 'CREDIT by rule',
      now: claim.now,
      eventId: event.id,
      ruleId,
      eventTimestamp: event.event_timestamp,
    },
    participantId: recipient.row.id,
    asset,
    amount,
    expiresAt: action.expires_at,
  };
}

/**
 * From here on the event writes to the database as it goes, inside its savepoint: the claim's
 * queued writes go first (they belong to completed events), then the event's parties and what it
 * applied in memory so far.
 */
async function enterDatabase(run: EventRun): Promise<void> {
  if (run.direct) return;
  const { claim } = run.engine;
  await flushPendingWrites(claim);
  await sql`savepoint event`.execute(claim.trx);
  run.direct = true;
  claim.epoch += 1;
  await storeParties(run);
  if (run.draft !== undefined) {
    const writes = emptyStateWrites();
    commitDraft(run.draft, writes, claim.now);
    await saveStateWrites(claim.trx, writes);
    run.draft = undefined;
  }
  await flushCredits(run);
}

async function flushCredits(run: EventRun): Promise<void> {
  if (run.credits.length === 0) return;
  const credits = run.credits;
  run.credits = [];
  await postPlainCredits(run.engine.claim.trx, credits);
}

async function storeParties(run: EventRun): Promise<void> {
  const { event } = run;
  for (const holder of new Set([run.participant, run.recipient])) {
    if (holder === undefined) continue;
    const stored = await storeHolder(run.engine.claim, holder, event.program_id, { queue: !run.direct });
    if (!stored) throw new ResolveAgain();
  }
}

/**
 * Upgrades tiers from the counters as the event left them (only upgrades; a tier a SET_TIER changed
 * in this event is left alone) and restarts ACTIVITY_REFRESH timers of the event's parties and of
 * every participant its actions touched.
 */
async function settleTiers(run: EventRun): Promise<void> {
  const { context, participant, recipient } = required(run);
  const { event } = run;
  const { claim } = run.engine;
  const parties = [...new Set([participant, recipient])].filter((holder) => holder !== undefined);
  const ids = new Set([...parties.map((holder) => holder.row.id), ...run.effects.touchedParticipantIds]);
  const holders = run.direct
    ? await loadHolders(
        claim,
        context,
        [...ids].map((id) => ({ participantId: id, externalId: null })),
      )
    : parties;
  // Level changes not queued are written at once, and their rows need the participant stored.
  if (tierQueue(run) === undefined) await flushNewParticipants(claim);
  // Qualification runs on the rules' clock, the event's timestamp, so a replay decides the same.
  const at = event.event_timestamp;
  for (const holder of holders) {
    const input = {
      organizationId: event.organization_id,
      programId: event.program_id,
      participantId: holder.row.id,
      now: claim.now,
    };
    if (context.tiers.tracksActivity)
      holder.tierRows = withRestartedTimers(holder.tierRows, await recordActivity(claim.trx, input));
    const draft = run.draft?.held === holder.state ? run.draft : undefined;
    const counters =
      draft === undefined ? heldCounterValues(holder.state, at) : draftCounterValues(draft, at);
    if (!qualificationWouldWrite(context.tiers, holder.tierRows, counters, at)) continue;
    const source = { eventId: event.id, eventTimestamp: event.event_timestamp, programId: event.program_id };
    const known = { tiers: context.tiers.active, rows: holder.tierRows };
    const skipTierKeys = run.effects.setTierKeys;
    const { written } = await qualifyTiers(claim.trx, {
      ...input,
      now: at,
      counters,
      skipTierKeys,
      source,
      known,
      queue: tierQueue(run),
    });
    holder.tierRows = withWrittenRows(holder.tierRows, written);
  }
}

/**
 * Where an event that writes nothing itself queues its level changes: with the claim's other
 * writes. Not when an ACTIVITY_REFRESH tier restarts lapse timers in the database at every event,
 * since a queued row written later would put back the deadline it was built with.
 */
function tierQueue(run: EventRun) {
  const tracksActivity = required(run).context.tiers.tracksActivity;
  return run.direct || tracksActivity ? undefined : run.engine.claim.pending.tiers;
}

/** The holder's tier rows after recordActivity restarted the lapse timers of the levels held. */
function withRestartedTimers(rows: ParticipantTierRow[], deadlines: Map<string, Date>): ParticipantTierRow[] {
  return rows.map((row) => {
    const lapsesAt = deadlines.get(row.tier_id);
    return lapsesAt === undefined || row.level_key === null ? row : { ...row, lapses_at: lapsesAt };
  });
}

/** The holder's tier rows after qualification wrote `written`, by tier as the claim loads them. */
function withWrittenRows(rows: ParticipantTierRow[], written: ParticipantTierRow[]): ParticipantTierRow[] {
  const byTier = new Map(rows.map((row) => [row.tier_id, row]));
  for (const row of written) byTier.set(row.tier_id, row);
  return [...byTier.values()].sort((a, b) => (a.tier_id < b.tier_id ? -1 : a.tier_id > b.tier_id ? 1 : 0));
}

/** Queues what the event did in memory, or ends its savepoint; answers its outcome. */
async function finishEvent(run: EventRun): Promise<EventOutcome> {
  const { claim } = run.engine;
  const { event } = run;
  const { context, participant, recipient } = required(run);
  if (run.direct) {
    await sql`release savepoint event`.execute(claim.trx);
    const parties = [participant, recipient].flatMap((holder) =>
      holder === undefined ? [] : [holder.row.id],
    );
    forgetHolders(claim, new Set([...parties, ...run.effects.touchedParticipantIds]));
  } else {
    if (run.draft !== undefined) commitDraft(run.draft, claim.pending.state, claim.now);
    claim.pending.credits.push(...run.credits);
  }
  return {
    organizationId: event.organization_id,
    id: event.id,
    status: 'COMPLETED',
    errorMessage: null,
    participantId: participant?.row.id ?? null,
    externalId: participant?.row.external_id ?? null,
    recipientId: recipientReference(event) === undefined ? null : (recipient?.row.id ?? null),
    evaluation: storedEvaluation(run.evaluations, context.rules),
    delayMs: 0,
  };
}

export function isTransientFailure(error: unknown): boolean {
  return isTransientDatabaseError(error) || isDatabaseUnavailable(error);
}

/** An error PostgreSQL raised (it carries a SQLSTATE): the transaction is aborted. */
function isDatabaseError(error: unknown): boolean {
  return isTransientFailure(error) || (error instanceof Error && 'severity' in error && 'code' in error);
}

function failureMessage(logger: Logger, event: ClaimedEvent, error: unknown): string {
  if (error instanceof EventFailure || error instanceof ActionFailure || error instanceof DomainError)
    return error.message;
  if (error instanceof Error && error.name === 'AssertionError') return error.message;
  logger.error({ err: error, eventId: event.id }, 'event processing failed unexpectedly');
  return 'internal error while processing the event';
}
