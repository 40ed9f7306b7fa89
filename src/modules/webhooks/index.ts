// Webhooks (spec 2.12, 6.7): endpoints, their signing secrets, and the delivery of outbox rows to
// them. Invariants: secrets are stored only encrypted and shown only at create and rotate; an
// endpoint URL is https to public addresses (unless allow-listed), checked at creation and at every
// attempt, and the connection goes to the checked address; every delivery of one outbox row carries
// the row's id as webhook-id, on every attempt, to every endpoint; a delivery is at least once.
export {
  type DelivererDeps,
  deliverDueWebhooks,
  startWebhookDeliverer,
  type WebhookDeliverer,
} from './deliverer.js';
export type { Resolver } from './url-safety.js';
export { verifyWebhook } from './webhook-secrets.js';
export { type WebhookRouteDeps, webhookRoutes, webhookSchemas } from './webhooks.routes.js';
export { createWebhookSettings, type WebhookSettings } from './webhooks.service.js';
