// The rules step for a whole claim at once. Per event, the per-event path (rules-step.ts) costs
// dozens of statements: the same program configuration read again, the participant's state read
// twice, every change written on its own. This batch reads the configuration once per claim, the
// participants' state once for all of them, evaluates and applies plain events in memory, and
// writes a claim's credits, counters, tags, history rows and evaluations with a few multi-row
// statements. The result is the same as the per-event path's, written in fewer round trips.
//
// Plain events: no recipient; a program whose rules have no budgets; matched actions that are only
// CREDIT (plain credits, see ledger/plain-credits.ts), COUNTER and TAG on the event's participant,
// each valid for the state it lands on. Any other event, or one whose action would fail, goes
// through the per-event path (the processor flushes this batch first and calls `forget` after), so
// failures keep their exact messages. Tier qualification and ACTIVITY_REFRESH timers run through the
// tiers module when they have something to write, which is rare.
import { setImmediate } from 'node:timers/promises';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { parseAmount } from '../../platform/money.js';
import { type AssetRow, requireUsableAsset } from '../assets/index.js';
import { listActiveGroupIdsOf } from '../groups/index.js';
import { isPlainCredit, type PlainCredit, postPlainCredits } from '../ledger/index.js';
import {
  commitDraft,
  createEventParticipant,
  draftCounterValues,
  draftIncrement,
  draftTag,
  emptyStateWrites,
  enrollParticipant,
  type HeldState,
  heldRuleState,
  heldStateOf,
  loadHeldStates,
  loadProgramHeldState,
  lockKnownParticipants,
  newEventParticipant,
  type ParticipantReference,
  type ParticipantRow,
  referenceKey,
  type StateDraft,
  type StateWrites,
  saveStateWrites,
  startDraft,
} from '../participants/index.js';
import { findProgramRow, type ProgramRow } from '../programs/index.js';
import {
  amountScaleFailure,
  type EvaluableRule,
  evaluateRulesIsolated,
  loadActiveRules,
  type ResolvedAction,
  type RuleEvaluation,
  recordEventsEvaluations,
} from '../rules/index.js';
import {
  loadHolderTierRows,
  loadTierPlan,
  type ParticipantTierRow,
  qualificationWouldWrite,
  qualifyTiers,
  recordActivity,
  type TierPlan,
  tierLevelsForRules,
} from '../tiers/index.js';
import type { ClaimBatch, ClaimBatchFactory } from './event-processor.js';
import type { EventOutcome } from './event-queue.store.js';
import type { EventRow } from './events.store.js';

/**
 * When most of a claim's events need the per-event path, the rest of the claim takes it directly:
 * each hand-over costs a flush and a reload of the held state.
 */
const fallbacksBeforeGivingUp = 16;

interface ProgramContext {
  program: ProgramRow;
  rules: EvaluableRule[];
  tiers: TierPlan;
  assets: Map<string, Promise<AssetRow | undefined>>;
}

interface Holder {
  row: ParticipantRow;
  state: HeldState;
  tierRows: ParticipantTierRow[];
  /** participant.groups in CEL. */
  groups: string[];
  /** False for a participant the event creates: stored once the event is known to complete. */
  stored: boolean;
  enrolled: boolean;
}

interface Pending {
  credits: PlainCredit[];
  state: StateWrites;
  evaluations: { organizationId: string; eventId: string; evaluations: RuleEvaluation[] }[];
}

/** Keys of the session's maps: a program of an organization, a participant reference in it. */
const programKey = (event: EventRow) => `${event.organization_id}:${event.program_id}`;
const holderKey = (organizationId: string, reference: ParticipantReference) =>
  `${organizationId}:${referenceKey(reference)}`;
const referenceOf = (event: EventRow): ParticipantReference => ({
  participantId: event.participant_id,
  externalId: event.external_id,
});

/** The value under `key`, loaded and kept on first use. */
function cached<T>(map: Map<string, T>, key: string, load: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = load();
    map.set(key, value);
  }
  return value;
}

