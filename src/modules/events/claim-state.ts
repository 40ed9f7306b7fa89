// What one claim of events works on, read once and held in memory: each program's configuration
// (program, active rules with their budgets, tier plan, usable assets), each program's state, and
// the participants the events name (locked in one statement, in the global order, with their state,
// tier rows and groups). Writes of completed events are queued here and written with one statement
// per table (new participants, credits, counters, tags, tier levels, history rows) when the claim
// ends or before an event needs the database itself; their evaluations go with their outcome rows.
import { cached } from '../../platform/cached.js';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { type AssetRow, requireUsableAsset } from '../assets/index.js';
import { listActiveGroupIdsOf } from '../groups/index.js';
import { type PlainCredit, postPlainCredits } from '../ledger/index.js';
import {
  createEventParticipants,
  emptyStateWrites,
  enrollParticipant,
  type HeldState,
  heldStateOf,
  loadHeldStates,
  loadProgramHeldState,
  lockKnownParticipants,
  newEventParticipant,
  type ParticipantInsert,
  type ParticipantReference,
  type ParticipantRow,
  referenceKey,
  type StateWrites,
  saveStateWrites,
} from '../participants/index.js';
import { findProgramRowAndConfigVersion, type ProgramRow } from '../programs/index.js';
import { compileActiveRules, type EvaluableRule, type RuleEvaluation } from '../rules/index.js';
import {
  loadHolderTierRows,
  type ParticipantTierRow,
  saveTierWrites,
  type TierPlan,
  type TierWrites,
  tierPlanOf,
} from '../tiers/index.js';
import type { ClaimedEvent } from './events.store.js';
import { programConfig } from './program-configs.js';

export interface ProgramContext {
  program: ProgramRow;
  rules: EvaluableRule[];
  tiers: TierPlan;
  assets: Map<string, Promise<AssetRow | undefined>>;
}

/**
 * A participant as the claim holds it for one program. The participant's row, state and groups are
 * shared by its holders of every program in the claim, so that what one program's event changed in
 * memory is what the next event of another program reads; tierRows and enrolled are the program's.
 */
export interface Holder {
  row: ParticipantRow;
  state: HeldState;
  tierRows: ParticipantTierRow[];
  /** participant.groups in CEL. */
  groups: string[];
  /**
   * False for a participant an event creates until that event completes: then it is queued with the
   * claim's writes (or stored at once by an event that writes as it goes).
   */
  stored: boolean;
  enrolled: boolean;
}

/** An evaluation sent ahead (evaluations-ahead.ts), with what its input was built from. */
export interface AheadEvaluation {
  epoch: number;
  context: ProgramContext;
  programState: Promise<HeldState>;
  holder: Holder;
  turns: number;
  evaluations: Promise<RuleEvaluation[]>;
}

export interface ClaimState {
  trx: Database;
  clock: Clock;
  now: Date;
  events: ClaimedEvent[];
  programs: Map<string, Promise<ProgramContext>>;
  programStates: Map<string, Promise<HeldState>>;
  /** By program and by each reference naming the participant. */
  holders: Map<string, Holder>;
  /** The latest holder of each participant, whose row, state and groups its other holders share. */
  heldById: Map<string, Holder>;
  /** Programs whose participants in this claim are loaded (since the last `forgetEverything`). */
  loadedPrograms: Set<string>;
  /** Keys of holders an event changed in the database: loaded again on their next use. */
  stale: Set<string>;
  pending: PendingWrites;
  /** Moves on whenever an event writes to the database itself: it may have changed any held state. */
  epoch: number;
  /** Evaluations sent ahead, by event id (evaluations-ahead.ts). */
  ahead: Map<string, AheadEvaluation>;
  /**
   * By participant id: how many of the claim's events with the participant as a party got as far as
   * their rules (and may have changed its held state). An evaluation sent ahead holds while it stays.
   */
  turns: Map<string, number>;
}

