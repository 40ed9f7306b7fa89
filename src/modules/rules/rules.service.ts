import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isUniqueViolation, withTransaction } from '../../platform/db/transaction.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import { oversizedEventData } from '../../platform/event-data.js';
import type { Caller } from '../../platform/http/auth.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { pageSizeDefault, ruleAutoOrderAttemptsMax, rulesPerProgramMax } from '../../platform/limits.js';
import { addDecimals, compareDecimals } from '../../platform/money.js';
import { readOptionalTimestamp, readTimestamp } from '../../platform/timestamp.js';
import { findAssetRow, findAssetScales, requireLinkedAsset } from '../assets/index.js';
import { heldRuleState, loadProgramHeldState, normalizeTags } from '../participants/index.js';
import { findProgramRow } from '../programs/index.js';
import { compileActions, compileCondition, compileRule, type RuleVersion } from './compile-rule.js';
import type { EvaluableRule, EvaluationInput, ParticipantState, RuleEvaluation } from './evaluate-rules.js';
import { evaluateRuleIsolated } from './evaluation-thread.js';
import { budgetAmountAtScale, effectiveBudget, toBudgetRows, toBudgetState } from './rule-budgets.js';
import { readRuleErrorStats } from './rule-evaluations.service.js';
import type {
  Budget,
  ChangeType,
  CreateRuleBody,
  ListRulesQuery,
  Rule,
  RuleHistoryEntry,
  RuleHistoryQuery,
  RuleWithErrorStats,
  SimulateBody,
  SimulateDraftBody,
  SimulateDraftResult,
  SimulateResult,
  UpdateRuleBody,
} from './rules.schemas.js';
import type { BudgetRow, HistoryRow, RuleRow } from './rules.store.js';
import * as store from './rules.store.js';
import { nextBudgetReset } from './schedules.js';
import { toSimulatedEvaluation } from './simulate-rule.js';

/** The scales of the assets the budgets are for (see toRule). */
export function budgetScales(db: Database, organizationId: string, budgets: { asset_id: string }[]) {
  return findAssetScales(
    db,
    organizationId,
    budgets.map((budget) => budget.asset_id),
  );
}

/**
 * The asset an action names is the organization's (404), linked to the program (422 asset_not_linked)
 * and not archived (409 asset_archived), each naming `actions[i].asset_id`: a rule saved with a wrong
 * asset would fail every event it matches.
 */
export async function requireActionAsset(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
  index: number,
): Promise<void> {
  const field = `actions[${index}].asset_id`;
  if (!(await findAssetScales(db, organizationId, [assetId])).has(assetId)) {
    throw new DomainError('not_found', `asset of actions[${index}] not found`, {
      field,
      reason: 'not_found',
    });
  }
  await requireLinkedAsset(db, organizationId, programId, assetId, field);
}

async function requireActionAssets(
  db: Database,
  organizationId: string,
  programId: string,
  actions: { asset_id?: string | undefined }[],
): Promise<void> {
  for (const [index, action] of actions.entries()) {
    if (action.asset_id !== undefined)
      await requireActionAsset(db, organizationId, programId, action.asset_id, index);
  }
}

/** The rule as the API shows it; `scales` are the budgets' asset scales. */
export function toRule(row: RuleRow, budgets: BudgetRow[], scales: Map<string, number>, now: Date): Rule {
  return {
    id: row.id,
    program_id: row.program_id,
    name: row.name,
    description: row.description,
    condition: row.condition,
    actions: row.actions,
    order: row.order,
    status: row.status,
    stop_after_match: row.stop_after_match,
    active_from: toIsoOrNull(row.active_from),
    active_to: toIsoOrNull(row.active_to),
    budgets: budgets.map((budget) => toBudget(effectiveBudget(budget, now), scales.get(budget.asset_id))),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    deleted_at: toIsoOrNull(row.deleted_at),
  };
}

