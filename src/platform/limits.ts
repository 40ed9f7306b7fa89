// Every limit of the system, in one place, with its reason. Each is tested at n and n+1.

/** Request bodies: large enough for a full batch of 100 events with 8 KiB of data each. */
export const requestBodyBytesMax = 1024 * 1024;

/** JSON nesting in a request body: far above any real payload, far below what exhausts a stack. */
export const bodyDepthMax = 32;

/**
 * Database transactions: transient failures (serialization, deadlock) are retried this many times
 * in all, with exponential backoff from this base.
 */
export const transactionAttemptsMax = 5;
export const transactionBackoffBaseMs = 5;

/**
 * The embedded PostgreSQL: how long its start (initdb excluded) and its stop may take. A stop past
 * the limit is logged, and the next start adopts or cleans up what is left.
 */
export const embeddedPostgresStartTimeoutMs = 60_000;
export const embeddedPostgresStopTimeoutMs = 30_000;

/** Page sizes: bounded so that one request cannot read an unbounded number of rows. */
export const pageSizeDefault = 50;
export const pageSizeMax = 200;

/** Strings from the Scrip API reference. */
export const nameLengthMax = 255;
export const descriptionLengthMax = 1000;
export const externalIdLengthMax = 255;
export const profileFieldLengthMax = 255;
export const phoneLengthMax = 50;
export const searchLengthMax = 255;

/** Participant state set through the API: bounded so one participant row stays small. */
export const tagsPerParticipantMax = 100;
export const tagLengthMax = 64;
export const attributesPerParticipantMax = 100;
export const attributeKeyLengthMax = 64;
export const attributeValueLengthMax = 1000;

/** Organization names given to the CLI. */
export const organizationNameLengthMax = 100;

/** Request logs: bodies are kept up to this size (enough to debug, small per batch request). */
export const loggedBodyBytesMax = 4096;
/** Request logs are written in batches of at most this many rows, at most this long after the request. */
export const requestLogBatchMax = 500;
export const requestLogFlushMs = 200;
/**
 * In-process caches of what every request reads (API keys, a program's status): an entry is used
 * for at most this long, so a key revoked or a program suspended by another process stops being
 * accepted within it (the process that made the change forgets its entry at once). Bounded in
 * entries so that many keys or programs cannot grow a process without limit.
 */
export const readCacheTtlMs = 5_000;
export const readCacheEntriesMax = 10_000;
/** Rate-limit buckets kept in memory per process, one per organization; the least recently used go first. */
export const rateLimitBucketsMax = 10_000;
/** Page size of the logs listing (spec 6.10). */
export const logPageSizeMax = 100;
/** GET /v1/usage without `from`: this many days up to `to`. */
export const usageDaysDefault = 30;
/**
 * Amounts: at most 30 significant digits of minor units (e.g. 12 integer digits at scale 18, 30 at
 * scale 0). Balances are NUMERIC(38, 0), so 10^8 maximal amounts still fit in one balance.
 */
export const amountDigitsMax = 30;
/** Asset scales (decimal places): 18 covers every currency and crypto unit in use. */
export const scaleMax = 18;

/** Assets: symbol 1-16 alphanumeric characters (PTS, NIGHTS, USD). */
export const symbolLengthMax = 16;

/** Ledger operation descriptions and reference ids, from the Scrip API reference. */
export const ledgerDescriptionLengthMax = 500;
export const referenceIdLengthMax = 255;
export const idempotencyKeyLengthMax = 255;

/** lot_ids in one hold/release/forfeit: bounded so one request locks a bounded number of lots. */
export const lotIdsPerRequestMax = 100;

/** Lots consumed or moved by one operation: bounds the work of one database transaction. */
export const lotsPerOperationMax = 10_000;

/** Background jobs (maturity, expiry, sealing) handle at most this many rows per transaction. */
export const jobBatchSizeMax = 500;

/** Integrity checks read and hash the chain in pages of this many entries, so memory stays flat. */
export const integrityChainPageSize = 5_000;
/** Integrity report: how many of the latest sealed entries it re-hashes (default and maximum). */
export const integrityWindowDefault = 1000;
export const integrityWindowMax = 10_000;
/** Go-style durations (reset_after, delays): 100 years, far beyond any real window, keeps dates valid. */
export const durationMsMax = 100 * 365 * 24 * 3_600_000;

/**
 * Counters: NUMERIC(38, 18) in the database, so 20 integer and 18 fractional digits, exact. Wide
 * enough for money sums in any currency and for fractional rule results, narrow enough to stay exact.
 */
export const counterIntegerDigitsMax = 20;
export const counterFractionDigitsMax = 18;
export const countersPerOwnerMax = 100;
export const counterKeyLengthMax = 64;

/** Program state set through the API or by rules: bounded like a participant's. */
export const tagsPerProgramMax = 100;
export const attributesPerProgramMax = 100;

