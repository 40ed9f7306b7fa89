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

/**
 * Rules are user code run on every event. Expressions are bounded in length (parse time and memory)
 * and in the work one evaluation may do: loop iterations plus the size of strings and lists that
 * concatenation builds, and a wall-clock ceiling, so a hostile rule cannot stall a worker.
 */
export const celExpressionBytesMax = 4096;
export const celNestingDepthMax = 64;
export const celEvaluationCostMax = 100_000;
export const celEvaluationTimeMaxMs = 20;
/** Compiled expressions kept in memory; a miss only costs a recompile. */
export const celCompiledCacheSizeMax = 10_000;

/** Rules: bounded so that evaluating one program's rules stays far inside the per-event budget. */
export const rulesPerProgramMax = 100;
export const actionsPerRuleMax = 20;
export const budgetsPerRuleMax = 10;
export const rulePayloadBytesMax = 8192;