export function toBudget(row: BudgetRow, scale: number | undefined): Budget {
  return {
    asset_id: row.asset_id,
    limit: budgetAmountAtScale(row.limit, scale),
    consumed: budgetAmountAtScale(row.consumed, scale),
    schedule_type: row.schedule_type,
    cron_expression: row.cron_expression,
    interval: row.interval,
    next_reset_at: toIsoOrNull(row.next_reset_at),
  };
}

/** Rules of an archived program are read-only, like archived rules themselves. */
async function findWritableProgram(db: Database, organizationId: string, programId: string) {
  const program = await findProgramRow(db, organizationId, programId);
  if (program.status === 'ARCHIVED') {
    throw new DomainError('conflict', 'the program is archived; its rules are read-only');
  }
  return program;
}

function checkWindow(activeFrom: Date | null, activeTo: Date | null): void {
  if (activeFrom !== null && activeTo !== null && activeFrom >= activeTo) {
    throw invalidField('active_to', 'must be later than active_from');
  }
}

/** A new rule's active window, from its request: active_to must be later than active_from. */
export function readWindow(body: { active_from?: string | undefined; active_to?: string | undefined }) {
  const activeFrom = readOptionalTimestamp(body.active_from, 'active_from') ?? null;
  const activeTo = readOptionalTimestamp(body.active_to, 'active_to') ?? null;
  checkWindow(activeFrom, activeTo);
  return { activeFrom, activeTo };
}

const orderConflict = () =>
  new DomainError('conflict', 'another ACTIVE rule of this program has the same order', {
    field: 'order',
    reason: 'conflict',
  });

export async function createRule(
  db: Database,
  clock: Clock,
  caller: Caller,
  body: CreateRuleBody,
): Promise<Rule> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await insertNewRule(db, clock, caller, body);
    } catch (error) {
      if (!isUniqueViolation(error, 'rules_active_order')) throw error;
      if (body.order !== undefined || attempt >= ruleAutoOrderAttemptsMax) throw orderConflict();
    }
  }
}

async function insertNewRule(
  db: Database,
  clock: Clock,
  caller: Caller,
  body: CreateRuleBody,
): Promise<Rule> {
  compileCondition(body.condition);
  compileActions(body.actions);
  const { activeFrom, activeTo } = readWindow(body);
  const now = clock();
  const organizationId = caller.organizationId;
  return withTransaction(db, async (trx) => {
    await findWritableProgram(trx, organizationId, body.program_id);
    await requireActionAssets(trx, organizationId, body.program_id, body.actions);
    const live = await store.countLiveRules(trx, organizationId, body.program_id);
    if (live >= rulesPerProgramMax) {
      throw new DomainError(
        'conflict',
        `a program has at most ${rulesPerProgramMax} rules that are not archived`,
      );
    }
    const row: RuleRow = {
      organization_id: organizationId,
      id: newId(),
      program_id: body.program_id,
      name: body.name,
      description: body.description ?? null,
      condition: body.condition,
      actions: body.actions,
      order: body.order ?? (await store.findMaxOrder(trx, organizationId, body.program_id)) + 10,
      status: body.status ?? 'ACTIVE',
      stop_after_match: body.stop_after_match ?? false,
      active_from: activeFrom,
      active_to: activeTo,
      current_history_id: newId(),
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    await store.insertRule(trx, row);
    const scales = await budgetScales(trx, organizationId, body.budgets ?? []);
    const budgets = toBudgetRows(organizationId, row.id, body.budgets ?? [], [], scales, now);
    await store.replaceBudgets(trx, organizationId, row.id, budgets);
    const rule = toRule(row, budgets, scales, now);
    await recordHistory(trx, caller, row, 'created', diff({}, rule), rule, now);
    return rule;
  });
}

async function recordHistory(
  db: Database,
  caller: Caller,
  row: RuleRow,
  changeType: ChangeType,
  changes: HistoryRow['changes'],
  snapshot: Rule,
  now: Date,
): Promise<void> {
  await store.insertHistory(db, {
    organization_id: row.organization_id,
    id: row.current_history_id,
    rule_id: row.id,
    program_id: row.program_id,
    change_type: changeType,
    changed_at: now,
    changed_by_api_key_id: caller.apiKeyId,
    changes,
    snapshot: snapshot as unknown as Record<string, unknown>,
  });
}

const versionedFields = [
  'name',
  'description',
  'condition',
  'actions',
  'order',
  'status',
  'stop_after_match',
  'active_from',
  'active_to',
  'budgets',
] as const;

/** The fields whose value differs, each as {from, to}; budgets compare by configuration only. */
function diff(before: Partial<Rule>, after: Rule): HistoryRow['changes'] {
  const changes: HistoryRow['changes'] = {};
  for (const field of versionedFields) {
    const from = field === 'budgets' ? budgetConfig(before.budgets) : (before[field] ?? null);
    const to = field === 'budgets' ? budgetConfig(after.budgets) : after[field];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from, to };
  }
  return changes;
}

