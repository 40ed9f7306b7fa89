-- The claim without JIT compilation. The claim function turns sorts off (0036), which leaves its
-- plan, whose last step sorts at most a claim's rows, costed above 10,000,000,000; on a PostgreSQL
-- with JIT on (the default of a standalone server; the embedded one runs with jit=off), that cost
-- made every claim compile its query first: 158 ms for a claim of 5 from a queue of 240 on
-- PostgreSQL 15, against 0.4 ms with jit off, and a test's 240 events took 25 s to claim against 0.2 s.
alter function claim_pending_events(uuid, integer, integer) set jit = off;