/** State history pages: the Scrip reference caps this listing lower than the others. */
export const stateHistoryPageSizeDefault = 50;
export const stateHistoryPageSizeMax = 100;
/**
 * Rules are user code run on every event. Expressions are bounded in length (parse time and memory)
 * and in the work one evaluation may do: loop iterations, and every function call charged by the size
 * of what it reads or builds, with a wall-clock ceiling, so a hostile rule cannot stall a worker.
 */
export const celExpressionBytesMax = 4096;
export const celNestingDepthMax = 64;
export const celEvaluationCostMax = 100_000;
export const celEvaluationTimeMaxMs = 20;
/**
 * All the expressions of one event together: how long one event's rules may hold the evaluation
 * thread, and with it the events of every other tenant of the process.
 */
export const celEventEvaluationTimeMaxMs = 50;
/**
 * The hard limit behind those ceilings, which the evaluation itself checks: rules run in a worker
 * thread, and one that is still busy this long after its events' ceilings ran out is terminated and
 * replaced (the rule it was on ends SKIPPED_TIMEOUT). Generous, because an overrun costs a restart.
 */
export const celEvaluationOverrunMs = 250;
/** Heap of the evaluation thread: a rule that builds too much ends that thread, not the server. */
export const celEvaluationThreadHeapMaxMb = 256;
/** Compiled expressions kept in memory; a miss only costs a recompile. */
export const celCompiledCacheSizeMax = 10_000;
/** Programs whose rules and tiers event processing keeps between claims; a miss costs two reads. */
export const programConfigsKeptMax = 1_000;
/**
 * Jobs sent to the evaluation thread in one message when several wait: with at most
 * rulesPerProgramMax rules each, a message names far fewer versions than the thread keeps.
 */
export const evaluationMessageJobsMax = 16;

/** A rule evaluation's stored message (an error's text) is cut at this many characters. */
export const ruleEvaluationMessageLengthMax = 1000;
/** Concurrent creates with an automatic order can pick the same one; each round one wins, the rest retry. */
export const ruleAutoOrderAttemptsMax = 5;
/** How far ahead a budget's cron schedule is searched: one that never fires within it is refused. */
export const cronSearchDaysMax = 366 * 5;
/** A 400's `received` shows at most this many characters of the bad value. */
export const receivedLengthMax = 100;

/** Rules: bounded so that evaluating one program's rules stays far inside the per-event budget. */
export const rulesPerProgramMax = 100;
export const actionsPerRuleMax = 20;
export const budgetsPerRuleMax = 10;
export const rulePayloadBytesMax = 8192;
/**
 * A rule's error statistics (GET /v1/rules/{id}) cover the evaluations of the last day, and count at
 * most this many of them: reading the statistics stays one bounded query however often a rule fails.
 */
export const ruleErrorWindowMs = 24 * 3_600_000;
export const ruleErrorsCountedMax = 10_000;
/** Events per batch ingest call, from the Scrip API reference: one request stays one short transaction. */
export const eventBatchSizeMax = 100;
/** Serialized event_data: rules read it on every evaluation, and 100 of them must fit in one body. */
export const eventDataBytesMax = 64 * 1024;
/**
 * Times an event may be claimed before it is failed: an event that kills its worker every time
 * (a poison message) must not loop forever.
 */
export const eventClaimsMax = 10;
/**
 * Event workers: one claim takes at most this many PENDING events (a claim is applied in a few
 * transactions, so this bounds their size), split over this many concurrent transactions; without
 * a notification, a worker looks for work this often.
 */
export const eventClaimBatchSizeMax = 512;
export const eventClaimConcurrency = 2;
export const eventPollIntervalMs = 1000;
/**
 * A claim slower than this makes its process analyze the queue table (at most once per
 * eventQueueAnalyzeIntervalMs): a burst of events that outruns autovacuum's analyze otherwise leaves
 * the claim planned on statistics of an empty queue, reading the whole backlog for every claim. A
 * claim of 512 on fresh statistics takes 10-13 ms; at 100 ms, claims of 30-60 ms went on scanning
 * the whole queue for their heads (auto_explain in bench/queries-per-event.ts).
 */
export const eventClaimSlowMs = 25;
export const eventQueueAnalyzeIntervalMs = 10_000;
/** Attempts of one event's transaction on transient database errors, before it ends FAILED. */
export const eventTransientAttemptsMax = 6;

/**
 * Tiers: every event evaluates every level's criteria of every tier of its program, so these bound
 * the work added to each event, and the size of a tier definition.
 */
export const tiersPerProgramMax = 20;
export const levelsPerTierMax = 20;
export const criteriaPerLevelMax = 10;
/** Tier and level keys, and counter names in criteria. */
export const tierKeyLengthMax = 64;
export const levelKeyLengthMax = 100;

