// The ledger: accounts (owner x asset x bucket), journal entries and postings, lots, program wallets,
// the per-organization hash chain, and the balance endpoints of the API.
// Invariants: every journal entry has two or more postings that sum to zero per asset (checked in
// code and by a deferred constraint trigger); a stored balance equals the sum of its account's
// postings (system accounts: of their sealed postings, folded in by the sealer); only a holder's
// AVAILABLE may go below zero, and only by an explicit overdraft; accounts are locked holders
// first, then program wallets, each by id (an operation between two holders, such as a redemption
// into a participant or its reversal, locks both holders' accounts in one statement); the remaining
// value of a holder's lots in a bucket equals that bucket's balance (an overdrawn AVAILABLE has
// none); journal entries and postings are append-only and sealed into a SHA-256 chain in sequence.
// A reversal restores at most what its redemption consumed from each lot (the caller keeps that
// record).
//
// Later modules (events, rules) call the operations inside their own transaction, with one
// EntryContext per event, so many actions commit or roll back together.
export {
  type Bucket,
  groupOwner,
  type Owner,
  participantOwner,
  programWallet,
  systemOwner,
} from './accounts.js';
export { type HolderBalance, readHolderBalance } from './holder.js';
export { type IdempotencyKey, requestHash, runIdempotent } from './idempotency.js';
export { checkIntegrity, verifyLedger } from './integrity.js';
export { runExpiry, runMaturity, startLedgerJobs } from './jobs.js';
export type { ActionType, EntryContext, EntryDraft, PostingDraft } from './journal-entry.js';
export {
  type HolderCommandRoutes,
  ledgerRoutes,
  ledgerSchemas,
  registerBalanceCommands,
} from './ledger.routes.js';
export { type BalanceHolder, requireParticipantAllowedTo } from './ledger.service.js';
export { readParticipantBalances, readTotalBalances } from './ledger-reads.service.js';
export {
  type CreditInput,
  checkTransactionAmount,
  credit,
  type DebitInput,
  debit,
  type ForfeitInput,
  forfeit,
  hold,
  type LotSelectionInput,
  moveWalletValue,
  type OperationResult,
  type ReversalInput,
  release,
  reverseRedemption,
  transfer,
  voidHold,
} from './operations.js';
export { type CreditShape, isPlainCredit, type PlainCredit, postPlainCredits } from './plain-credits.js';
export { createSystemAccounts, postJournalEntry } from './post-entry.js';
export { sealLedger } from './sealer.js';
export { countJournalEntries } from './sealer.store.js';