export function createRulesBatch(deps: { db: Database; clock: Clock }): ClaimBatchFactory {
  return async (trx, events) => openBatch(deps, trx, events);
}

function openBatch(deps: { db: Database; clock: Clock }, trx: Database, events: EventRow[]): ClaimBatch {
  const now = deps.clock();
  const programs = new Map<string, Promise<ProgramContext | undefined>>();
  const programStates = new Map<string, Promise<HeldState>>();
  const holders = new Map<string, Holder>();
  const loadedPrograms = new Set<string>();
  const pending: Pending = { credits: [], state: emptyStateWrites(), evaluations: [] };
  let fallbacks = 0;
  let applied = 0;
  const session: Session = {
    deps,
    trx,
    now,
    events,
    programs,
    programStates,
    holders,
    loadedPrograms,
    pending,
  };
  return {
    async apply(event) {
      if (fallbacks >= fallbacksBeforeGivingUp && fallbacks > applied) return undefined;
      // Held state answers without I/O, so a claim whose program has no rules would apply all its
      // events without letting requests in: yield between events. Rules themselves are evaluated
      // in the evaluation thread, whatever time they take.
      await setImmediate();
      const outcome = await applyPlainEvent(session, event);
      if (outcome === undefined) fallbacks += 1;
      else applied += 1;
      return outcome;
    },
    async flush() {
      await postPlainCredits(trx, pending.credits);
      await saveStateWrites(trx, pending.state);
      await recordEventsEvaluations(trx, pending.evaluations, now);
      pending.credits = [];
      pending.evaluations = [];
    },
    forget() {
      holders.clear();
      loadedPrograms.clear();
      programStates.clear();
    },
  };
}

interface Session {
  deps: { db: Database; clock: Clock };
  trx: Database;
  now: Date;
  events: EventRow[];
  programs: Map<string, Promise<ProgramContext | undefined>>;
  programStates: Map<string, Promise<HeldState>>;
  holders: Map<string, Holder>;
  /** Programs whose participants in this claim are loaded (since the last `forget`). */
  loadedPrograms: Set<string>;
  pending: Pending;
}

async function applyPlainEvent(session: Session, event: EventRow): Promise<EventOutcome | undefined> {
  if (event.recipient_id !== null || event.recipient_external_id !== null) return undefined;
  const context = await programContext(session, event);
  if (context === undefined) return undefined;
  const holder = await holderOf(session, context, event);
  if (holder === undefined) return undefined;
  const input = await evaluationInput(session, context, holder, event);
  const evaluations = await evaluateRulesIsolated(context.rules, input);
  const draft = startDraft(holder.state);
  const credits: PlainCredit[] = [];
  for (const evaluation of evaluations) {
    if (evaluation.status !== 'MATCHED') continue;
    for (const action of evaluation.actions) {
      const applied = await applyPlainAction(session, context, holder, event, evaluation.rule_id, action, {
        draft,
        credits,
      });
      if (!applied) return undefined;
    }
  }
  if (!(await storeHolder(session, event, holder))) {
    session.holders.delete(holderKey(event.organization_id, referenceOf(event)));
    return undefined;
  }
  await settleTiers(session, context, holder, event, draft);
  commitDraft(draft, session.pending.state, session.now);
  session.pending.credits.push(...credits);
  session.pending.evaluations.push({ organizationId: event.organization_id, eventId: event.id, evaluations });
  return {
    organizationId: event.organization_id,
    id: event.id,
    status: 'COMPLETED',
    errorMessage: null,
    participantId: holder.row.id,
    externalId: holder.row.external_id,
    recipientId: null,
    delayMs: 0,
  };
}

/** The program's configuration, read once per claim; undefined when its events are not plain. */
function programContext(session: Session, event: EventRow): Promise<ProgramContext | undefined> {
  return cached(session.programs, programKey(event), () =>
    loadProgramContext(session, event.organization_id, event.program_id),
  );
}

