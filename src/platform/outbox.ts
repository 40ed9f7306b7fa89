// Notifications leave only after commit: services write them here, in their own transaction, and the
// webhook deliverer reads undelivered rows. Writing a notification never calls a module upward.
//
// A row is written only for a topic that some ACTIVE webhook endpoint of the organization subscribes
// to, so an organization without webhooks pays one cached lookup per notification and no write. The
// subscriptions are cached per process for a few seconds; the webhooks module forgets an
// organization's entry when it changes an endpoint, so this process sees the change at once and
// other processes within the cache's lifetime.
import { sql } from 'kysely';
import type { Database } from './db/database.js';
import { newId } from './ids.js';
import { webhookSubscriptionCacheMs } from './limits.js';

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

interface CachedSubscriptions {
  topics: Set<string>;
  expiresAtMs: number;
}

const subscriptionsByOrganization = new Map<string, CachedSubscriptions>();

/** Drops an organization's cached subscriptions (after one of its endpoints changed). */
export function forgetSubscriptions(organizationId: string): void {
  subscriptionsByOrganization.delete(organizationId);
}

async function readSubscribedTopics(trx: Database, organizationId: string): Promise<Set<string>> {
  const cached = subscriptionsByOrganization.get(organizationId);
  if (cached !== undefined && cached.expiresAtMs > Date.now()) return cached.topics;
  const result = await sql<{ topic: string }>`
    select distinct unnest(enabled_events) as topic from webhook_endpoints
    where organization_id = ${organizationId} and status = 'ACTIVE'`.execute(trx);
  const topics = new Set(result.rows.map((row) => row.topic));
  subscriptionsByOrganization.set(organizationId, {
    topics,
    expiresAtMs: Date.now() + webhookSubscriptionCacheMs,
  });
  return topics;
}

/** True when some ACTIVE endpoint of the organization would receive `topic`. */
export async function isSubscribed(trx: Database, organizationId: string, topic: string): Promise<boolean> {
  const topics = await readSubscribedTopics(trx, organizationId);
  return topics.has(topic) || topics.has('*');
}

export async function enqueueNotification(trx: Database, notification: Notification): Promise<void> {
  await enqueueNotifications(trx, [notification]);
}

/** Writes the notifications whose topics are subscribed to, in one statement. */
export async function enqueueNotifications(trx: Database, notifications: Notification[]): Promise<void> {
  const subscribed: Notification[] = [];
  for (const notification of notifications) {
    if (await isSubscribed(trx, notification.organizationId, notification.topic))
      subscribed.push(notification);
  }
  if (subscribed.length === 0) return;
  await trx
    .withTables<{ outbox: OutboxTable }>()
    .insertInto('outbox')
    .values(
      subscribed.map((notification) => ({
        organization_id: notification.organizationId,
        id: newId(),
        topic: notification.topic,
        payload: JSON.stringify(notification.payload),
        created_at: notification.now,
        delivered_at: null,
      })),
    )
    .execute();
}
