// Groups: shared wallets of participants (a household, a team), owned by the organization and
// spanning its programs. A group is a ledger holder (owner type GROUP) with program-scoped balance
// operations, counters and state history of its own.
// Invariants:
// - A group has at least one ACTIVE ADMIN from creation on; the last one cannot be removed.
// - A participant is at most once in a group; leaving keeps the row (LEFT) and re-adding reuses it.
// - Archiving is permanent: an ARCHIVED group stays readable and refuses every change, balance
//   operation and transfer. Every change locks the group's row, balance operations share-lock it.
export { groupRoutes, groupSchemas } from './groups.routes.js';
export { listActiveGroupIdsOf, lockGroupStatus } from './groups.service.js';
