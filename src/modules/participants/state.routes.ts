// Tags, counters, attributes and state history of participants (/v1/participants/{id}/...), of
// programs (/v1/programs/{id}/...) and of groups (/v1/groups/{id}/...): the same routes, registered
// once for each owner type. Groups expose counters (read and delete) and the history; rules write
// the rest of a group's state.
import { Type } from 'typebox';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, operationId, Page } from '../../platform/http/schemas.js';
import {
  AttributeList,
  AttributeParams,
  Attribute as AttributeSchema,
  AttributesBody,
  Counter,
  CounterList,
  CounterParams,
  MergeAttributesBody,
  ReplaceTagsBody,
  SetAttributeBody,
  SetCounterBody,
  StateHistoryEntry,
  StateHistoryQuery,
  TagBody,
  TagList,
  TagParams,
  TagsBody,
} from './state.schemas.js';
import type { OwnerType, StateOwner } from './state.service.js';
import * as service from './state-api.service.js';

type App = Parameters<RoutePlugin>[0];

interface OwnerRoutes {
  type: OwnerType;
  base: string;
  tags: string[];
  noun: string;
  /** Only counter reads, counter deletes and the history (groups). */
  countersOnly?: boolean;
}

const owners: OwnerRoutes[] = [
  { type: 'PARTICIPANT', base: '/v1/participants/:id', tags: ['Participant state'], noun: 'participant' },
  { type: 'PROGRAM', base: '/v1/programs/:id', tags: ['Program state'], noun: 'program' },
  { type: 'GROUP', base: '/v1/groups/:id', tags: ['Group state'], noun: 'group', countersOnly: true },
];

/** An ARCHIVED group's state no longer changes. */
const writeRefusals = (routes: OwnerRoutes) => (routes.type === 'GROUP' ? (['group_archived'] as const) : []);

const noContent = { 204: Type.Null({ description: 'Done (also when there was nothing to remove)' }) };

export const stateRoutes: RoutePlugin = async (app, deps) => {
  for (const owner of owners) {
    registerCounterRoutes(app, deps, owner);
    registerHistoryRoute(app, deps, owner);
    if (owner.countersOnly === true) continue;
    registerCounterWriteRoute(app, deps, owner);
    registerTagRoutes(app, deps, owner);
    registerAttributeRoutes(app, deps, owner);
  }
};

function ownerOf(
  routes: OwnerRoutes,
  request: { caller: { organizationId: string }; params: { id: string } },
) {
  return {
    organizationId: request.caller.organizationId,
    type: routes.type,
    id: request.params.id,
  } as StateOwner;
}

function writeContextOf(deps: RouteDeps, request: { caller: { apiKeyId: string } }): service.WriteContext {
  return { db: deps.db, clock: deps.clock, apiKeyId: request.caller.apiKeyId };
}

