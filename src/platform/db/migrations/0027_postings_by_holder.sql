-- Postings by owner answer a holder's activity and statement: a participant's, a group's or a
-- program wallet's. No query reads a SYSTEM account's postings by owner (the sealer and ledger verify
-- read them by entry, the reports by organization), yet they are half of all postings: the issuance
-- side of every credit, the redemption side of every debit. The index leaves them out, about 70
-- bytes of index per credit. The reads spell out owner_type <> 'SYSTEM' so that the planner uses it.
drop index postings_by_owner;
create index postings_by_owner on postings (organization_id, owner_id, asset_id, created_at, id)
  where owner_type <> 'SYSTEM';