/**
 * The tier lifecycle runs every minute: its moments are days apart, so a minute of delay is
 * invisible, and a quiet run is one indexed query. One row's catch-up takes at most this many
 * steps: a century of yearly periods with room to spare.
 */
export const tierLifecycleIntervalMs = 60_000;
export const tierLifecycleStepsPerRowMax = 1000;

/** Rows the tier lifecycle job claims per transaction: short transactions, short row locks. */
export const tierLifecycleBatchSize = 100;

/** Assets shown in one holder's balances: an organization has far fewer assets than this. */
export const balancesPerHolderMax = 1000;

/**
 * Groups, from the Scrip API reference: members added in one request (one short transaction), and
 * transfer recipients (one journal entry of at most 101 postings, locking at most 303 accounts).
 */
export const membersPerRequestMax = 100;
export const transferRecipientsMax = 100;
/** A group's ACTIVE memberships a rule sees in participant.groups: bounds what each event reads. */
export const groupsPerParticipantMax = 100;

/** Rewards catalog: strings from the Scrip API reference; metadata bounded so a reward row stays small. */
export const rewardCategoryLengthMax = 100;
export const rewardMetadataBytesMax = 16 * 1024;
/** Units of one catalog redemption and of a reward's limits: far above any real catalog, inside int4. */
export const rewardQuantityMax = 1_000_000;

/** Webhooks. URLs as long as browsers accept; a receiver's answer is kept up to 4 KiB. */
export const webhookUrlLengthMax = 2048;
export const webhookResponseBodyBytesMax = 4096;
/** Delivery attempts of one delivery, then it is FAILED (retry grants as many again). */
export const webhookAttemptsMax = 8;
/** A receiver that has not answered in this long has failed the attempt (consumer_response_timeout). */
export const webhookTimeoutMs = 10_000;
/** DNS answers for an endpoint's host: a slow resolver must not hold a delivery slot. */
export const webhookResolveTimeoutMs = 5_000;
/** Deliveries in flight per process: one slow receiver occupies at most its own share. */
export const webhookConcurrencyMax = 32;
/** Deliveries of one endpoint in flight per process: a slow receiver holds at most these slots. */
export const webhookInFlightPerEndpointMax = 8;
/** Keep-alive connection pools (one per endpoint and checked address) kept open per process. */
export const webhookAgentsMax = 256;
/** An idle kept-alive connection is closed after this, before receivers commonly close it (5 s). */
export const webhookIdleSocketMs = 4_000;
/** The longest wait a receiver's 429 Retry-After can impose on its endpoint. */
export const webhookRetryAfterMaxMs = 3_600_000;
/** Consecutive failed attempts of an endpoint that open its circuit breaker. */
export const webhookBreakerFailuresMax = 5;
/** Outbox rows fanned out (or pruned) per transaction. */
export const webhookFanOutBatchMax = 200;
/** Endpoints per organization: each event is checked against all of them. */
export const webhookEndpointsPerOrganizationMax = 50;
/** How long an organization's subscribed event types are cached before the outbox reads them again. */
export const webhookSubscriptionCacheMs = 5_000;
/** Deliveries listing and endpoints listing pages (the Scrip reference caps these at 100). */
export const webhookPageSizeDefault = 20;
export const webhookPageSizeMax = 100;

/**
 * Metrics: the event queue's depth is counted up to this many PENDING events, so that a scrape stays
 * cheap on a huge backlog; a deeper queue reads as this number (and its oldest age still grows).
 */
export const metricsQueueDepthCountMax = 1_000_000;

/** Progress lines on a terminal: redrawn at most this often, so a fast loop does not flood it. */
export const progressRedrawMs = 100;

/**
 * Automations. Cron expressions are five short fields; filter hints are advisory and few. A fan-out
 * sends this many participants' events per transaction: large enough to amortize the round trips,
 * small enough that a crash repeats little and cancel waits little. The scheduler looks for due
 * runs this often, so a manual trigger or a due time starts within a second or two (the promise is 5 s).
 */
export const cronExpressionLengthMax = 100;
export const timezoneLengthMax = 64;
export const filterHintsMax = 20;
export const automationFanOutChunkMax = 5000;
export const automationSchedulerIntervalMs = 1000;
/** Due automations one scheduler pass starts, so that one pass stays short. */
export const automationStartsPerPassMax = 100;

/**
 * participant_state subscriptions. Each scheduler transaction fires, re-evaluates or resets at most
 * this many rows, so a transaction stays short and a crash repeats little. Every automation's
 * subscriptions are re-evaluated in full this often (besides refresh-subscriptions and state changes),
 * which catches participants enrolled without a state change. A subscription whose event is refused
 * is retried with a doubling delay from the base, and fails after the last retry.
 */
export const subscriptionBatchMax = 2000;
export const subscriptionRefreshIntervalMs = 60 * 60 * 1000;
export const subscriptionRetriesMax = 5;
export const subscriptionRetryDelayMs = 60 * 1000;
