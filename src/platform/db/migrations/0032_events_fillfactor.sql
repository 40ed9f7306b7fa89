-- Events fill their pages again. The free space a page kept (fillfactor 60, 0019) was for claims
-- written as heap-only updates on the same page; claims have since moved to event_queue (0026), and
-- the one update left, the finish, changes the participant columns, which are indexed, so it is never
-- heap-only and gains nothing from the room. PARTICIPANTS=2000 npx tsx bench/queries-per-event.ts 20000:
-- 762 → 589 heap bytes per event, WAL 10,223 → 9,039 bytes per event. Pages written before keep
-- their free space until their rows are rewritten.
alter table events set (fillfactor = 100);
