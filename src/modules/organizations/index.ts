// Organizations (tenants) and their API keys. Invariants: a key is stored only as its SHA-256 hash;
// a revoked key never authenticates again; every resource of the API belongs to one organization.
export {
  authenticate,
  createApiKey,
  ensureStartupKey,
  listApiKeys,
  readOrganizationNames,
  revokeApiKey,
} from './organizations.service.js';