interface PendingWrites {
  /** New participants of completed events, by organization and external_id. */
  participants: Map<string, ParticipantInsert>;
  credits: PlainCredit[];
  state: StateWrites;
  tiers: TierWrites;
}

export const programKey = (event: Pick<ClaimedEvent, 'organization_id' | 'program_id'>) =>
  `${event.organization_id}:${event.program_id}`;
const holderKey = (organizationId: string, programId: string, reference: ParticipantReference) =>
  `${organizationId}:${programId}:${referenceKey(reference)}`;

export function openClaimState(trx: Database, clock: Clock, events: ClaimedEvent[]): ClaimState {
  return {
    trx,
    clock,
    now: clock(),
    events,
    programs: new Map(),
    programStates: new Map(),
    holders: new Map(),
    heldById: new Map(),
    loadedPrograms: new Set(),
    stale: new Set(),
    epoch: 0,
    ahead: new Map(),
    turns: new Map(),
    pending: {
      participants: new Map(),
      credits: [],
      state: emptyStateWrites(),
      tiers: { rows: new Map(), history: [], notifications: [] },
    },
  };
}

/**
 * Another transaction created an external_id this claim's events create meanwhile: the claim's
 * transaction ends, and the claim is taken again event by event, each resolving its participant.
 */
export class ParticipantRace extends Error {}

/** Writes the queued effects of completed events, one statement per table. */
export async function flushPendingWrites(claim: ClaimState): Promise<void> {
  const { pending, trx } = claim;
  await flushNewParticipants(claim);
  await postPlainCredits(trx, pending.credits);
  // Level changes are written with the state history, in its one statement: an event's go in its
  // participant's set.
  pending.state.history.push(...pending.tiers.history);
  pending.tiers.history.length = 0;
  await saveStateWrites(trx, pending.state);
  await saveTierWrites(trx, pending.tiers);
  pending.credits = [];
}

/**
 * Stores the queued new participants, enrolled in the program of the event that created each, with
 * the tags their events queued (which then need no update of their own).
 */
export async function flushNewParticipants(claim: ClaimState): Promise<void> {
  const { participants, state } = claim.pending;
  const inserts = [...participants.values()].map((insert) => withQueuedTags(insert, state.tags));
  if (inserts.length === 0) return;
  participants.clear();
  const stored = await createEventParticipants(claim.trx, inserts, claim.now);
  if (stored < inserts.length)
    throw new ParticipantRace(`${inserts.length - stored} of the claim's new participants exist already`);
}

function withQueuedTags(insert: ParticipantInsert, tags: StateWrites['tags']): ParticipantInsert {
  const queued = tags.get(insert.row.id);
  if (queued === undefined) return insert;
  tags.delete(insert.row.id);
  return { ...insert, row: { ...insert.row, tags: queued.tags, updated_at: queued.now } };
}

/** Drops the held state of participants (and programs) an event changed in the database. */
export function forgetHolders(claim: ClaimState, participantIds: ReadonlySet<string>): void {
  for (const id of participantIds) claim.heldById.delete(id);
  for (const [key, holder] of claim.holders) {
    if (!participantIds.has(holder.row.id)) continue;
    claim.holders.delete(key);
    claim.stale.add(key);
  }
  claim.programStates.clear();
}

/** After a rollback to an event's savepoint: the locks and reads taken inside it are gone too. */
export function forgetEverything(claim: ClaimState): void {
  claim.epoch += 1;
  claim.holders.clear();
  claim.heldById.clear();
  claim.loadedPrograms.clear();
  claim.stale.clear();
  claim.programStates.clear();
  claim.programs.clear();
}

/**
 * The program's configuration: its row and budgets read once per claim (again after its budgets
 * changed), its rules and tiers kept between claims while unchanged (program-configs.ts).
 */
export function programContext(claim: ClaimState, event: ClaimedEvent): Promise<ProgramContext> {
  return cached(claim.programs, programKey(event), () => loadProgramContext(claim, event));
}

