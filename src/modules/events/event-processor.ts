// Applies the events of one claim in one transaction, each inside its own savepoint: resolve the
// participant (and recipient) and enroll them, run the plugged steps (rule evaluation and actions),
// then mark every event in one statement. Every effect of an event commits with its COMPLETED status
// or not at all: a business failure rolls back to the event's savepoint and ends it FAILED with a
// readable message; a transient database failure rolls back to the savepoint and hands the event back
// to the queue with exponential backoff, until the claim bound fails it. One commit per claim keeps
// the cost of a durable commit (fsync) off each event.

import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isDatabaseUnavailable, isTransientDatabaseError } from '../../platform/db/transaction.js';
import { DomainError } from '../../platform/errors.js';
import { eventClaimsMax, eventTransientAttemptsMax } from '../../platform/limits.js';
import type { Logger } from '../../platform/logger.js';
import { type ParticipantRow, resolveEventParticipant } from '../participants/index.js';
import { findProgramRow, type ProgramRow } from '../programs/index.js';
import { enqueueEventNotifications } from './event-notifications.js';
import { type EventOutcome, finishClaimedEvents, lockClaimedEvents } from './event-queue.store.js';
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
 * One stage of event processing, run inside the event's transaction (savepoint) after participant
 * resolution: rule evaluation and actions plug in here. Writes go through `trx`. Answering `fail`, or
 * throwing a DomainError, rolls back every effect of the event and ends it FAILED with that message;
 * throwing a transient database error (deadlock, serialization) retries the event later.
 */
export type EventStep = (trx: Database, event: ProcessingEvent, parties: EventParties) => Promise<StepResult>;

/**
 * Applies the plain events of a claim in memory and writes them together (rules-batch.ts). An event
 * it does not take goes through the steps, one at a time, after a flush.
 */
export interface ClaimBatch {
  /** The event's outcome when the batch applied it; undefined when it needs the steps. */
  apply(event: EventRow): Promise<EventOutcome | undefined>;
  /** Writes everything applied so far, inside the claim's transaction. */
  flush(): Promise<void>;
  /** Drops held state after the steps changed the database. */
  forget(): void;
}

export type ClaimBatchFactory = (trx: Database, events: EventRow[]) => Promise<ClaimBatch>;

export interface ProcessorDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  steps: readonly EventStep[];
  /** Applies plain events of a claim together; without it every event goes through the steps. */
  batch?: ClaimBatchFactory | undefined;
  /** First backoff delay after a transient failure; doubles with each claim of the event. */
  backoffBaseMs?: number;
}

/** A business failure: the event ends FAILED with this message. */
class EventFailure extends Error {}

/**
 * Applies events this worker claimed with `claimToken`; answers how many it finished or handed back.
 * Never throws: when the whole transaction fails (the connection was lost), the events stay claimed
 * until their lease expires and are then claimed again.
 */
export async function processClaimedEvents(
  deps: ProcessorDeps,
  claimed: EventRow[],
  claimToken: string,
): Promise<number> {
  let batch = deps.batch;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deps.db.transaction().execute((trx) => applyClaim(trx, deps, batch, claimed, claimToken));
    } catch (error) {
      if (!isTransient(error) && batch !== undefined) {
        // Take the claim again one event at a time, so an event the batch cannot write fails alone.
        deps.logger.warn(
          { err: error, events: claimed.length },
          'batched claim failed; applying its events one by one',
        );
        batch = undefined;
        continue;
      }
      if (!isTransient(error) || attempt >= eventTransientAttemptsMax) {
        deps.logger.error({ err: error, events: claimed.length }, 'applying claimed events failed');
        return 0;
      }
      await sleep(backoffMs(deps, attempt));
    }
  }
}