function budgetConfig(budgets: Budget[] | undefined) {
  return (budgets ?? []).map(({ asset_id, limit, schedule_type, cron_expression, interval }) => ({
    asset_id,
    limit,
    schedule_type,
    cron_expression,
    interval,
  }));
}

async function findRuleRow(db: Database, organizationId: string, id: string, forUpdate = false) {
  const row = await store.findRule(db, organizationId, id, forUpdate);
  if (row === undefined) throw notFound('rule');
  return row;
}

/** A rule with its budgets' live state and its recent evaluation errors. */
export async function getRule(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
): Promise<RuleWithErrorStats> {
  const row = await findRuleRow(db, organizationId, id);
  const now = clock();
  const budgets = await store.listBudgets(db, organizationId, [row.id]);
  const rule = toRule(row, budgets, await budgetScales(db, organizationId, budgets), now);
  return { ...rule, error_stats: await readRuleErrorStats(db, organizationId, row.id, now) };
}

export async function listRules(
  db: Database,
  clock: Clock,
  organizationId: string,
  query: ListRulesQuery,
): Promise<PageResult<Rule>> {
  const sortBy = query.sort_by ?? 'order';
  const sortDir = query.sort_dir ?? 'asc';
  const limit = query.limit ?? pageSizeDefault;
  const scope = `rules:${sortBy}:${sortDir}`;
  const after = decodeKeyset(query.cursor, scope);
  const rows = await store.listRules(db, organizationId, {
    programId: query.program_id,
    statuses: query.status ? [query.status] : query.include_archived ? undefined : ['ACTIVE', 'SUSPENDED'],
    search: query.search,
    sortBy,
    sortDir,
    after,
    limit,
  });
  const budgets = await store.listBudgets(
    db,
    organizationId,
    rows.slice(0, limit).map((row) => row.id),
  );
  const scales = await budgetScales(db, organizationId, budgets);
  const now = clock();
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row[sortBy], row.id],
    (row) =>
      toRule(
        row,
        budgets.filter((budget) => budget.rule_id === row.id),
        scales,
        now,
      ),
  );
}

function changeTypeOf(before: RuleRow, after: RuleRow): ChangeType {
  if (before.status === after.status) return 'updated';
  if (after.status === 'ARCHIVED') return 'archived';
  return after.status === 'SUSPENDED' ? 'suspended' : 'activated';
}

