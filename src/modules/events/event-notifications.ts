// `event.completed` and `event.failed`, written in the transaction that marks the events, only for
// organizations whose ACTIVE webhook endpoints subscribe to them.
import type { Database } from '../../platform/db/database.js';
import { enqueueNotifications } from '../../platform/outbox.js';
import type { EventOutcome } from './event-queue.store.js';
import type { ClaimedEvent } from './events.store.js';

export async function enqueueEventNotifications(
  trx: Database,
  events: ClaimedEvent[],
  outcomes: EventOutcome[],
  now: Date,
): Promise<void> {
  const byId = new Map(events.map((event) => [event.id, event]));
  const notifications = outcomes.flatMap((outcome) => {
    const event = byId.get(outcome.id);
    if (event === undefined || outcome.status === 'PENDING') return [];
    return [
      {
        organizationId: outcome.organizationId,
        topic: outcome.status === 'COMPLETED' ? 'event.completed' : 'event.failed',
        now,
        payload: {
          event_id: event.id,
          status: outcome.status,
          event_type: event.event_type,
          program_id: event.program_id,
          participant_id: outcome.participantId ?? event.participant_id,
          external_id: outcome.externalId ?? event.external_id,
          recipient_id: outcome.recipientId ?? event.recipient_id,
          event_timestamp: event.event_timestamp.toISOString(),
          error_message: outcome.errorMessage,
          processed_at: now.toISOString(),
        },
      },
    ];
  });
  await enqueueNotifications(trx, notifications);
}