async function loadProgramContext(
  session: Session,
  organizationId: string,
  programId: string,
): Promise<ProgramContext | undefined> {
  const { trx, now } = session;
  const program = await findProgramRow(trx, organizationId, programId);
  const rules = await loadActiveRules(trx, organizationId, programId);
  if (rules.some((rule) => rule.budgets.length > 0)) return undefined;
  const tiers = await loadTierPlan(trx, organizationId, programId, now);
  return { program, rules, tiers, assets: new Map() };
}

/**
 * The event's participant, with its state. The first event of a program in the claim (and the first
 * after `forget`) locks and loads every known participant of that program's events at once. An
 * unknown external_id the program may create becomes a new participant with empty state, stored
 * only when its event completes here, so that events see participants appear in event order.
 */
async function holderOf(
  session: Session,
  context: ProgramContext,
  event: EventRow,
): Promise<Holder | undefined> {
  const reference = referenceOf(event);
  const key = holderKey(event.organization_id, reference);
  if (!session.loadedPrograms.has(programKey(event))) {
    await loadHolders(session, context);
    session.loadedPrograms.add(programKey(event));
  }
  const known = session.holders.get(key);
  if (known !== undefined || reference.participantId !== null || reference.externalId === null) return known;
  if (context.program.on_unknown_participant === 'REJECT') return undefined;
  const row = newEventParticipant(event.organization_id, reference.externalId, session.now);
  const holder = { row, state: heldStateOf(row), tierRows: [], groups: [], stored: false, enrolled: false };
  session.holders.set(key, holder);
  return holder;
}

async function loadHolders(session: Session, { program }: ProgramContext): Promise<void> {
  const { trx } = session;
  const references = session.events
    .filter((event) => event.organization_id === program.organization_id && event.program_id === program.id)
    .map(referenceOf);
  const { rows, enrolled } = await lockKnownParticipants(
    trx,
    program.organization_id,
    program.id,
    references,
  );
  const participants = [...new Map([...rows.values()].map((row) => [row.id, row])).values()];
  const states = await loadHeldStates(trx, participants);
  const tierRows = await loadHolderTierRows(
    trx,
    program.organization_id,
    program.id,
    participants.map((row) => row.id),
  );
  const groups = await listActiveGroupIdsOf(
    trx,
    program.organization_id,
    participants.map((row) => row.id),
  );
  // One holder per participant, under each key its events name it by (id and external_id alike),
  // so that every event of the participant sees the same tier rows and flags.
  const byId = new Map<string, Holder>();
  for (const [key, row] of rows) {
    const state = states.get(row.id);
    if (state === undefined) continue;
    const holder = cached(byId, row.id, () => ({
      row,
      state,
      tierRows: tierRows.get(row.id) ?? [],
      groups: groups.get(row.id) ?? [],
      stored: true,
      enrolled: enrolled.has(row.id),
    }));
    session.holders.set(`${program.organization_id}:${key}`, holder);
  }
}

/** Stores a new participant and enrolls the event's participant; false when it must be resolved again. */
async function storeHolder(session: Session, event: EventRow, holder: Holder): Promise<boolean> {
  if (!holder.stored) {
    if (!(await createEventParticipant(session.trx, holder.row, event.program_id, session.now))) return false;
    holder.stored = true;
    holder.enrolled = true;
    session.holders.set(
      holderKey(event.organization_id, { participantId: holder.row.id, externalId: null }),
      holder,
    );
  }
  if (!holder.enrolled) {
    await enrollParticipant(session.trx, holder.row, event.program_id, session.now);
    holder.enrolled = true;
  }
  return true;
}

async function evaluationInput(session: Session, context: ProgramContext, holder: Holder, event: EventRow) {
  const at = event.event_timestamp;
  const { counterValues: _exact, ...participant } = heldRuleState(holder.state, at);
  const {
    counterValues: _programExact,
    status: _status,
    ...program
  } = heldRuleState(await programState(session, event), at);
  return {
    eventData: event.event_data,
    eventTimestamp: at,
    participant: {
      ...participant,
      tiers: tierLevelsForRules(context.tiers, holder.tierRows),
      groups: holder.groups,
    },
    program,
  };
}

