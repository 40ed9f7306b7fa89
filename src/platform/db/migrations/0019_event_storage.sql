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
