import { Type } from 'typebox';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, Page } from '../../platform/http/schemas.js';
import {
  CreateEndpointBody,
  DeliveryStats,
  ListDeliveriesQuery,
  ListEndpointsQuery,
  UpdateEndpointBody,
  WebhookDelivery,
  WebhookDeliveryDetail,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
} from './webhooks.schemas.js';
import type { WebhookSettings } from './webhooks.service.js';
import * as service from './webhooks.service.js';

const tags = ['Webhooks'];

export interface WebhookRouteDeps extends RouteDeps {
  webhooks: WebhookSettings;
}

const endpointRef = Type.Ref('WebhookEndpoint');
const withSecretRef = Type.Ref('WebhookEndpointWithSecret');
const deliveryRef = Type.Ref('WebhookDeliveryDetail');

export const webhookRoutes: RoutePlugin<WebhookRouteDeps> = async (app, { db, clock, webhooks }) => {
  app.post(
    '/v1/webhook-endpoints',
    {
      schema: {
        tags,
        operationId: 'createWebhookEndpoint',
        description:
          'The URL must be https on a public address unless its host is listed in ACCRUE_WEBHOOK_ALLOW_HOSTS. enabled_events lists the types to receive, or ["*"] for all. Store the secret: it signs every message and is not shown again.',
        summary: 'Create a webhook endpoint; the response carries its secret, shown only this once',
        body: CreateEndpointBody,
        response: { 201: withSecretRef, ...errorResponses('conflict') },
      },
    },
    async (request, reply) => {
      const created = await service.createEndpoint(
        db,
        clock,
        webhooks,
        request.caller.organizationId,
        request.body,
      );
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/v1/webhook-endpoints',
    {
      schema: {
        tags,
        operationId: 'listWebhookEndpoints',
        description: 'Filter by status ACTIVE or DISABLED; page size up to 100.',
        summary: 'List webhook endpoints, newest first (archived ones are left out)',
        querystring: ListEndpointsQuery,
        response: { 200: Page(endpointRef), ...errorResponses('invalid_cursor') },
      },
    },
    async (request) => service.listEndpoints(db, request.caller.organizationId, request.query),
  );

  app.get(
    '/v1/webhook-endpoints/delivery-stats',
    {
      schema: {
        tags,
        operationId: 'getWebhookDeliveryStats',
        description:
          'Per endpoint: successes and failures in the last 24 hours, the pending deliveries and the oldest of them, and whether the endpoint is paused (circuit breaker, rate limit, blocked address) and until when.',
        summary: 'Delivery health of every endpoint over the last 24 hours',
        response: { 200: Type.Ref('WebhookDeliveryStats'), ...errorResponses() },
      },
    },
    async (request) => service.readDeliveryStats(db, clock, request.caller.organizationId),
  );

  app.get(
    '/v1/webhook-endpoints/:id',
    {
      schema: {
        tags,
        operationId: 'getWebhookEndpoint',
        description: 'The secret is never shown again: rotate it to get a new one.',
        summary: 'Get a webhook endpoint (without its secret)',
        params: IdParams,
        response: { 200: endpointRef, ...errorResponses('not_found') },
      },
    },
    async (request) => service.getEndpoint(db, request.caller.organizationId, request.params.id),
  );

  app.patch(
    '/v1/webhook-endpoints/:id',
    {
      schema: {
        tags,
        operationId: 'updateWebhookEndpoint',
        description:
          'A changed URL is checked as on creation. status DISABLED stops deliveries; pending ones wait until the endpoint is ACTIVE again.',
        summary: 'Update a webhook endpoint; enabled_events and metadata are replaced',
        params: IdParams,
        body: UpdateEndpointBody,
        response: { 200: endpointRef, ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.updateEndpoint(
        db,
        clock,
        webhooks,
        request.caller.organizationId,
        request.params.id,
        request.body,
      ),
  );

  app.delete(
    '/v1/webhook-endpoints/:id',
    {
      schema: {
        tags,
        operationId: 'archiveWebhookEndpoint',
        description: 'The endpoint becomes ARCHIVED: it receives nothing more and leaves the listings.',
        summary: 'Archive a webhook endpoint: it receives nothing more and leaves the listings',
        params: IdParams,
        response: { 200: endpointRef, ...errorResponses('not_found') },
      },
    },
    async (request) => service.archiveEndpoint(db, clock, request.caller.organizationId, request.params.id),
  );

  app.post(
    '/v1/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        operationId: 'rotateWebhookSecret',
        description:
          'Every later attempt, retries of older deliveries included, is signed with the new secret.',
        summary: 'Replace the signing secret; the old one stops working at once',
        params: IdParams,
        response: { 200: withSecretRef, ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.rotateSecret(db, clock, webhooks, request.caller.organizationId, request.params.id),
  );

  app.get(
    '/v1/webhook-endpoints/:id/deliveries',
    {
      schema: {
        tags,
        operationId: 'listWebhookDeliveries',
        description: 'Filter by status.',
        summary: "List an endpoint's deliveries, newest first",
        params: IdParams,
        querystring: ListDeliveriesQuery,
        response: {
          200: Page(Type.Ref('WebhookDelivery')),
          ...errorResponses('not_found', 'invalid_cursor'),
        },
      },
    },
    async (request) =>
      service.listDeliveries(db, request.caller.organizationId, request.params.id, request.query),
  );

  app.get(
    '/v1/webhook-deliveries/:id',
    {
      schema: {
        tags,
        operationId: 'getWebhookDelivery',
        description:
          "With the envelope sent (payload), the number of attempts, the last response status and body, and the next attempt's time.",
        summary: 'Get a delivery with its payload and the last response body',
        params: IdParams,
        response: { 200: deliveryRef, ...errorResponses('not_found') },
      },
    },
    async (request) => service.getDelivery(db, request.caller.organizationId, request.params.id),
  );

  app.post(
    '/v1/webhook-deliveries/:id/retry',
    {
      schema: {
        tags,
        operationId: 'retryWebhookDelivery',
        description: 'Back to PENDING with 8 fresh attempts, due now.',
        summary: 'Retry a FAILED delivery with fresh attempts (any other status answers 404)',
        params: IdParams,
        response: { 200: deliveryRef, ...errorResponses('not_found') },
      },
    },
    async (request) => service.retryDelivery(db, clock, request.caller.organizationId, request.params.id),
  );

  app.post(
    '/v1/webhook-deliveries/:id/resend',
    {
      schema: {
        tags,
        operationId: 'resendWebhookDelivery',
        description:
          'For a message a receiver lost: a new delivery of the same envelope. Refused while the delivery is still PENDING or SENDING, and when the endpoint is not ACTIVE.',
        summary: 'Send a finished delivery again, as a new delivery with resend_seq + 1',
        params: IdParams,
        response: {
          201: deliveryRef,
          ...errorResponses('not_found', 'not_resendable', 'endpoint_not_active'),
        },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await service.resendDelivery(db, clock, request.caller.organizationId, request.params.id)),
  );
};

export const webhookSchemas = [
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookDelivery,
  WebhookDeliveryDetail,
  DeliveryStats,
];