function patchOf(body: UpdateRuleBody, current: RuleRow, now: Date): Parameters<typeof store.updateRule>[3] {
  const changes: Parameters<typeof store.updateRule>[3] = { updated_at: now };
  if (body.name !== undefined) changes.name = body.name;
  if (body.description !== undefined) changes.description = body.description;
  if (body.condition !== undefined) changes.condition = body.condition;
  if (body.actions !== undefined) changes.actions = body.actions;
  if (body.order !== undefined) changes.order = body.order;
  if (body.stop_after_match !== undefined) changes.stop_after_match = body.stop_after_match;
  if (body.active_from !== undefined)
    changes.active_from = body.active_from === null ? null : readTimestamp(body.active_from, 'active_from');
  if (body.active_to !== undefined)
    changes.active_to = body.active_to === null ? null : readTimestamp(body.active_to, 'active_to');
  if (body.status !== undefined && body.status !== current.status) {
    changes.status = body.status;
    changes.deleted_at = body.status === 'ARCHIVED' ? now : null;
  }
  checkWindow(
    changes.active_from === undefined ? current.active_from : changes.active_from,
    changes.active_to === undefined ? current.active_to : changes.active_to,
  );
  return changes;
}

export async function updateRule(
  db: Database,
  clock: Clock,
  caller: Caller,
  id: string,
  body: UpdateRuleBody,
): Promise<Rule> {
  if (body.condition !== undefined) compileCondition(body.condition);
  if (body.actions !== undefined) compileActions(body.actions);
  const organizationId = caller.organizationId;
  try {
    return await withTransaction(db, async (trx) => {
      const current = await findRuleRow(trx, organizationId, id, true);
      if (current.status === 'ARCHIVED')
        throw new DomainError('conflict', 'the rule is archived and read-only');
      await findWritableProgram(trx, organizationId, current.program_id);
      if (body.actions !== undefined) {
        await requireActionAssets(trx, organizationId, current.program_id, body.actions);
      }
      const now = clock();
      // Locked: a kept budget carries its consumption over, which no event may change meanwhile.
      const currentBudgets = await store.listBudgets(trx, organizationId, [id], true);
      const scales = await budgetScales(trx, organizationId, [...currentBudgets, ...(body.budgets ?? [])]);
      const before = toRule(current, currentBudgets, scales, now);
      const patch = patchOf(body, current, now);
      const budgets =
        body.budgets === undefined
          ? currentBudgets
          : toBudgetRows(organizationId, id, body.budgets, currentBudgets, scales, now);
      const changes = diff(before, toRule({ ...current, ...patch }, budgets, scales, now));
      if (Object.keys(changes).length === 0) return before;
      if (body.budgets !== undefined) await store.replaceBudgets(trx, organizationId, id, budgets);
      const row = await store.updateRule(trx, organizationId, id, { ...patch, current_history_id: newId() });
      const rule = toRule(row, budgets, scales, now);
      await recordHistory(trx, caller, row, changeTypeOf(current, row), changes, rule, now);
      return rule;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'rules_active_order')) throw orderConflict();
    throw error;
  }
}

export async function listRuleHistory(
  db: Database,
  organizationId: string,
  id: string,
  query: RuleHistoryQuery,
): Promise<PageResult<RuleHistoryEntry>> {
  await findRuleRow(db, organizationId, id);
  const sortDir = query.sort_dir ?? 'desc';
  const limit = query.limit ?? 20;
  const scope = `rule-history:${sortDir}`;
  const after = decodeKeyset(query.cursor, scope);
  const rows = await store.listHistory(db, organizationId, id, {
    changeType: query.change_type,
    from: readOptionalTimestamp(query.from, 'from'),
    to: readOptionalTimestamp(query.to, 'to'),
    sortDir,
    after,
    limit,
  });
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row.changed_at, row.id],
    (row) => ({
      id: row.id,
      rule_id: row.rule_id,
      program_id: row.program_id,
      change_type: row.change_type,
      changed_at: toIso(row.changed_at),
      changed_by_api_key_id: row.changed_by_api_key_id,
      changed_by_user_id: null,
      changes: row.changes,
      snapshot: row.snapshot,
    }),
  );
}

