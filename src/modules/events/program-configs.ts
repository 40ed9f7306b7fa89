// The rules and tiers of programs, kept between claims while the program's config_version stays the
// same: every insert, update or delete of a rule, a tier or a tier level renews it in its own
// transaction (migration 0037), so a claim that read the version reads them again only after a
// change. The version is read before the rules and tiers it is kept with, so what is kept is never
// older than the version says (at worst newer, as if the claim had started a moment later).
import type { Database } from '../../platform/db/database.js';
import { programConfigsKeptMax } from '../../platform/limits.js';
import { type ActiveRuleVersion, loadActiveRuleVersions } from '../rules/index.js';
import { loadProgramTiers, type TierWithLevels } from '../tiers/index.js';

export interface ProgramConfig {
  version: string;
  /** ACTIVE rules in evaluation order. */
  rules: ActiveRuleVersion[];
  /** Every tier, archived ones too. */
  tiers: TierWithLevels[];
}

const kept = new Map<string, ProgramConfig>();

/** The program's rules and tiers at `version` (just read from its row, in `db`'s transaction). */
export async function programConfig(
  db: Database,
  organizationId: string,
  programId: string,
  version: string,
): Promise<ProgramConfig> {
  const key = `${organizationId}:${programId}`;
  const held = kept.get(key);
  if (held?.version === version) return held;
  const config = {
    version,
    rules: await loadActiveRuleVersions(db, organizationId, programId),
    tiers: await loadProgramTiers(db, organizationId, programId, false),
  };
  kept.delete(key);
  if (kept.size >= programConfigsKeptMax) {
    const oldest = kept.keys().next();
    if (oldest.done !== true) kept.delete(oldest.value);
  }
  kept.set(key, config);
  return config;
}
