-- Rate-limit buckets live in each server process's memory: taking a token no longer commits a row.
drop table rate_limit_buckets;
