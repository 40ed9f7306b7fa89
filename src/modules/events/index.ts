// Events: how every client talks to Accrue. This module owns the events table, ingestion (single and
// batch), idempotency, the processing workers and the event listings.
// Invariants:
// - an accepted event is stored before the 202 leaves, and is never lost: it ends COMPLETED or FAILED;
// - (organization, program, idempotency_key) names one event; a replay with the same canonical payload
//   answers that event, another payload is an idempotency_conflict;
// - an event's effects (participant creation, enrollment, the rules' actions) commit once, together with
//   its COMPLETED status, or not at all; a claim lease fences off a worker that lost its event;
// - events of one participant are applied one at a time, in ingestion order.
export type { EventStep } from './apply-event.js';
export { readQueueGauges } from './event-queue.store.js';
export { type EventWorkers, startEventWorkers } from './event-workers.js';
export { eventRoutes, eventSchemas } from './events.routes.js';
export { fireSystemEvents } from './system-events.js';