async function loadProgramContext(claim: ClaimState, event: ClaimedEvent): Promise<ProgramContext> {
  const { trx, now } = claim;
  const { organization_id: organizationId, program_id: programId } = event;
  const { program, configVersion } = await findProgramRowAndConfigVersion(trx, organizationId, programId);
  const config = await programConfig(trx, organizationId, programId, configVersion);
  const rules = await compileActiveRules(trx, organizationId, config.rules);
  return { program, rules, tiers: tierPlanOf(config.tiers, now), assets: new Map() };
}

export function programState(claim: ClaimState, event: ClaimedEvent): Promise<HeldState> {
  return cached(claim.programStates, programKey(event), () =>
    loadProgramHeldState(claim.trx, event.organization_id, event.program_id),
  );
}

/** The asset, linked to the program and active; read once per claim; undefined when unusable. */
export function usableAsset(claim: ClaimState, context: ProgramContext, assetId: string) {
  const { organization_id: organizationId, id: programId } = context.program;
  return cached(context.assets, assetId, () =>
    requireUsableAsset(claim.trx, organizationId, programId, assetId, claim.now).catch(() => undefined),
  );
}

/** Undefined for an event without a participant (a program-scope automation's). */
export const participantReference = (event: ClaimedEvent): ParticipantReference | undefined =>
  event.participant_id === null && event.external_id === null
    ? undefined
    : { participantId: event.participant_id, externalId: event.external_id };

export const recipientReference = (event: ClaimedEvent): ParticipantReference | undefined =>
  event.recipient_id === null && event.recipient_external_id === null
    ? undefined
    : { participantId: event.recipient_id, externalId: event.recipient_external_id };

/**
 * The held participant a reference names. The first lookup of a program in the claim locks and
 * loads every known participant its events name. An unknown external_id the program may create
 * becomes a new participant with empty state, stored with its event's first write. Undefined when
 * the participants module must resolve the reference (and explain why it cannot).
 */
export async function heldParticipant(
  claim: ClaimState,
  context: ProgramContext,
  reference: ParticipantReference,
): Promise<Holder | undefined> {
  const { program } = context;
  const key = holderKey(program.organization_id, program.id, reference);
  const programEvents = programKey({ organization_id: program.organization_id, program_id: program.id });
  if (!claim.loadedPrograms.has(programEvents)) {
    await loadHolders(claim, context, claimReferences(claim, context), { keepHeld: true });
    claim.loadedPrograms.add(programEvents);
  }
  if (claim.stale.has(key)) await loadHolders(claim, context, [reference], { keepHeld: true });
  const known = claim.holders.get(key);
  if (known !== undefined || reference.participantId !== null || reference.externalId === null) return known;
  if (claim.pending.participants.has(newParticipantKey(program.organization_id, reference.externalId))) {
    // An event of another program created it: once stored, it is held for this program too.
    await flushNewParticipants(claim);
    await loadHolders(claim, context, [reference], { keepHeld: true });
    return claim.holders.get(key);
  }
  if (program.on_unknown_participant === 'REJECT') return undefined;
  const row = newEventParticipant(program.organization_id, reference.externalId, claim.now);
  const holder = { row, state: heldStateOf(row), tierRows: [], groups: [], stored: false, enrolled: false };
  claim.holders.set(key, holder);
  claim.heldById.set(row.id, holder);
  return holder;
}

function claimReferences(claim: ClaimState, { program }: ProgramContext): ParticipantReference[] {
  return claim.events
    .filter((event) => event.organization_id === program.organization_id && event.program_id === program.id)
    .flatMap((event) =>
      [participantReference(event), recipientReference(event)].filter((reference) => reference !== undefined),
    );
}

/**
 * Finds the holder a reference of the program names when the claim holds it now, loading nothing;
 * undefined when it does not.
 */
