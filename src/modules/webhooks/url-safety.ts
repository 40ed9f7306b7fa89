// SSRF protection. An endpoint URL must be https and every address its host resolves to must be
// public; the delivery then connects to the checked address, so DNS rebinding between the check and
// the connection cannot redirect it. ACCRUE_WEBHOOK_ALLOW_HOSTS exempts named hosts and CIDRs, which
// may also use plain http (self-hosted receivers inside the user's own network).
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { invalidField } from '../../platform/errors.js';
import { webhookResolveTimeoutMs, webhookUrlLengthMax } from '../../platform/limits.js';

/** Resolves a host name to its addresses (IPv4 and IPv6). Injectable: tests have no DNS. */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

export interface UrlPolicy {
  resolve: Resolver;
  allowHosts: AllowList;
}

export interface AllowList {
  names: Set<string>;
  ranges: BlockList;
}

export function parseAllowList(entries: string[]): AllowList {
  const names = new Set<string>();
  const ranges = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0) names.add(entry.toLowerCase());
    else if (prefix === undefined) ranges.addAddress(address ?? '', family === 4 ? 'ipv4' : 'ipv6');
    else ranges.addSubnet(address ?? '', Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
  }
  return { names, ranges };
}

const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}

/** IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it maps. */
function normalizeAddress(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return { address: mapped, type: 'ipv4' };
  return { address, type: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export function isPublicAddress(address: string): boolean {
  const normalized = normalizeAddress(address);
  return !nonPublic.check(normalized.address, normalized.type);
}

function isAllowedAddress(allow: AllowList, address: string): boolean {
  const normalized = normalizeAddress(address);
  return allow.ranges.check(normalized.address, normalized.type);
}

const reservedName = (host: string) => host === 'localhost' || /\.(local|internal|localhost)$/.test(host);

export interface CheckedUrl {
  url: URL;
  /** The address to connect to: the one that was checked. */
  address: string;
}

/** The URL's syntax and scheme; no DNS. `field` names the URL in the 400. */
function parseEndpointUrl(text: string, allow: AllowList, field: string): { url: URL; host: string } {
  if (text.length > webhookUrlLengthMax) {
    throw invalidField(field, `must be at most ${webhookUrlLengthMax} characters`, 'too_long');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidField(field, 'must be an absolute https URL');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const named = allow.names.has(host);
  const literalAllowed = isIP(host) !== 0 && isAllowedAddress(allow, host);
  const plainAllowed = url.protocol === 'http:' && (named || literalAllowed);
  if (url.protocol !== 'https:' && !plainAllowed) throw invalidField(field, 'must use https', 'not_https');
  if (url.username !== '' || url.password !== '') throw invalidField(field, 'must not carry credentials');
  if (!named && reservedName(host)) throw invalidField(field, `host ${host} is reserved`, 'private_address');
  return { url, host };
}

/** Checks a URL and resolves its host; every address must be public unless the host is allowed. */
export async function checkEndpointUrl(text: string, policy: UrlPolicy, field = 'url'): Promise<CheckedUrl> {
  const { url, host } = parseEndpointUrl(text, policy.allowHosts, field);
  const addresses = isIP(host) !== 0 ? [host] : await resolveWithTimeout(policy.resolve, host, field);
  const first = addresses[0];
  if (first === undefined) throw invalidField(field, `host ${host} does not resolve`, 'unresolvable');
  if (!policy.allowHosts.names.has(host)) {
    const refused = addresses.find(
      (address) => !isPublicAddress(address) && !isAllowedAddress(policy.allowHosts, address),
    );
    if (refused !== undefined) {
      throw invalidField(field, `host ${host} resolves to a non-public address`, 'private_address');
    }
  }
  return { url, address: first };
}

async function resolveWithTimeout(resolve: Resolver, host: string, field: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('resolver timeout')), webhookResolveTimeoutMs);
  });
  try {
    return await Promise.race([resolve(host), timeout]);
  } catch {
    throw invalidField(field, `host ${host} does not resolve`, 'unresolvable');
  } finally {
    clearTimeout(timer);
  }
}
