// `npm ci` warns (EBADENGINE) when an installed package does not support the running Node. Every
// package the lock file installs on this platform must support the first release of every Node
// line that package.json's engines field promises, and the Node running the tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const readJson = (file: string) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));

type Version = [number, number, number];

/** A version with missing or "x" parts as undefined: "20" is [20, undefined, undefined]. */
function parsePartial(text: string): (number | undefined)[] {
  const parts = text.replace(/^v/, '').split('.');
  return [0, 1, 2].map((index) => {
    const part = parts[index];
    return part === undefined || /^[x*]$/i.test(part) ? undefined : Number.parseInt(part, 10);
  });
}

function compare(a: Version, b: Version): number {
  for (let index = 0; index < 3; index += 1) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The npm range operators the lock file uses: ^, ~, >=, >, <=, <, =, x-ranges, || and spaces. */
function satisfiesComparator(version: Version, comparator: string): boolean {
  const match = /^(\^|~|>=|<=|>|<|=)?(.*)$/.exec(comparator);
  const [, operator = '', rest = ''] = match ?? [];
  if (rest === '' || rest === '*' || rest === 'x') return true;
  const [major = 0, minor, patch] = parsePartial(rest);
  const low: Version = [major, minor ?? 0, patch ?? 0];
  const order = compare(version, low);
  switch (operator) {
    case '>=':
      return order >= 0;
    case '>':
      return order > 0;
    case '<=':
      return order <= 0;
    case '<':
      return order < 0;
    case '^': {
      const high: Version = major > 0 || minor === undefined ? [major + 1, 0, 0] : [0, minor + 1, 0];
      return order >= 0 && compare(version, high) < 0;
    }
    case '~': {
      const high: Version = minor === undefined ? [major + 1, 0, 0] : [major, minor + 1, 0];
      return order >= 0 && compare(version, high) < 0;
    }
    default:
      return [major, minor, patch].every((part, index) => part === undefined || part === version[index]);
  }
}

function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .every((comparator) => satisfiesComparator(version, comparator)),
  );
}

/** The first release of each line a range allows: "^20.19.0 || >=24" gives 20.19.0 and 24.0.0. */
function firstReleases(range: string): Version[] {
  return range.split('||').map((alternative) => {
    const [major = 0, minor, patch] = parsePartial(alternative.trim().replace(/^(\^|~|>=|=)\s*/, ''));
    return [major, minor ?? 0, patch ?? 0];
  });
}

function installedHere(entry: { os?: string[]; cpu?: string[] }): boolean {
  const fits = (allowed: string[] | undefined, actual: string) =>
    allowed === undefined ||
    (allowed.some((name) => !name.startsWith('!'))
      ? allowed.includes(actual)
      : !allowed.includes(`!${actual}`));
  return fits(entry.os, process.platform) && fits(entry.cpu, process.arch);
}

describe('supported Node versions', () => {
  it('reads npm ranges as npm does', () => {
    expect(satisfies([20, 19, 0], '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies([22, 12, 0], '^20.12||^22.13||>=24.0')).toBe(false);
    expect(satisfies([20, 19, 0], '>=22')).toBe(false);
    expect(satisfies([20, 19, 0], '18 || 20 || >=22')).toBe(true);
    expect(satisfies([20, 19, 0], '>= 14.0.0 < 21')).toBe(true);
    expect(satisfies([24, 0, 0], '~20.19')).toBe(false);
    expect(firstReleases('^20.19.0 || ^22.13.0 || >=24')).toEqual([
      [20, 19, 0],
      [22, 13, 0],
      [24, 0, 0],
    ]);
  });

  it('every package installed from the lock file supports every Node line package.json promises', () => {
    const promised: string = readJson('package.json').engines.node;
    const running = parsePartial(process.versions.node) as Version;
    const versions = [...firstReleases(promised), running];
    expect(satisfies(running, promised)).toBe(true);
    const unsupported: string[] = [];
    for (const [name, entry] of Object.entries(readJson('package-lock.json').packages)) {
      const { engines, os, cpu } = entry as { engines?: { node?: string }; os?: string[]; cpu?: string[] };
      const range = engines?.node;
      if (name === '' || range === undefined || !installedHere({ os, cpu })) continue;
      for (const version of versions) {
        if (!satisfies(version, range)) unsupported.push(`${name} (${range}) on ${version.join('.')}`);
      }
    }
    expect(unsupported).toEqual([]);
  });
});