async function applyClaim(
  trx: Database,
  deps: ProcessorDeps,
  batchFactory: ClaimBatchFactory | undefined,
  claimed: EventRow[],
  claimToken: string,
): Promise<number> {
  const events = await lockClaimedEvents(trx, claimed, claimToken);
  const batch = batchFactory === undefined ? undefined : await batchFactory(trx, events);
  const programs = new Map<string, ProgramRow>();
  const outcomes: EventOutcome[] = [];
  for (const [index, event] of events.entries()) {
    const batched = event.claim_count > eventClaimsMax ? undefined : await batch?.apply(event);
    if (batched !== undefined) {
      outcomes.push(batched);
      continue;
    }
    await batch?.flush();
    const outcome = await applyInSavepoint(trx, deps, event, programs);
    outcomes.push(outcome);
    batch?.forget();
    if (outcome.status === 'PENDING') {
      // A deadlock or serialization failure: commit what is done and hand the rest back, so this
      // transaction stops holding the locks another claim is waiting for.
      outcomes.push(...events.slice(index + 1).map(handedBack));
      break;
    }
  }
  await batch?.flush();
  if (outcomes.length === 0) return 0;
  const now = deps.clock();
  const finished = await finishClaimedEvents(trx, claimToken, outcomes, now);
  assert(finished === outcomes.length, 'locked events changed during their transaction');
  await enqueueEventNotifications(trx, events, outcomes, now);
  return finished;
}

async function applyInSavepoint(
  trx: Database,
  deps: ProcessorDeps,
  event: EventRow,
  programs: Map<string, ProgramRow>,
): Promise<EventOutcome> {
  const outcome = { organizationId: event.organization_id, id: event.id, delayMs: 0 };
  const none = { errorMessage: null, participantId: null, externalId: null, recipientId: null };
  if (event.claim_count > eventClaimsMax) {
    const errorMessage = `processing abandoned after ${event.claim_count} attempts; retry the event`;
    return { ...outcome, ...none, status: 'FAILED', errorMessage };
  }
  await sql`savepoint event`.execute(trx);
  try {
    const parties = await resolveParties(trx, deps, event, programs);
    for (const step of deps.steps) {
      const result = await step(trx, event, parties);
      if (result.outcome === 'fail') throw new EventFailure(result.errorMessage);
    }
    await sql`release savepoint event`.execute(trx);
    const namesRecipient = parties.recipient !== parties.participant;
    return {
      ...outcome,
      ...none,
      status: 'COMPLETED',
      participantId: parties.participant.id,
      externalId: parties.participant.external_id,
      recipientId: namesRecipient ? parties.recipient.id : null,
    };
  } catch (error) {
    // If the connection is gone this throws too, and the whole claim is retried.
    await sql`rollback to savepoint event`.execute(trx);
    if (isTransient(error))
      return { ...outcome, ...none, status: 'PENDING', delayMs: backoffMs(deps, event.claim_count) };
    return {
      ...outcome,
      ...none,
      status: 'FAILED',
      errorMessage: describeFailure(deps.logger, event, error),
    };
  }
}

async function resolveParties(
  trx: Database,
  deps: ProcessorDeps,
  event: EventRow,
  programs: Map<string, ProgramRow>,
): Promise<EventParties> {
  const now = deps.clock();
  const program =
    programs.get(event.program_id) ?? (await findProgramRow(trx, event.organization_id, event.program_id));
  programs.set(program.id, program);
  const participant = await resolveEventParticipant(
    trx,
    program,
    { participantId: event.participant_id, externalId: event.external_id },
    now,
  );
  if (event.recipient_id === null && event.recipient_external_id === null) {
    return { program, participant, recipient: participant };
  }
  const recipient = await resolveEventParticipant(
    trx,
    program,
    { participantId: event.recipient_id, externalId: event.recipient_external_id },
    now,
    'recipient',
  );
  return { program, participant, recipient };
}

/** Back to the queue, due at once; a later event of the same participant waits behind its head. */
function handedBack(event: EventRow): EventOutcome {
  return {
    organizationId: event.organization_id,
    id: event.id,
    status: 'PENDING',
    errorMessage: null,
    participantId: null,
    externalId: null,
    recipientId: null,
    delayMs: 0,
  };
}

function backoffMs(deps: ProcessorDeps, attempt: number): number {
  return (deps.backoffBaseMs ?? 25) * 2 ** Math.min(attempt, 12) * (0.5 + Math.random());
}

function isTransient(error: unknown): boolean {
  return isTransientDatabaseError(error) || isDatabaseUnavailable(error);
}

function describeFailure(logger: Logger, event: EventRow, error: unknown): string {
  if (error instanceof EventFailure || error instanceof DomainError) return error.message;
  if (error instanceof Error && error.name === 'AssertionError') return error.message;
  logger.error({ err: error, eventId: event.id }, 'event processing failed unexpectedly');
  return 'internal error while processing the event';
}
