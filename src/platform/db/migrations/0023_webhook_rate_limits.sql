-- A receiver answering 429 pauses its endpoint: no delivery of it is attempted before this time
-- (the answer's Retry-After, or the retry's backoff delay without one).
alter table webhook_endpoints add column rate_limited_until timestamptz;
