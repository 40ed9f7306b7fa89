// Waiting for events to be processed without loading the database being measured. A count over the
// events table reads every event row: about 20 ms at 34,000 events on a quiet machine, so about
// 100 ms at the full run's 200,000, and polled every 250 ms it took about a third of a core from the
// processing it measured. The queue holds only the events not finished yet, in narrow rows, so
// counting it costs little and less as the backlog drains; the events table is read once at the end.
import type pg from 'pg';

const pollMs = 1_000;

/** Events still queued: accepted and neither COMPLETED nor FAILED. */
async function queuedEvents(db: pg.Pool): Promise<number> {
  const { rows } = await db.query('select count(*)::int as queued from event_queue');
  return rows[0].queued;
}

/** No event queued any more: cheaper than a count, which the in-process measurements poll often. */
export async function queueIsEmpty(db: pg.Pool): Promise<boolean> {
  const { rows } = await db.query('select not exists (select 1 from event_queue) as empty');
  return rows[0].empty;
}

/**
 * Polls the queue until it is empty, then asks `finished` (which may read the events table) whether
 * the events waited for are all there; waits on if not (events still being accepted).
 */
export async function untilProcessed<T>(
  db: pg.Pool,
  finished: () => Promise<T | undefined>,
  onQueued: (queued: number) => void = () => {},
): Promise<T> {
  for (;;) {
    const queued = await queuedEvents(db);
    onQueued(queued);
    if (queued === 0) {
      const result = await finished();
      if (result !== undefined) return result;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
