// Notifications leave only after commit: services write them here, in their own transaction, and the
// webhook deliverer reads undelivered rows. Writing a notification never calls a module upward.
import type { Database } from './db/database.js';
import { newId } from './ids.js';

interface OutboxTable {
  organization_id: string;
  id: string;
  topic: string;
  payload: unknown;
  created_at: Date;
  delivered_at: Date | null;
}

export interface Notification {
  organizationId: string;
  topic: string;
  payload: Record<string, unknown>;
  now: Date;
}

export async function enqueueNotification(trx: Database, notification: Notification): Promise<void> {
  await trx
    .withTables<{ outbox: OutboxTable }>()
    .insertInto('outbox')
    .values({
      organization_id: notification.organizationId,
      id: newId(),
      topic: notification.topic,
      payload: JSON.stringify(notification.payload),
      created_at: notification.now,
      delivered_at: null,
    })
    .execute();
}
