import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError, notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { pageSizeDefault } from '../../platform/limits.js';
import { readOptionalTimestamp } from '../../platform/timestamp.js';
import { findParticipantRow } from '../participants/index.js';
import { countSkippedByError, matchedByRule } from '../rules/index.js';
import { toEvent } from './event-views.js';
import type {
  Event,
  EventWithEvaluations,
  ListEventsQuery,
  ListParticipantEventsQuery,
  RetryResult,
  RuleEvaluation,
} from './events.schemas.js';
import type { EventFilter, EventSortColumn } from './events.store.js';
import * as store from './events.store.js';
/** Reads the rule evaluations of an event; the rules module provides it. */
export type RuleEvaluationReader = (
  db: Database,
  organizationId: string,
  eventId: string,
  includeSkipped: boolean,
) => Promise<RuleEvaluation[]>;

export async function getEvent(
  db: Database,
  organizationId: string,
  id: string,
  includeSkipped: boolean,
  readEvaluations: RuleEvaluationReader | undefined,
): Promise<EventWithEvaluations> {
  const row = await store.findEvent(db, organizationId, id);
  if (row === undefined) throw notFound('event');
  const evaluations = readEvaluations ? await readEvaluations(db, organizationId, id, includeSkipped) : [];
  const skipped = await countSkippedByError(db, organizationId, [row.id]);
  return { ...toEvent(row, skipped.get(row.id) ?? 0), rule_evaluations: evaluations };
}

export async function retryEvent(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
): Promise<RetryResult> {
  const previous = await withTransaction(db, async (trx) => {
    // A fresh set of attempts: the claim count restarts and the event is due at once.
    const failed = await store.requeueFailedEvent(trx, organizationId, id, clock());
    if (failed === undefined) {
      const row = await store.findEvent(trx, organizationId, id);
      if (row === undefined) throw notFound('event');
      throw new DomainError('conflict', `only a FAILED event can be retried; this one is ${row.status}`, {
        status: row.status,
      });
    }
    await store.notifyEventsPending(trx);
    return failed;
  });
  return {
    event_id: previous.id,
    message: 'Event queued for retry',
    previous_error: previous.error_message,
    previous_status: previous.status,
    status: 'PENDING',
  };
}

interface ListParameters {
  cursor: string | undefined;
  limit: number | undefined;
  sortBy: EventSortColumn;
  sortDir: 'asc' | 'desc';
  filter: Omit<EventFilter, 'sortBy' | 'sortDir' | 'after' | 'limit'>;
}

async function listPage(db: Database, organizationId: string, parameters: ListParameters) {
  const { sortBy, sortDir } = parameters;
  const limit = parameters.limit ?? pageSizeDefault;
  const scope = `events:${sortBy}:${sortDir}`;
  const after = decodeKeyset(parameters.cursor, scope);
  const rows = await store.listEvents(db, organizationId, {
    ...parameters.filter,
    sortBy,
    sortDir,
    after,
    limit,
  });
  const skipped = await countSkippedByError(
    db,
    organizationId,
    rows.map((row) => row.id),
  );
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row[sortBy], row.id],
    (row) => toEvent(row, skipped.get(row.id) ?? 0),
  );
}

function windowFilter(query: { from?: string; to?: string; event_from?: string; event_to?: string }) {
  return {
    from: readOptionalTimestamp(query.from, 'from'),
    to: readOptionalTimestamp(query.to, 'to'),
    eventFrom: readOptionalTimestamp(query.event_from, 'event_from'),
    eventTo: readOptionalTimestamp(query.event_to, 'event_to'),
  };
}

export async function listEvents(
  db: Database,
  organizationId: string,
  query: ListEventsQuery,
): Promise<PageResult<Event>> {
  return listPage(db, organizationId, {
    cursor: query.cursor,
    limit: query.limit,
    sortBy: query.sort_by ?? 'created_at',
    sortDir: query.sort_dir ?? 'desc',
    filter: {
      programId: query.program_id,
      statuses: query.status === undefined ? undefined : [query.status],
      eventType: query.event_type,
      participantId: query.participant_id,
      participant: undefined,
      externalId: query.external_id,
      matchedRule: query.rule_id === undefined ? undefined : matchedByRule(organizationId, query.rule_id),
      ...windowFilter(query),
    },
  });
}

export async function listParticipantEvents(
  db: Database,
  organizationId: string,
  participantId: string,
  query: ListParticipantEventsQuery,
): Promise<PageResult<Event>> {
  const participant = await findParticipantRow(db, organizationId, participantId);
  return listPage(db, organizationId, {
    cursor: query.cursor,
    limit: query.limit,
    sortBy: 'created_at',
    sortDir: 'desc',
    filter: {
      programId: query.program_id,
      statuses: query.status === undefined ? undefined : [query.status],
      eventType: undefined,
      participantId: undefined,
      participant: { id: participant.id, externalId: participant.external_id },
      externalId: undefined,
      matchedRule: undefined,
      ...windowFilter(query),
    },
  });
}
