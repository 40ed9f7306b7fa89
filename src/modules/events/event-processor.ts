// Applies one claimed event: resolve its participant (and recipient) and enroll them, run the plugged
// steps (rule evaluation and actions), and mark it COMPLETED, all in one transaction, so every effect
// of an event commits or none does. A business failure rolls the effects back and ends the event
// FAILED with a readable message; transient database failures are retried with backoff.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isTransientDatabaseError } from '../../platform/db/transaction.js';
import { DomainError } from '../../platform/errors.js';
import { isDatabaseUnavailable } from '../../platform/http/error-handler.js';
import { eventClaimsMax, eventTransientAttemptsMax } from '../../platform/limits.js';
import type { Logger } from '../../platform/logger.js';
import { type ParticipantRow, resolveEventParticipant } from '../participants/index.js';
import { findProgramRow, type ProgramRow } from '../programs/index.js';
import { finishClaimedEvent, lockClaimedEvent } from './event-queue.store.js';
import type { EventRow } from './events.store.js';

/** What a step sees of the event: everything but the queue's bookkeeping. */
export type ProcessingEvent = Omit<
  EventRow,
  'ordering_key' | 'payload_hash' | 'claim_token' | 'lease_expires_at' | 'claim_count' | 'available_at'
>;

/** The resolved parties of an event; recipient is the participant when the event names none. */
export interface EventParties {
  program: ProgramRow;
  participant: ParticipantRow;
  recipient: ParticipantRow;
}

export type StepResult = { outcome: 'continue' } | { outcome: 'fail'; errorMessage: string };

/**
 * One stage of event processing, run inside the event's transaction after participant resolution
 * (rule evaluation and actions plug in here). Writes go through `trx`. Answering `fail`, or throwing a
 * DomainError, rolls back every effect of the event and ends it FAILED with that message; throwing a
 * transient database error retries the whole event.
 */
export type EventStep = (trx: Database, event: ProcessingEvent, parties: EventParties) => Promise<StepResult>;

export interface ProcessorDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  steps: readonly EventStep[];
  /** First backoff delay after a transient failure; doubles on each attempt. */
  backoffBaseMs?: number;
}

/** A business failure: the event ends FAILED with this message. */
class EventFailure extends Error {}

export type ProcessOutcome = 'COMPLETED' | 'FAILED' | 'LOST';

/** Processes one event this worker has claimed with `claimToken`; never throws. */
export async function processClaimedEvent(
  deps: ProcessorDeps,
  claimed: EventRow,
  claimToken: string,
): Promise<ProcessOutcome> {
  const backoffBaseMs = deps.backoffBaseMs ?? 25;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deps.db.transaction().execute((trx) => applyEvent(trx, deps, claimed, claimToken));
    } catch (error) {
      if (isTransient(error) && attempt < eventTransientAttemptsMax) {
        await sleep(backoffBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
        continue;
      }
      return failEvent(deps, claimed, claimToken, describeFailure(deps.logger, claimed, error, attempt));
    }
  }
}

async function applyEvent(
  trx: Database,
  deps: ProcessorDeps,
  claimed: EventRow,
  claimToken: string,
): Promise<ProcessOutcome> {
  const event = await lockClaimedEvent(trx, claimed.organization_id, claimed.id, claimToken);
  if (event === undefined) return 'LOST';
  if (event.claim_count > eventClaimsMax) {
    throw new EventFailure(`processing abandoned: the event was claimed ${event.claim_count} times`);
  }
  const now = deps.clock();
  const program = await findProgramRow(trx, event.organization_id, event.program_id);
  const participant = await resolveEventParticipant(
    trx,
    program,
    { participantId: event.participant_id, externalId: event.external_id },
    now,
  );
  const namesRecipient = event.recipient_id !== null || event.recipient_external_id !== null;
  const recipient = namesRecipient
    ? await resolveEventParticipant(
        trx,
        program,
        { participantId: event.recipient_id, externalId: event.recipient_external_id },
        now,
        'recipient',
      )
    : participant;
  for (const step of deps.steps) {
    const result = await step(trx, event, { program, participant, recipient });
    if (result.outcome === 'fail') throw new EventFailure(result.errorMessage);
  }
  const finished = await finishClaimedEvent(trx, event, claimToken, {
    status: 'COMPLETED',
    errorMessage: null,
    participantId: participant.id,
    externalId: participant.external_id,
    recipientId: namesRecipient ? recipient.id : null,
    now,
  });
  if (!finished) throw new Error('event claim lost while the event was locked');
  return 'COMPLETED';
}

function isTransient(error: unknown): boolean {
  return isTransientDatabaseError(error) || isDatabaseUnavailable(error);
}

function describeFailure(logger: Logger, event: EventRow, error: unknown, attempts: number): string {
  if (error instanceof EventFailure || error instanceof DomainError) return error.message;
  if (error instanceof Error && error.name === 'AssertionError') return error.message;
  logger.error({ err: error, eventId: event.id }, 'event processing failed unexpectedly');
  return isTransient(error)
    ? `gave up after ${attempts} attempts on transient database errors; retry the event`
    : 'internal error while processing the event';
}

/** Records the failure on its own: the event's effects were rolled back with its transaction. */
async function failEvent(
  deps: ProcessorDeps,
  event: EventRow,
  claimToken: string,
  errorMessage: string,
): Promise<ProcessOutcome> {
  try {
    const failed = await finishClaimedEvent(deps.db, event, claimToken, {
      status: 'FAILED',
      errorMessage,
      participantId: null,
      externalId: null,
      recipientId: null,
      now: deps.clock(),
    });
    return failed ? 'FAILED' : 'LOST';
  } catch (error) {
    // The database is gone: the lease expires and another attempt picks the event up again.
    deps.logger.warn({ err: error, eventId: event.id }, 'could not record an event failure');
    return 'LOST';
  }
}
