import { Type } from 'typebox';
import type { RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, Page } from '../../platform/http/schemas.js';
import {
  Accepted,
  Automation,
  AutomationParams,
  CreateAutomationBody,
  ListAutomationsQuery,
  ListSubscriptionsQuery,
  ProgramParams,
  Subscription,
  UpdateAutomationBody,
} from './automations.schemas.js';
import * as service from './automations.service.js';

const tags = ['Automations'];
const automationRef = Type.Ref('Automation');
const collection = '/v1/programs/:programId/automations';
const item = `${collection}/:automationId`;

function keyOf(request: {
  caller: { organizationId: string };
  params: { programId: string; automationId: string };
}) {
  return {
    organizationId: request.caller.organizationId,
    programId: request.params.programId.toLowerCase(),
    automationId: request.params.automationId.toLowerCase(),
  };
}

export const automationRoutes: RoutePlugin = async (app, { db, clock }) => {
  app.post(
    collection,
    {
      schema: {
        tags,
        operationId: 'createAutomation',
        summary: 'Create an automation',
        description:
          'A scheduled (cron, one_time), immediate or participant_state source of SYSTEM events. Cron runs in `trigger.timezone` (IANA, default UTC); CEL conditions are checked here, as rule conditions are.',
        params: ProgramParams,
        body: CreateAutomationBody,
        response: { 201: automationRef, ...errorResponses('not_found', 'conflict') },
      },
    },
    async (request, reply) => {
      const { organizationId } = request.caller;
      const created = await service.createAutomation(
        db,
        clock,
        organizationId,
        request.params.programId.toLowerCase(),
        request.body,
      );
      return reply.status(201).send(created);
    },
  );

  app.get(
    collection,
    {
      schema: {
        tags,
        operationId: 'listAutomations',
        summary: 'List automations, newest first',
        description: 'Filters combine with AND. Archived automations are listed only with status=archived.',
        params: ProgramParams,
        querystring: ListAutomationsQuery,
        response: { 200: Page(automationRef), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) =>
      service.listAutomations(
        db,
        request.caller.organizationId,
        request.params.programId.toLowerCase(),
        request.query,
      ),
  );

  app.get(
    item,
    {
      schema: {
        tags,
        operationId: 'getAutomation',
        summary: 'Get an automation',
        description:
          'Archived automations too; participants_processed shows a fan-out’s progress while it runs.',
        params: AutomationParams,
        response: { 200: automationRef, ...errorResponses('not_found') },
      },
    },
    async (request) => service.getAutomation(db, keyOf(request)),
  );

  app.patch(
    item,
    {
      schema: {
        tags,
        operationId: 'updateAutomation',
        summary: 'Update an automation',
        description:
          'Flat field names. status active|paused; pausing stops future runs, not a fan-out in progress. A changed or resumed cron schedule counts from now.',
        params: AutomationParams,
        body: UpdateAutomationBody,
        response: { 200: automationRef, ...errorResponses('not_found', 'conflict') },
      },
    },
    async (request) => service.updateAutomation(db, clock, keyOf(request), request.body),
  );

  app.delete(
    item,
    {
      schema: {
        tags,
        operationId: 'archiveAutomation',
        summary: 'Archive an automation',
        description:
          'Terminal: it never fires again and cannot be re-activated. Use status paused for a temporary stop.',
        params: AutomationParams,
        response: { 200: automationRef, ...errorResponses('not_found') },
      },
    },
    async (request) => service.archiveAutomation(db, clock, keyOf(request)),
  );

  app.post(
    `${item}/trigger`,
    {
      schema: {
        tags,
        operationId: 'triggerAutomation',
        summary: 'Fire an automation now',
        description:
          'Answers 202; the run starts within 5 seconds. Refused (400) unless active with no run pending or executing; one_time+program and participant_state cannot be triggered.',
        params: AutomationParams,
        response: { 202: automationRef, ...errorResponses('not_found') },
      },
    },
    async (request, reply) =>
      reply.status(202).send(await service.triggerAutomation(db, clock, keyOf(request))),
  );

  app.post(
    `${item}/cancel`,
    {
      schema: {
        tags,
        operationId: 'cancelAutomation',
        summary: 'Cancel the run in progress',
        description:
          'execution_status becomes failed; participants already sent keep their events, the rest are skipped. The automation stays active and fires on its next schedule.',
        params: AutomationParams,
        response: { 200: automationRef, ...errorResponses('not_found') },
      },
    },
    async (request) => service.cancelAutomation(db, clock, keyOf(request)),
  );

  app.post(
    `${item}/refresh-subscriptions`,
    {
      schema: {
        tags,
        operationId: 'refreshAutomationSubscriptions',
        summary: 'Re-evaluate a participant_state automation’s subscriptions',
        description: 'Asynchronous: answers 202 {}. Only for active participant_state automations.',
        params: AutomationParams,
        response: { 202: Type.Ref('AutomationAccepted'), ...errorResponses('not_found') },
      },
    },
    async (request, reply) =>
      reply.status(202).send(await service.refreshSubscriptions(db, clock, keyOf(request))),
  );

  app.get(
    `${item}/subscriptions`,
    {
      schema: {
        tags,
        operationId: 'listAutomationSubscriptions',
        summary: 'List an automation’s subscriptions',
        description: 'Newest first. Automations other than participant_state have none.',
        params: AutomationParams,
        querystring: ListSubscriptionsQuery,
        response: {
          200: Page(Type.Ref('AutomationSubscription')),
          ...errorResponses('not_found', 'invalid_cursor'),
        },
      },
    },
    async (request) => service.listSubscriptions(db, keyOf(request), request.query),
  );
};

export const automationSchemas = [Automation, Subscription, Accepted];
