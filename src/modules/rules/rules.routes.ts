import { Type } from 'typebox';
import type { RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, Page } from '../../platform/http/schemas.js';
import { validateRuleDraft } from './rule-drafts.service.js';
import {
  Budget,
  CreateRuleBody,
  ListRulesQuery,
  ResetBudgetQuery,
  Rule,
  RuleEvaluationView,
  RuleHistoryEntry,
  RuleHistoryQuery,
  RuleWithErrorStats,
  SimulateBody,
  SimulateDraftBody,
  SimulateDraftResult,
  SimulateResult,
  UpdateRuleBody,
  ValidateBody,
  ValidateResult,
} from './rules.schemas.js';
import * as service from './rules.service.js';

const tags = ['Rules'];
const ruleWriteErrors = errorResponses(
  'invalid_scale',
  'not_found',
  'conflict',
  'asset_not_linked',
  'asset_archived',
);

export const ruleRoutes: RoutePlugin = async (app, { db, clock }) => {
  app.post(
    '/v1/rules',
    {
      schema: {
        tags,
        operationId: 'createRule',
        summary: 'Create a rule',
        description:
          "An omitted order becomes the program's highest order + 10. The condition and every CEL-valued " +
          'action field are compiled now; a refused expression answers 400 naming the field and position. ' +
          "Each action's asset must be the organization's (404), linked to the program (422 asset_not_linked) " +
          'and not archived (409 asset_archived).',
        body: CreateRuleBody,
        response: { 201: Type.Ref('Rule'), ...ruleWriteErrors },
      },
    },
    async (request, reply) => {
      const rule = await service.createRule(db, clock, request.caller, request.body);
      return reply.status(201).send(rule);
    },
  );

  app.get(
    '/v1/rules',
    {
      schema: {
        tags,
        operationId: 'listRules',
        summary: 'List rules',
        description:
          'In evaluation order (ascending order) unless sort_by says otherwise; archived rules are left out unless asked for.',
        querystring: ListRulesQuery,
        response: { 200: Page(Type.Ref('Rule')), ...errorResponses('invalid_cursor') },
      },
    },
    async (request) => service.listRules(db, clock, request.caller.organizationId, request.query),
  );

  app.post(
    '/v1/rules/validate',
    {
      config: { readsOnly: true },
      schema: {
        tags,
        operationId: 'validateRule',
        summary: 'Validate a CEL condition, or a whole draft rule',
        description:
          'Nothing is written. The condition is compiled; any other rule field sent is checked as a save ' +
          "would check it (actions' fields and expressions, the active window, and with program_id the " +
          "program and the actions' assets, budgets). Problems answer 200 with valid: false and every " +
          'problem in problems, each naming its field; a body of the wrong shape answers 400.',
        body: ValidateBody,
        response: { 200: ValidateResult, ...errorResponses() },
      },
    },
    async (request) => validateRuleDraft(db, clock, request.caller.organizationId, request.body),
  );

  app.get(
    '/v1/rules/:id',
    {
      schema: {
        tags,
        operationId: 'getRule',
        summary: 'Get a rule, with the live state of its budgets and its recent evaluation errors',
        description:
          'error_stats counts the evaluations of the last 24 hours that ended SKIPPED_ERROR or ' +
          'SKIPPED_TIMEOUT (hidden from GET /v1/events/{id} without include_skipped), with the latest message.',
        params: IdParams,
        response: { 200: Type.Ref('RuleWithErrorStats'), ...errorResponses('not_found') },
      },
    },
    async (request) => service.getRule(db, clock, request.caller.organizationId, request.params.id),
  );

  app.patch(
    '/v1/rules/:id',
    {
      schema: {
        tags,
        operationId: 'updateRule',
        summary: 'Update a rule',
        description:
          'Partial. budgets replaces the whole list; null clears active_from or active_to. Archived rules and ' +
          'rules of archived programs are read-only (409). Every change is a new version in the history.',
        params: IdParams,
        body: UpdateRuleBody,
        response: { 200: Type.Ref('Rule'), ...ruleWriteErrors },
      },
    },
    async (request) => service.updateRule(db, clock, request.caller, request.params.id, request.body),
  );

  app.get(
    '/v1/rules/:id/history',
    {
      schema: {
        tags,
        operationId: 'listRuleHistory',
        description:
          'Every change of the rule, newest version included: what changed, the whole rule as it became, when and by which key.',
        summary: 'Change history of a rule',
        params: IdParams,
        querystring: RuleHistoryQuery,
        response: {
          200: Page(Type.Ref('RuleHistoryEntry')),
          ...errorResponses('not_found', 'invalid_cursor'),
        },
      },
    },
    async (request) =>
      service.listRuleHistory(db, request.caller.organizationId, request.params.id, request.query),
  );

  app.post(
    '/v1/rules/simulate',
    {
      schema: {
        tags,
        operationId: 'simulateRuleDraft',
        summary: 'Simulate a rule that is not saved (nothing is written)',
        description:
          'A draft rule (program_id, condition, actions and optionally stop_after_match and the active window) ' +
          'runs against a sample event as POST /v1/rules/{id}/simulate runs a saved one, so an editor can try a ' +
          'rule before saving it. The draft is checked as a create would check it: a refused expression answers ' +
          "400 naming the field (e.g. actions[0].amount); an action's asset must be the organization's (404), " +
          'linked to the program (422 asset_not_linked) and not archived (409 asset_archived). Budgets are not ' +
          'simulated: a draft has consumed nothing.',
        body: SimulateDraftBody,
        response: {
          200: SimulateDraftResult,
          ...errorResponses('not_found', 'asset_not_linked', 'asset_archived'),
        },
      },
    },
    async (request) => service.simulateRuleDraft(db, clock, request.caller.organizationId, request.body),
  );

  app.post(
    '/v1/rules/:id/simulate',
    {
      config: { readsOnly: true },
      schema: {
        tags,
        operationId: 'simulateRule',
        summary: 'Simulate a rule against an event (nothing is written)',
        description:
          "The participant is the participant_state sent; program.* reads the program's live tags, counters and " +
          'attributes, as an event would.',
        params: IdParams,
        body: SimulateBody,
        response: { 200: SimulateResult, ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.simulateRule(db, clock, request.caller.organizationId, request.params.id, request.body),
  );

  app.post(
    '/v1/rules/:id/reset-budget',
    {
      schema: {
        tags,
        operationId: 'resetRuleBudget',
        summary: 'Reset a rule budget',
        description: 'Sets consumed to 0; a scheduled budget also moves next_reset_at to its next period.',
        params: IdParams,
        querystring: ResetBudgetQuery,
        response: { 200: Budget, ...errorResponses('not_found', 'conflict') },
      },
    },
    async (request) =>
      service.resetRuleBudget(
        db,
        clock,
        request.caller.organizationId,
        request.params.id,
        request.query.asset_id,
      ),
  );
};

export const ruleSchemas = [Rule, RuleWithErrorStats, RuleHistoryEntry, RuleEvaluationView];