function programState(session: Session, event: EventRow): Promise<HeldState> {
  return cached(session.programStates, programKey(event), () =>
    loadProgramHeldState(session.trx, event.organization_id, event.program_id),
  );
}

/** Applies one action to the event's draft; false when the event needs the per-event path. */
async function applyPlainAction(
  session: Session,
  context: ProgramContext,
  holder: Holder,
  event: EventRow,
  ruleId: string,
  action: ResolvedAction,
  effects: { draft: StateDraft; credits: PlainCredit[] },
): Promise<boolean> {
  if (!('target' in action) || action.target.kind !== 'event_participant') return false;
  const source = {
    eventId: event.id,
    eventTimestamp: event.event_timestamp,
    ruleId,
    programId: event.program_id,
  };
  try {
    switch (action.type) {
      case 'COUNTER':
        draftIncrement(effects.draft, {
          key: action.key,
          by: action.value,
          ...(action.reset_after === null ? {} : { resetAfter: action.reset_after }),
          source,
          now: session.now,
          at: event.event_timestamp,
        });
        return true;
      case 'TAG':
        draftTag(effects.draft, { tag: action.tag, source, now: session.now });
        return true;
      case 'CREDIT': {
        const credit = await plainCredit(session, context, holder, event, ruleId, action);
        if (credit === undefined) return false;
        effects.credits.push(credit);
        return true;
      }
      default:
        return false;
    }
  } catch {
    // The per-event path applies it again and fails the event with the exact message.
    return false;
  }
}

async function plainCredit(
  session: Session,
  context: ProgramContext,
  holder: Holder,
  event: EventRow,
  ruleId: string,
  action: Extract<ResolvedAction, { type: 'CREDIT' }>,
): Promise<PlainCredit | undefined> {
  if (holder.state.status !== 'ACTIVE') return undefined;
  const asset = await usableAsset(session, context, action.asset_id);
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
      now: session.now,
      eventId: event.id,
      ruleId,
      eventTimestamp: event.event_timestamp,
    },
    participantId: holder.row.id,
    asset,
    amount,
    expiresAt: action.expires_at,
  };
}

/** The asset, linked to the program and active; read once per claim. */
function usableAsset(session: Session, context: ProgramContext, assetId: string) {
  const { organization_id: organizationId, id: programId } = context.program;
  return cached(context.assets, assetId, () =>
    requireUsableAsset(session.trx, organizationId, programId, assetId, session.now).catch(() => undefined),
  );
}

/**
 * Auto-qualification with the counters as the event leaves them, and ACTIVITY_REFRESH timers:
 * through the tiers module, and only when they have something to write.
 */
async function settleTiers(
  session: Session,
  context: ProgramContext,
  holder: Holder,
  event: EventRow,
  draft: StateDraft,
): Promise<void> {
  const { trx, now } = session;
  const input = {
    organizationId: event.organization_id,
    programId: event.program_id,
    participantId: holder.row.id,
    now,
  };
  if (context.tiers.tracksActivity) await recordActivity(trx, input);
  // Qualification runs on the rules' clock, the event's timestamp, so a replay decides the same.
  const at = event.event_timestamp;
  const counters = draftCounterValues(draft, at);
  if (!qualificationWouldWrite(context.tiers, holder.tierRows, counters, at)) return;
  const source = { eventId: event.id, eventTimestamp: event.event_timestamp, programId: event.program_id };
  const known = { tiers: context.tiers.active, rows: holder.tierRows };
  await qualifyTiers(trx, { ...input, now: at, counters, skipTierKeys: new Set(), source, known });
  const reloaded = await loadHolderTierRows(trx, event.organization_id, event.program_id, [holder.row.id]);
  holder.tierRows = reloaded.get(holder.row.id) ?? [];
}
