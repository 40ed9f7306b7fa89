-- A program-scope automation fires one SYSTEM event with no participant: the rules run once for the
-- program. Events from the API still name a participant (participant_id or external_id).

alter table events drop constraint events_check;
alter table events add constraint events_participant_check
  check (event_type = 'SYSTEM' or participant_id is not null or external_id is not null);
