// Reporting: reports that read across modules (events and the ledger), computed in real time from
// their tables; it writes nothing. The ledger's own reports (summary, liability, rollforward,
// expiration schedule, integrity) live in the ledger module.
export { reportingRoutes, reportingSchemas } from './reporting.routes.js';