/** Sets a budget's consumption to zero; a scheduled budget also moves to its next period. */
export async function resetRuleBudget(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
  assetId: string,
): Promise<Budget> {
  return withTransaction(db, async (trx) => {
    const rule = await findRuleRow(trx, organizationId, id, true);
    if (rule.status === 'ARCHIVED') throw new DomainError('conflict', 'the rule is archived and read-only');
    const budget = await store.findBudgetForUpdate(trx, organizationId, id, assetId);
    if (budget === undefined) throw notFound('budget for this asset');
    const now = clock();
    const updated = await store.updateBudget(trx, {
      ...budget,
      consumed: '0',
      next_reset_at: nextBudgetReset(budget, now),
    });
    const scales = await budgetScales(trx, organizationId, [updated]);
    return toBudget(updated, scales.get(assetId));
  });
}

function toParticipantState(input: SimulateBody['participant_state']): ParticipantState {
  return {
    tags: normalizeTags(input?.tags ?? []),
    counters: input?.counters ?? {},
    attributes: input?.attributes ?? {},
    tiers: input?.tiers ?? {},
    status: input?.status ?? 'ACTIVE',
    groups: input?.groups ?? [],
  };
}

/** The program's live tags, counters (as they read at `at`) and attributes, as events see them. */
async function programRuleState(db: Database, organizationId: string, programId: string, at: Date) {
  const held = await loadProgramHeldState(db, organizationId, programId);
  const { tags, counters, attributes } = heldRuleState(held, at);
  return { tags, counters, attributes };
}

/** A dry run of one rule against a hypothetical event and participant state: nothing is written. */
export async function simulateRule(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
  body: SimulateBody,
): Promise<SimulateResult> {
  const row = await findRuleRow(db, organizationId, id);
  const budgets = await store.listBudgets(db, organizationId, [id]);
  const now = clock();
  const rule = compileRule(
    { ...row, history_id: row.current_history_id },
    budgets.map((budget) => toBudgetState(effectiveBudget(budget, now))),
  );
  const draft = { programId: row.program_id, actions: row.actions, rule };
  return {
    rule: {
      id: row.id,
      name: row.name,
      condition: row.condition,
      order: row.order,
      stop_after_match: row.stop_after_match,
    },
    evaluation: await simulateEvaluation(db, now, organizationId, draft, body),
  };
}

/**
 * A dry run of a rule that is not saved (POST /v1/rules/simulate): checked as a save would check it
 * (condition, actions, window, program, assets), then evaluated as simulateRule does. Nothing is
 * written, and the compiled draft is not cached under any saved version.
 */
export async function simulateRuleDraft(
  db: Database,
  clock: Clock,
  organizationId: string,
  body: SimulateDraftBody,
): Promise<SimulateDraftResult> {
  const condition = compileCondition(body.condition);
  const actions = compileActions(body.actions);
  const { activeFrom, activeTo } = readWindow(body);
  await findProgramRow(db, organizationId, body.program_id);
  await requireActionAssets(db, organizationId, body.program_id, body.actions);
  const rule: EvaluableRule = {
    id: newId(),
    history_id: newId(),
    order: 1,
    stop_after_match: body.stop_after_match ?? false,
    active_from: activeFrom,
    active_to: activeTo,
    condition,
    actions,
    budgets: [],
  };
  const draft = { programId: body.program_id, actions: body.actions, rule };
  return { evaluation: await simulateEvaluation(db, clock(), organizationId, draft, body) };
}

async function simulateEvaluation(
  db: Database,
  now: Date,
  organizationId: string,
  draft: { programId: string; actions: CreateRuleBody['actions']; rule: EvaluableRule },
  body: SimulateBody,
): Promise<SimulateResult['evaluation']> {
  const oversized = oversizedEventData(body.event, 'event');
  if (oversized !== undefined) throw oversized;
  const participant = toParticipantState(body.participant_state);
  const eventTimestamp = readOptionalTimestamp(body.event_timestamp, 'event_timestamp') ?? now;
  const input: EvaluationInput = {
    eventData: body.event,
    eventTimestamp,
    participant,
    program: await programRuleState(db, organizationId, draft.programId, eventTimestamp),
  };
  const evaluation = await evaluateRuleIsolated(draft.rule, input);
  const symbolOf = await assetSymbols(db, organizationId, draft.actions);
  return toSimulatedEvaluation(evaluation, draft.actions, participant, symbolOf);
}

