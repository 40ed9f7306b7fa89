// POST /v1/rules/validate: every problem of a draft rule at once, each naming its field, so that an
// editor can show them all. A draft is checked as a save would check it; nothing is written.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { DomainError, type FieldProblem } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { findProgramRow } from '../programs/index.js';
import { compileCondition } from './compile-rule.js';
import { compileAction } from './rule-actions.js';
import { toBudgetRows } from './rule-budgets.js';
import type { ValidateBody, ValidateResult } from './rules.schemas.js';
import { budgetScales, readWindow, requireActionAsset } from './rules.service.js';

type Problem = Pick<FieldProblem, 'field' | 'reason' | 'message'>;
type Check = { field: string; run: () => unknown };

const validNote =
  'The check covers syntax, the functions and variables of the rule environment and the result type; ' +
  'field references are not checked against any event schema.';

/** The problems a check raises, each naming its field (`field` when the error names none). */
async function problemsOf({ field, run }: Check): Promise<Problem[]> {
  try {
    await run();
    return [];
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const listed = error.details?.fields;
    if (listed !== undefined)
      return listed.map((p) => ({ field: p.field, reason: p.reason, message: p.message }));
    return [
      {
        field: error.details?.field ?? field,
        reason: error.details?.reason ?? error.code,
        message: error.message,
      },
    ];
  }
}

/**
 * What needs the organization's data: the budgets' assets, and with a program_id the program and the
 * actions' assets in it (unchecked when the program is not found, which would only repeat it).
 */
async function referenceProblems(
  db: Database,
  organizationId: string,
  draft: ValidateBody,
  now: Date,
): Promise<Problem[]> {
  const budgets = draft.budgets ?? [];
  const budgetProblems = await problemsOf({
    field: 'budgets',
    run: async () =>
      toBudgetRows(
        organizationId,
        newId(),
        budgets,
        [],
        await budgetScales(db, organizationId, budgets),
        now,
      ),
  });
  const programId = draft.program_id;
  if (programId === undefined) return budgetProblems;
  const programProblems = await problemsOf({
    field: 'program_id',
    run: () => findProgramRow(db, organizationId, programId),
  });
  if (programProblems.length > 0) return [...programProblems, ...budgetProblems];
  const assetProblems: Problem[] = [];
  for (const [index, action] of (draft.actions ?? []).entries()) {
    const assetId = action.asset_id;
    if (assetId === undefined) continue;
    const run = () => requireActionAsset(db, organizationId, programId, assetId, index);
    assetProblems.push(...(await problemsOf({ field: `actions[${index}].asset_id`, run })));
  }
  return [...assetProblems, ...budgetProblems];
}

/** Checks a draft rule: the condition always, and whichever other fields it carries. */
export async function validateRuleDraft(
  db: Database,
  clock: Clock,
  organizationId: string,
  draft: ValidateBody,
): Promise<ValidateResult> {
  const checks: Check[] = [
    { field: 'condition', run: () => compileCondition(draft.condition) },
    ...(draft.actions ?? []).map((action, index) => ({
      field: `actions[${index}]`,
      run: () => compileAction(action, index),
    })),
    { field: 'active_to', run: () => readWindow(draft) },
  ];
  const problems: Problem[] = [];
  for (const check of checks) problems.push(...(await problemsOf(check)));
  problems.push(...(await referenceProblems(db, organizationId, draft, clock())));
  const first = problems[0];
  if (first !== undefined) {
    return { valid: false, message: first.message.replace(/^condition: /, ''), problems };
  }
  const onlyCondition = Object.keys(draft).length === 1;
  return {
    valid: true,
    message: onlyCondition ? 'CEL condition is valid' : 'The draft rule is valid',
    note: validNote,
    problems,
  };
}
