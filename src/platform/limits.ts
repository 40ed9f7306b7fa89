// Every limit of the system, in one place, with its reason. Each is tested at n and n+1.

/** Request bodies: large enough for a full batch of 100 events with 8 KiB of data each. */
export const requestBodyBytesMax = 1024 * 1024;

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
 * Tiers: every event evaluates every level's criteria of every tier of its program, so these bound
 * the work added to each event, and the size of a tier definition.
 */
export const tiersPerProgramMax = 20;
export const levelsPerTierMax = 20;
export const criteriaPerLevelMax = 10;
/** Tier and level keys, and counter names in criteria. */
export const tierKeyLengthMax = 64;
export const levelKeyLengthMax = 100;

/** Rows the tier lifecycle job claims per transaction: short transactions, short row locks. */
export const tierLifecycleBatchSize = 100;
