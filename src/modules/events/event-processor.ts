// Applies the events of one claim in one transaction, through the one engine (apply-event.ts): the
// claim's configuration and participants are read once, each event is evaluated against the state
// held in memory, and the effects of completed events are written together, one statement per
// table. Every effect of an event commits with its COMPLETED status or not at all: a business
// failure rolls back the event alone and ends it FAILED with a readable message; a transient
// database failure hands the event back to the queue with exponential backoff, until the claim bound
// fails it. One commit per claim keeps the cost of a durable commit (fsync) off each event.

import { setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { eventTransientAttemptsMax } from '../../platform/limits.js';
import type { Logger } from '../../platform/logger.js';
import { applyEvent, type EventResult, type EventStep, isTransientFailure } from './apply-event.js';
import { flushPendingWrites, openClaimState } from './claim-state.js';
import { enqueueEventNotifications } from './event-notifications.js';
import { type EventOutcome, finishClaimedEvents, lockClaimedEvents } from './event-queue.store.js';
import type { ClaimedEvent } from './events.store.js';

export interface ProcessorDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Hooks run for every event after its parties are resolved (tests); production has none. */
  steps?: readonly EventStep[] | undefined;
  /** First backoff delay after a transient failure; doubles with each claim of the event. */
  backoffBaseMs?: number;
}

/** An event this claim finished, for the metrics: its status and the time from receipt to now. */
export interface FinishedEvent {
  status: 'COMPLETED' | 'FAILED';
  lagSeconds: number;
}

/**
 * Applies events this worker claimed with `claimToken`; answers the events it finished (those handed
 * back to the queue are not among them). Never throws: when the whole transaction fails (the
 * connection was lost), the events stay claimed until their lease expires and are then claimed again.
 */
export async function processClaimedEvents(
  deps: ProcessorDeps,
  claimed: ClaimedEvent[],
  claimToken: string,
): Promise<FinishedEvent[]> {
  let eager = false;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deps.db.transaction().execute((trx) => applyClaim(trx, deps, eager, claimed, claimToken));
    } catch (error) {
      if (!isTransientFailure(error) && !eager) {
        // Take the claim again with a savepoint around each whole event, so an event whose writes
        // the database refuses fails alone.
        deps.logger.warn({ err: error, events: claimed.length }, 'claim failed; applying it event by event');
        eager = true;
        continue;
      }
      if (!isTransientFailure(error) || attempt >= eventTransientAttemptsMax) {
        deps.logger.error({ err: error, events: claimed.length }, 'applying claimed events failed');
        return [];
      }
      await sleep(backoffMs(deps, attempt));
    }
  }
}

async function applyClaim(
  trx: Database,
  deps: ProcessorDeps,
  eager: boolean,
  claimed: ClaimedEvent[],
  claimToken: string,
): Promise<FinishedEvent[]> {
  const events = await lockClaimedEvents(trx, claimed, claimToken);
  const claim = openClaimState(trx, deps.clock, events);
  const engine = { claim, logger: deps.logger, steps: deps.steps ?? [], eager };
  const outcomes: EventOutcome[] = [];
  for (const [index, event] of events.entries()) {
    const outcome = outcomeOf(deps, event, await applyEvent(engine, event));
    outcomes.push(outcome);
    if (outcome.status === 'PENDING') {
      // A deadlock or serialization failure: commit what is done and hand the rest back, so this
      // transaction stops holding the locks another claim is waiting for.
      outcomes.push(...events.slice(index + 1).map((later) => handedBack(later, 0)));
      break;
    }
  }
  await flushPendingWrites(claim);
  if (outcomes.length === 0) return [];
  const now = deps.clock();
  const finished = await finishClaimedEvents(trx, claimToken, outcomes, now);
  assert(finished === outcomes.length, 'locked events changed during their transaction');
  await enqueueEventNotifications(trx, events, outcomes, now);
  return finishedEvents(events, outcomes, now);
}

function finishedEvents(events: ClaimedEvent[], outcomes: EventOutcome[], now: Date): FinishedEvent[] {
  const receivedAt = new Map(events.map((event) => [event.id, event.received_at.getTime()]));
  return outcomes.flatMap(({ id, status }) => {
    const received = receivedAt.get(id);
    if (status === 'PENDING' || received === undefined) return [];
    return [{ status, lagSeconds: (now.getTime() - received) / 1000 }];
  });
}

function outcomeOf(deps: ProcessorDeps, event: ClaimedEvent, result: EventResult): EventOutcome {
  switch (result.kind) {
    case 'done':
      return resolvedOnly(event, result.outcome);
    case 'failed':
      return { ...handedBack(event, 0), status: 'FAILED', errorMessage: result.errorMessage };
    case 'retry':
      return handedBack(
        event,
        result.delayMs === 'backoff' ? backoffMs(deps, event.claim_count) : result.delayMs,
      );
  }
}

/** The outcome with only the parties the event did not name itself: its outcome row stores those. */
function resolvedOnly(event: ClaimedEvent, outcome: EventOutcome): EventOutcome {
  return {
    ...outcome,
    participantId: event.participant_id === null ? outcome.participantId : null,
    externalId: event.external_id === null ? outcome.externalId : null,
    recipientId: event.recipient_id === null ? outcome.recipientId : null,
  };
}

/** Back to the queue after `delayMs`; a later event of the same participant waits behind its head. */
function handedBack(event: ClaimedEvent, delayMs: number): EventOutcome {
  return {
    organizationId: event.organization_id,
    id: event.id,
    status: 'PENDING',
    errorMessage: null,
    participantId: null,
    externalId: null,
    recipientId: null,
    evaluation: null,
    delayMs,
  };
}

function backoffMs(deps: ProcessorDeps, attempt: number): number {
  return (deps.backoffBaseMs ?? 25) * 2 ** Math.min(attempt, 12) * (0.5 + Math.random());
}
