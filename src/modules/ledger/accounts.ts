// Account identities: who owns an account (participant, group, program wallet, or one of the system
// accounts) and which bucket it is. Pure: no I/O.
export type Bucket = 'AVAILABLE' | 'HELD' | 'DEFERRED';
export type OwnerType = 'PARTICIPANT' | 'GROUP' | 'PROGRAM' | 'SYSTEM';
export type SystemAccount = 'SYSTEM_ISSUANCE' | 'SYSTEM_BREAKAGE' | 'SYSTEM_REDEMPTION';

export interface Owner {
  type: OwnerType;
  id: string;
}

export const buckets: readonly Bucket[] = ['AVAILABLE', 'HELD', 'DEFERRED'];

/** System accounts are shared by the whole organization; they are named by fixed owner ids. */
export const systemOwnerIds: Record<SystemAccount, string> = {
  SYSTEM_ISSUANCE: '00000000-0000-7000-8000-000000000001',
  SYSTEM_BREAKAGE: '00000000-0000-7000-8000-000000000002',
  SYSTEM_REDEMPTION: '00000000-0000-7000-8000-000000000003',
};

export function systemOwner(name: SystemAccount): Owner {
  return { type: 'SYSTEM', id: systemOwnerIds[name] };
}

export function systemAccountName(ownerId: string): SystemAccount | undefined {
  const entry = Object.entries(systemOwnerIds).find(([, id]) => id === ownerId);
  return entry?.[0] as SystemAccount | undefined;
}

export function participantOwner(id: string): Owner {
  return { type: 'PARTICIPANT', id };
}

export function groupOwner(id: string): Owner {
  return { type: 'GROUP', id };
}

export function programWallet(programId: string): Owner {
  return { type: 'PROGRAM', id: programId };
}

/**
 * Balances with a floor: everything but the system accounts. A holder's AVAILABLE may go below zero
 * only through an explicit overdraft (allow_negative).
 */
export function hasFloor(owner: Owner): boolean {
  return owner.type !== 'SYSTEM';
}

/** The fixed lock order: holders before program wallets, then by account id (no deadlocks). */
export function lockRank(ownerType: OwnerType): number {
  return ownerType === 'PROGRAM' ? 1 : 0;
}
