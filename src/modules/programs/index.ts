// Programs: the container of rules, asset links and enrollments. Invariants: a program belongs to
// one organization; status ARCHIVED if and only if deleted_at is set (checked by the database too);
// archiving is reversible; the redemption target is SYSTEM_REDEMPTION, SYSTEM_BREAKAGE, or
// LEDGER_ENTITY with the id and kind of the holder it names (both or neither, checked by the database).
export { type ProgramRouteDeps, programRoutes, programSchemas } from './programs.routes.js';
export { RedemptionTargetType } from './programs.schemas.js';
export {
  findProgramRow,
  findProgramRowAndConfigVersion,
  getProgram,
  type LedgerEntityFinder,
  type ProgramStatus,
  readProgramStatus,
} from './programs.service.js';
export type { LedgerEntityType, ProgramRow } from './programs.store.js';
