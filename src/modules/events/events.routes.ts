import { Type } from 'typebox';
import { keepLogSummary } from '../../platform/http/log-summary.js';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, Page } from '../../platform/http/schemas.js';
import { acceptEventBatch, acceptSingleEvent, summarizeBatch } from './event-ingest.js';
import {
  AcceptedEvent,
  BatchResult,
  Event,
  EventBatchBody,
  EventInput,
  EventWithEvaluations,
  GetEventQuery,
  ListEventsQuery,
  ListParticipantEventsQuery,
  RetryResult,
} from './events.schemas.js';
import * as service from './events.service.js';

const tags = ['Events'];

export interface EventRouteDeps extends RouteDeps {
  /** Reads an event's rule evaluations; absent until the rules module provides one. */
  readRuleEvaluations?: service.RuleEvaluationReader | undefined;
}

export const eventRoutes: RoutePlugin<EventRouteDeps> = async (app, deps) => {
  const { db, clock } = deps;

  app.post(
    '/v1/events',
    {
      schema: {
        tags,
        operationId: 'ingestEvent',
        summary: 'Ingest an event',
        description:
          'Stores the event and answers 202 at once; workers process it later (PENDING, PROCESSING, then ' +
          'COMPLETED or FAILED). A replay of the same idempotency_key with the same payload answers the ' +
          'original event; another payload answers 409 idempotency_conflict. An unknown program answers ' +
          '404 not_found; a SUSPENDED or ARCHIVED one 409 program_inactive.',
        body: EventInput,
        response: {
          202: Type.Ref('AcceptedEvent'),
          ...errorResponses('not_found', 'idempotency_conflict', 'program_inactive', 'payload_too_large'),
        },
      },
    },
    async (request, reply) => {
      const event = await acceptSingleEvent(db, clock, request.caller.organizationId, request.body);
      return reply.status(202).send(event);
    },
  );

  app.post(
    '/v1/events/batch',
    {
      schema: {
        tags,
        operationId: 'ingestEventBatch',
        summary: 'Ingest 1-100 events',
        description:
          'Each item is validated and stored on its own, as POST /v1/events would; results keep the input ' +
          'order. An item that fails carries `error` (the message) and `error_code` (the code the single ' +
          'call would answer). The batch is not atomic. An empty batch or one over 100 answers 400 and ' +
          'stores nothing.',
        body: EventBatchBody,
        response: { 202: Type.Ref('BatchResult'), ...errorResponses('payload_too_large') },
      },
    },
    async (request, reply) => {
      const result = await acceptEventBatch(db, clock, request.caller.organizationId, request.body.events);
      keepLogSummary(request, summarizeBatch(request.body.events, result));
      return reply.status(202).send(result);
    },
  );

  app.get(
    '/v1/events',
    {
      schema: {
        tags,
        operationId: 'listEvents',
        summary: 'List events',
        description:
          '`from`/`to` filter on created_at (ingestion), `event_from`/`event_to` on event_timestamp ' +
          '(occurrence); they combine with AND. Newest first by default.',
        querystring: ListEventsQuery,
        response: { 200: Page(Type.Ref('Event')), ...errorResponses('invalid_cursor') },
      },
    },
    async (request) => service.listEvents(db, request.caller.organizationId, request.query),
  );

  app.get(
    '/v1/events/:id',
    {
      schema: {
        tags,
        operationId: 'getEvent',
        description:
          "Each rule's evaluation: whether it matched, the actions it resolved, and the error of a failed one. include_skipped=true adds the skipped evaluations.",
        summary: 'Get an event with its rule evaluations',
        params: IdParams,
        querystring: GetEventQuery,
        response: { 200: Type.Ref('EventWithEvaluations'), ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.getEvent(
        db,
        request.caller.organizationId,
        request.params.id,
        request.query.include_skipped ?? false,
        deps.readRuleEvaluations,
      ),
  );

  app.post(
    '/v1/events/:id/retry',
    {
      schema: {
        tags,
        operationId: 'retryEvent',
        summary: 'Requeue a FAILED event',
        description:
          'FAILED becomes PENDING with a fresh set of attempts; any other status answers 409 conflict.',
        params: IdParams,
        response: { 200: Type.Ref('RetryResult'), ...errorResponses('not_found', 'conflict') },
      },
    },
    async (request) => service.retryEvent(db, clock, request.caller.organizationId, request.params.id),
  );

  app.get(
    '/v1/participants/:id/activity/events',
    {
      schema: {
        tags: ['Participants'],
        operationId: 'listParticipantEvents',
        summary: "List a participant's events",
        description:
          'Newest first. `from`/`to` filter on created_at, `event_from`/`event_to` on event_timestamp (AND).',
        params: IdParams,
        querystring: ListParticipantEventsQuery,
        response: { 200: Page(Type.Ref('Event')), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) =>
      service.listParticipantEvents(db, request.caller.organizationId, request.params.id, request.query),
  );
};

export const eventSchemas = [AcceptedEvent, BatchResult, Event, EventWithEvaluations, RetryResult];
