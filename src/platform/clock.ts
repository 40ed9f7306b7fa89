// One clock. Timestamps are taken here, in whole milliseconds, so what is stored equals what a
// JavaScript Date holds (cursors and comparisons round-trip exactly).
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

export function toIso(value: Date): string {
  return value.toISOString();
}

export function toIsoOrNull(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}
