// Organizations (tenants) and their API keys. Invariants: a key is stored only as its SHA-256 hash;
// a revoked key never authenticates again; every resource of the API belongs to one organization.
export {
  authenticate,
  type CreatedKey,
  createApiKey,
  defaultOrganizationName,
  ensureStartupKey,
  listApiKeys,
  revokeApiKey,
} from './organizations.service.js';
