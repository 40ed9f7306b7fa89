// Rewards and redemptions: the program's catalog of rewards, redemptions (raw amounts and catalog
// items) that debit a participant's AVAILABLE balance into the program's redemption target, and
// their reversals.
export { findLedgerEntity } from './redemptions.store.js';
export { rewardRoutes, rewardSchemas } from './rewards.routes.js';
