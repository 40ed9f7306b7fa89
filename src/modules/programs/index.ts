// Programs: the container of rules, asset links and enrollments. Invariants: a program belongs to
// one organization; status ARCHIVED if and only if deleted_at is set (checked by the database too);
// archiving is reversible.
export { programRoutes, programSchemas } from './programs.routes.js';
export { findProgramRow, getProgram } from './programs.service.js';
export type { ProgramRow } from './programs.store.js';
