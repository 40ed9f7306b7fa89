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

/** Events per batch ingest call, from the Scrip API reference: one request stays one short transaction. */
export const eventBatchSizeMax = 100;
/** idempotency_key length, from the Scrip API reference. */
export const idempotencyKeyLengthMax = 255;
/** Serialized event_data: rules read it on every evaluation, and 100 of them must fit in one body. */
export const eventDataBytesMax = 64 * 1024;
/**
 * Times an event may be claimed before it is failed: an event that kills its worker every time
 * (a poison message) must not loop forever.
 */
export const eventClaimsMax = 10;
/** Attempts of one event's transaction on transient database errors, before it ends FAILED. */
export const eventTransientAttemptsMax = 6;
