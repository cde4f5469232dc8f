/**
 * Where a run's callback may point: never the service's own network unless its operator allows it.
 */

import { type LookupAddress, lookup } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { invalid } from "../../errors.js";

/**
 * Where a run's callback may point. The service never calls its own loopback, link-local, private
 * or otherwise special addresses for a user (its delivery state would map the inside of its
 * network), unless its operator allows a host or range (BUCKETS_CALLBACK_ALLOW). Names are
 * resolved when the run is created and again at each connection, so a name that later resolves
 * to such an address (DNS rebinding) is refused as well.
 */
export interface CallbackPolicy {
  /** Host names the operator allows, whatever they resolve to (lower case). */
  hosts: ReadonlySet<string>;
  /** Addresses and ranges the operator allows. */
  addresses: BlockList;
}

/** Ranges no callback reaches unless allowed: not the public internet. */
const SPECIAL: [string, number, "ipv4" | "ipv6"][] = [
  ["0.0.0.0", 8, "ipv4"], // this network
  ["10.0.0.0", 8, "ipv4"], // private
  ["100.64.0.0", 10, "ipv4"], // carrier-grade NAT
  ["127.0.0.0", 8, "ipv4"], // loopback
  ["169.254.0.0", 16, "ipv4"], // link-local (cloud metadata services)
  ["172.16.0.0", 12, "ipv4"], // private
  ["192.0.0.0", 24, "ipv4"], // IETF protocol assignments
  ["192.168.0.0", 16, "ipv4"], // private
  ["198.18.0.0", 15, "ipv4"], // benchmarking
  ["224.0.0.0", 4, "ipv4"], // multicast
  ["240.0.0.0", 4, "ipv4"], // reserved, broadcast
  ["::", 128, "ipv6"], // unspecified
  ["::1", 128, "ipv6"], // loopback
  ["::", 96, "ipv6"], // IPv4-compatible (deprecated)
  ["fc00::", 7, "ipv6"], // unique local
  ["fe80::", 10, "ipv6"], // link-local
  ["ff00::", 8, "ipv6"], // multicast
];

// An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is checked against the IPv4 ranges by BlockList
// itself; a rule for ::ffff:0:0/96 would match every IPv4 address.
const special = new BlockList();
for (const [network, prefix, family] of SPECIAL) special.addSubnet(network, prefix, family);

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/**
 * What BUCKETS_CALLBACK_ALLOW may list: a host name, an address, or a range (CIDR). Answers what
 * is wrong with an entry, or nothing.
 */
export function checkAllowEntry(entry: string): string | undefined {
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (rest.length > 0) return `"${entry}" is not a host, address or CIDR`;
  if (prefix !== undefined) {
    const max = family === 4 ? 32 : 128;
    if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
      return `"${entry}" is not a CIDR (an address, "/", and a prefix length up to ${max})`;
    }
    return undefined;
  }
  if (family !== 0 || HOST_NAME.test(address)) return undefined;
  return `"${entry}" is not a host, address or CIDR`;
}

/** The policy of the entries BUCKETS_CALLBACK_ALLOW lists (checked by checkAllowEntry). */
export function callbackPolicy(allow: readonly string[] = []): CallbackPolicy {
  const hosts = new Set<string>();
  const addresses = new BlockList();
  for (const entry of allow) {
    const [address = "", prefix] = entry.split("/");
    const family = isIP(address);
    if (family === 0) hosts.add(entry.toLowerCase());
    else if (prefix === undefined) addresses.addAddress(address, family === 4 ? "ipv4" : "ipv6");
    else addresses.addSubnet(address, Number(prefix), family === 4 ? "ipv4" : "ipv6");
  }
  return { hosts, addresses };
}

const familyOf = (address: string) => (isIP(address) === 6 ? "ipv6" : "ipv4");

/** Whether the service may connect to this address for a callback. */
export function mayCall(policy: CallbackPolicy, address: string): boolean {
  const family = familyOf(address);
  return !special.check(address, family) || policy.addresses.check(address, family);
}

// The address a name resolves to is never said: it would tell a depositor the service's own view of
// its network's names.
const WHY =
  "a loopback, link-local or private address, which a callback may not reach unless the service's operator allows it (BUCKETS_CALLBACK_ALLOW)";

/** A URL's host as an address or name: without IPv6's brackets, in lower case. */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();

const NONE_ALLOWED = callbackPolicy();

/** The service's policy: none of the special addresses when its operator allowed none. */
export const policyOf = (ctx: { callbackPolicy?: CallbackPolicy | undefined }) =>
  ctx.callbackPolicy ?? NONE_ALLOWED;

/** Refuses (400) a callback URL whose host is, or now resolves to, an address it may not reach. */
export async function requireCallbackTarget(policy: CallbackPolicy, raw: string): Promise<void> {
  const host = hostOf(new URL(raw));
  if (policy.hosts.has(host)) return;
  if (isIP(host)) {
    if (!mayCall(policy, host)) throw invalid(`callback: ${host} is ${WHY}`);
    return;
  }
  // A name that does not resolve now may later: its deliveries are checked as they connect.
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    lookup(host, { all: true }, (error, found) => resolve(error ? [] : found)),
  );
  const refused = addresses.find((a) => !mayCall(policy, a.address));
  if (refused) throw invalid(`callback: ${host} resolves to ${WHY}`);
}

/** Why a delivery was not sent: its target is not one the service may call. */
export class CallbackRefused extends Error {
  override name = "CallbackRefused";
}

/**
 * Where a delivery may connect: an address literal is checked here, a name by the lookup this
 * answers for the connection itself, so the address checked is the one connected to.
 */
export function guardedLookup(policy: CallbackPolicy, url: URL): LookupFunction | undefined {
  const host = hostOf(url);
  if (policy.hosts.has(host)) return undefined;
  if (isIP(host)) {
    if (!mayCall(policy, host)) throw new CallbackRefused(`${host} is ${WHY}`);
    return undefined;
  }
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      const refused = addresses.find((a) => !mayCall(policy, a.address));
      if (refused) {
        return callback(new CallbackRefused(`${hostname} resolves to ${WHY}`), "", 0);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses as [LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}