/** The symbols of the assets a rule's actions name; an asset that no longer exists shows its id. */
async function assetSymbols(
  db: Database,
  organizationId: string,
  actions: { asset_id?: string | undefined }[],
) {
  const symbols = new Map<string, string>();
  for (const assetId of new Set(actions.flatMap((action) => (action.asset_id ? [action.asset_id] : [])))) {
    const asset = await findAssetRow(db, organizationId, assetId).catch(() => undefined);
    if (asset) symbols.set(assetId, asset.symbol);
  }
  return (assetId: string) => symbols.get(assetId) ?? assetId;
}

/** An ACTIVE rule as its version in force, and whether it has budgets (read with compileActiveRules). */
export type ActiveRuleVersion = RuleVersion & { budgeted: boolean };

/** The program's ACTIVE rules in evaluation order. */
export async function loadActiveRuleVersions(
  db: Database,
  organizationId: string,
  programId: string,
): Promise<ActiveRuleVersion[]> {
  const rows = await store.listActiveRules(db, organizationId, programId);
  return rows.map((row) => ({ ...row, history_id: row.current_history_id, budgeted: row.budgeted === true }));
}

/** The program's ACTIVE rules compiled, with their budgets locked (see compileActiveRules). */
export async function loadActiveRules(
  db: Database,
  organizationId: string,
  programId: string,
): Promise<EvaluableRule[]> {
  return compileActiveRules(db, organizationId, await loadActiveRuleVersions(db, organizationId, programId));
}

/**
 * The rule versions compiled (cached per version), with their budgets. Call it inside the event's
 * transaction, before evaluating: the budgets it reads are locked until that transaction ends.
 */
export async function compileActiveRules(
  db: Database,
  organizationId: string,
  versions: ActiveRuleVersion[],
): Promise<EvaluableRule[]> {
  // Locked until the transaction ends, in one order (rule, asset): another event's transaction waits
  // here and then reads what this one consumed, so a budget caps credits under any number of workers
  // and processes. A program without budgets reads and locks nothing.
  const budgeted = versions.filter((version) => version.budgeted).map((version) => version.id);
  const budgets = await store.listBudgets(db, organizationId, budgeted, true);
  return versions.map((version) =>
    compileRule(version, budgets.filter((budget) => budget.rule_id === version.id).map(toBudgetState)),
  );
}

/**
 * Adds the matched rules' budget consumption, applying a due reset first, to the budgets
 * loadActiveRules locked in this transaction: evaluation saw their current consumption, so no
 * consumption takes a budget past its limit.
 */
export async function consumeRuleBudgets(
  db: Database,
  organizationId: string,
  evaluations: RuleEvaluation[],
  eventTimestamp: Date,
): Promise<void> {
  const items = evaluations
    .flatMap((evaluation) =>
      evaluation.budget_consumption.map((item) => ({ ruleId: evaluation.rule_id, ...item })),
    )
    .sort((a, b) => (a.ruleId + a.asset_id).localeCompare(b.ruleId + b.asset_id));
  for (const item of items) {
    const budget = await store.findBudgetForUpdate(db, organizationId, item.ruleId, item.asset_id);
    if (budget === undefined) continue;
    const current = effectiveBudget(budget, eventTimestamp);
    const consumed = addDecimals(current.consumed, item.amount);
    assert(
      compareDecimals(consumed, current.limit) <= 0,
      `rule ${item.ruleId} would overspend its budget for asset ${item.asset_id}`,
    );
    await store.updateBudget(db, { ...current, consumed });
  }
}
