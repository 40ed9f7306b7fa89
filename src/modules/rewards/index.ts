// Rewards and redemptions: a program's catalog of rewards, redemptions (raw amounts and catalog
// items) that debit a participant's AVAILABLE balance into the program's redemption target, and
// their reversals.
// Invariants: a reward's name is unique in its program; redemption_type and asset_id never change;
// OUT_OF_STOCK exactly when redeemed_count reaches max_total, and redeemed_count (units, net of
// reversals) never exceeds max_total because every catalog redemption locks its reward row first;
// a redemption's reversed amount never exceeds its amount (checked in code under the redemption's row
// lock, and by the database); its status follows the reversed amount; the target is captured on the
// redemption, so a later change of the program's target does not move its reversals; LOT redemptions
// record the lots they consumed, FIFO, and reversals restore them LIFO, never more than was taken.
// Locks: redemption row, then reward row, then the ledger's accounts.
export { redemptionRoutes, redemptionSchemas } from './redemptions.routes.js';
export { findLedgerEntity } from './redemptions.store.js';
export { rewardRoutes, rewardSchemas } from './rewards.routes.js';
