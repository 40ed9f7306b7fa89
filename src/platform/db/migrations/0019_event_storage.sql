-- Fewer index entries and key checks per processed event.

-- State history is read only by owner, newest first: that index becomes the primary key (ids are
-- unique on their own), instead of a primary key on (organization, id) that no query reads.
alter table state_history drop constraint state_history_pkey;
drop index state_history_by_owner;
alter table state_history add primary key (organization_id, owner_type, owner_id, changed_at, id);

-- events -> organizations: the key to the event's program, (organization, program), already proves
-- the organization exists, and organizations are never deleted. The check cost a key-share lock of
-- the organization row per ingested event.
alter table events drop constraint events_organization_id_fkey;

-- The queue's indexes name unfinished events by processed_at, which only the update that finishes an
-- event changes, instead of by status, which the claim changes too. A claim then changes no indexed
-- column (status, claim_token, lease_expires_at and claim_count are in no index or predicate), so
-- PostgreSQL can write it as a heap-only tuple on the same page, without an entry in any of the
-- table's indexes; the free space each page keeps for that is the fillfactor. Expired leases are
-- found through the unfinished events instead of an index of their own.
drop index events_pending;
drop index events_unfinished_by_participant;
drop index events_expired_leases;
create index events_unfinished on events (ingest_seq) where processed_at is null;
create index events_unfinished_by_participant on events (organization_id, ordering_key, ingest_seq)
  where processed_at is null;
alter table events set (fillfactor = 60);