function registerTagRoutes(app: App, deps: RouteDeps, routes: OwnerRoutes): void {
  const { base, tags, noun } = routes;
  app.get(
    `${base}/state/tags`,
    {
      schema: {
        tags,
        operationId: operationId('list', noun, 'tags'),
        description: 'Tags are lower-case, and all of them come on one page.',
        summary: `List a ${noun}'s tags`,
        params: IdParams,
        response: { 200: TagList, ...errorResponses('not_found') },
      },
    },
    async (request) => service.listTags(deps.db, ownerOf(routes, request)),
  );
  app.put(
    `${base}/state/tags/:tag`,
    {
      schema: {
        tags,
        operationId: operationId('add', noun, 'tag'),
        summary: `Add one tag to a ${noun}`,
        description: 'Lower-cased. Answers 201 when the tag is new and 200 when it already existed.',
        params: TagParams,
        response: { 200: TagBody, 201: TagBody, ...errorResponses('not_found') },
      },
    },
    async (request, reply) => {
      const result = await service.addTag(
        writeContextOf(deps, request),
        ownerOf(routes, request),
        request.params.tag,
      );
      return reply.status(result.added ? 201 : 200).send({ tag: result.tag });
    },
  );
  app.put(
    `${base}/state/tags`,
    {
      schema: {
        tags,
        operationId: operationId('replace', noun, 'tags'),
        description: 'The set becomes exactly the tags sent; each change is recorded in the state history.',
        summary: `Replace all of a ${noun}'s tags`,
        params: IdParams,
        body: ReplaceTagsBody,
        response: { 200: TagsBody, ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.replaceTags(writeContextOf(deps, request), ownerOf(routes, request), request.body.tags),
  );
  app.delete(
    `${base}/state/tags/:tag`,
    {
      schema: {
        tags,
        operationId: operationId('remove', noun, 'tag'),
        description: 'Answers 204 also when the tag was not there.',
        summary: `Remove one tag from a ${noun}`,
        params: TagParams,
        response: { ...noContent, ...errorResponses('not_found') },
      },
    },
    async (request, reply) => {
      await service.removeTag(writeContextOf(deps, request), ownerOf(routes, request), request.params.tag);
      return reply.status(204).send(null);
    },
  );
}

function registerCounterRoutes(app: App, deps: RouteDeps, routes: OwnerRoutes): void {
  const { base, tags, noun } = routes;
  app.get(
    `${base}/state/counters`,
    {
      schema: {
        tags,
        operationId: operationId('list', noun, 'counters'),
        description:
          "Each counter's value as it is now: 0 once its reset_after window has passed since it was last reset.",
        summary: `List a ${noun}'s counters with their effective values`,
        params: IdParams,
        response: { 200: CounterList, ...errorResponses('not_found') },
      },
    },
    async (request) => service.listCounters(deps.db, deps.clock, ownerOf(routes, request)),
  );
  app.get(
    `${base}/state/counters/:key`,
    {
      schema: {
        tags,
        operationId: operationId('get', noun, 'counter'),
        summary: `Get one of a ${noun}'s counters`,
        description: 'The value is the effective one: 0 once reset_after has passed since last_reset_at.',
        params: CounterParams,
        response: { 200: Counter, ...errorResponses('not_found') },
      },
    },
    async (request) => service.getCounter(deps.db, deps.clock, ownerOf(routes, request), request.params.key),
  );
  app.delete(
    `${base}/state/counters/:key`,
    {
      schema: {
        tags,
        operationId: operationId('delete', noun, 'counter'),
        summary: `Delete a ${noun}'s counter for good`,
        description: 'Not a reset: rules then see no counter, and a later increment starts from 0.',
        params: CounterParams,
        response: { ...noContent, ...errorResponses('not_found', ...writeRefusals(routes)) },
      },
    },
    async (request, reply) => {
      await service.removeCounter(
        writeContextOf(deps, request),
        ownerOf(routes, request),
        request.params.key,
      );
      return reply.status(204).send(null);
    },
  );
}

function registerCounterWriteRoute(app: App, deps: RouteDeps, routes: OwnerRoutes): void {
  const { base, tags, noun } = routes;
  app.put(
    `${base}/state/counters/:key`,
    {
      schema: {
        tags,
        operationId: operationId('set', noun, 'counter'),
        summary: `Set a ${noun}'s counter to an absolute value`,
        description:
          'Creates the counter when missing and restarts its auto-reset window. reset_after "" removes ' +
          'auto-reset; omitting it keeps the current setting.',
        params: CounterParams,
        body: SetCounterBody,
        response: { 200: Counter, ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.setCounter(
        writeContextOf(deps, request),
        ownerOf(routes, request),
        request.params.key,
        request.body,
      ),
  );
}

function registerAttributeRoutes(app: App, deps: RouteDeps, routes: OwnerRoutes): void {
  const { base, tags, noun } = routes;
  app.get(
    `${base}/state/attributes`,
    {
      schema: {
        tags,
        operationId: operationId('list', noun, 'attributes'),
        description: 'Sorted by key.',
        summary: `List a ${noun}'s attributes`,
        params: IdParams,
        response: { 200: AttributeList, ...errorResponses('not_found') },
      },
    },
    async (request) => service.listAttributes(deps.db, ownerOf(routes, request)),
  );
  app.put(
    `${base}/state/attributes/:key`,
    {
      schema: {
        tags,
        operationId: operationId('set', noun, 'attribute'),
        description: 'Creates the attribute or replaces its value; recorded in the state history.',
        summary: `Set one of a ${noun}'s attributes`,
        params: AttributeParams,
        body: SetAttributeBody,
        response: { 200: AttributeSchema, ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.setAttribute(
        writeContextOf(deps, request),
        ownerOf(routes, request),
        request.params.key,
        request.body.value,
      ),
  );
  app.patch(
    `${base}/state/attributes`,
    {
      schema: {
        tags,
        operationId: operationId('merge', noun, 'attributes'),
        summary: `Merge attributes into a ${noun}'s`,
        description:
          'Given keys are added or overwritten; the others are untouched. Answers every attribute.',
        params: IdParams,
        body: MergeAttributesBody,
        response: { 200: AttributesBody, ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.mergeAttributes(
        writeContextOf(deps, request),
        ownerOf(routes, request),
        request.body.attributes,
      ),
  );
  app.delete(
    `${base}/state/attributes/:key`,
    {
      schema: {
        tags,
        operationId: operationId('remove', noun, 'attribute'),
        description: 'Answers 204 also when the attribute was not there.',
        summary: `Remove one of a ${noun}'s attributes`,
        params: AttributeParams,
        response: { ...noContent, ...errorResponses('not_found') },
      },
    },
    async (request, reply) => {
      await service.removeAttribute(
        writeContextOf(deps, request),
        ownerOf(routes, request),
        request.params.key,
      );
      return reply.status(204).send(null);
    },
  );
}

function registerHistoryRoute(app: App, deps: RouteDeps, routes: OwnerRoutes): void {
  app.get(
    `${routes.base}/activity/state-history`,
    {
      schema: {
        tags: routes.tags,
        operationId: operationId('list', routes.noun, 'state history'),
        summary: `Every change of a ${routes.noun}'s tags, counters, attributes and tiers, newest first`,
        description:
          'Each entry names its source: event_id and rule_id when a rule acted, changed_by_api_key_id for ' +
          'API calls, changed_by_job for background jobs (tier_lifecycle). event_from/event_to compare the ' +
          'event timestamp (changed_at for other changes).',
        params: IdParams,
        querystring: StateHistoryQuery,
        response: { 200: Page(StateHistoryEntry), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) => service.listStateHistory(deps.db, ownerOf(routes, request), request.query),
  );
}
