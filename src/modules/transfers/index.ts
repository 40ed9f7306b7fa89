// Transfers: value moving between holders (participants and groups) of one program and asset.
// Invariants: a transfer is one balanced TRANSFER journal entry, all or nothing; it never creates
// value (the source's AVAILABLE pays exactly the total) and never overdraws the source; a recipient
// is never the source; every party and the program are ACTIVE. Locks are taken by the ledger in the
// global account order, so opposite transfers never deadlock. Each emits transfer.completed.
export { transferRoutes, transferSchemas } from './transfers.routes.js';