export function heldNow(
  claim: ClaimState,
  { program }: ProgramContext,
): (reference: ParticipantReference) => Holder | undefined {
  const loaded = claim.loadedPrograms.has(
    programKey({ organization_id: program.organization_id, program_id: program.id }),
  );
  return (reference) => {
    if (!loaded) return undefined;
    const key = holderKey(program.organization_id, program.id, reference);
    return claim.stale.has(key) ? undefined : claim.holders.get(key);
  };
}

/**
 * Locks and loads participants for the program, keeping one holder per participant under each key
 * naming it. With keepHeld, a participant the claim holds already keeps the row, state and groups it
 * has in memory, which may carry writes not stored yet; without, the database's replace them (after
 * an event wrote to the database itself, the database holds what it did).
 */
export async function loadHolders(
  claim: ClaimState,
  { program }: ProgramContext,
  references: ParticipantReference[],
  { keepHeld }: { keepHeld: boolean } = { keepHeld: false },
): Promise<Holder[]> {
  const { trx } = claim;
  const organizationId = program.organization_id;
  const { rows, enrolled } = await lockKnownParticipants(trx, organizationId, program.id, references);
  const participants = [...new Map([...rows.values()].map((row) => [row.id, row])).values()];
  const ids = participants.map((row) => row.id);
  const held = new Map(
    keepHeld
      ? ids.flatMap((id) => claim.heldById.get(id) ?? []).map((holder) => [holder.row.id, holder])
      : [],
  );
  const unheld = participants.filter((row) => !held.has(row.id));
  const states = await loadHeldStates(trx, unheld);
  const tierRows = await loadHolderTierRows(trx, organizationId, program.id, ids);
  const groups = await listActiveGroupIdsOf(
    trx,
    organizationId,
    unheld.map((row) => row.id),
  );
  const byId = new Map<string, Holder>();
  for (const [named, loaded] of rows) {
    const shared = held.get(loaded.id);
    const state = shared?.state ?? states.get(loaded.id);
    if (state === undefined) continue;
    const holder = cached(byId, loaded.id, () => ({
      row: shared?.row ?? loaded,
      state,
      tierRows: tierRows.get(loaded.id) ?? [],
      groups: shared?.groups ?? groups.get(loaded.id) ?? [],
      stored: true,
      enrolled: enrolled.has(loaded.id),
    }));
    const key = `${organizationId}:${program.id}:${named}`;
    claim.holders.set(key, holder);
    claim.stale.delete(key);
  }
  for (const holder of byId.values()) claim.heldById.set(holder.row.id, holder);
  return [...byId.values()];
}

const newParticipantKey = (organizationId: string, externalId: string) => `${organizationId}:${externalId}`;

/**
 * Stores a new participant, or with `queue` queues it with the claim's writes, and enrolls the
 * holder in the program; false when another transaction created that external_id meanwhile (the
 * event must be resolved again, on a later claim).
 */
export async function storeHolder(
  claim: ClaimState,
  holder: Holder,
  programId: string,
  { queue }: { queue: boolean },
): Promise<boolean> {
  if (!holder.stored && !(await storeNewParticipant(claim, holder, programId, queue))) return false;
  if (!holder.enrolled) {
    await enrollParticipant(claim.trx, holder.row, programId, claim.now);
    holder.enrolled = true;
  }
  return true;
}

async function storeNewParticipant(claim: ClaimState, holder: Holder, programId: string, queue: boolean) {
  const { row } = holder;
  const insert = { row, programId };
  if (queue) {
    claim.pending.participants.set(newParticipantKey(row.organization_id, row.external_id), insert);
  } else if ((await createEventParticipants(claim.trx, [insert], claim.now)) === 0) {
    claim.holders.delete(
      holderKey(row.organization_id, programId, { participantId: null, externalId: row.external_id }),
    );
    claim.heldById.delete(row.id);
    return false;
  }
  holder.stored = true;
  holder.enrolled = true;
  claim.holders.set(
    holderKey(row.organization_id, programId, { participantId: row.id, externalId: null }),
    holder,
  );
  return true;
}
