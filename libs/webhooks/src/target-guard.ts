import dns from 'node:dns';
import net from 'node:net';
import { PipelineError } from '@video-pipeline/errors';

/** Resolves a host name to its addresses, as `dns.lookup(host, { all: true })`; passed in so tests decide what a name resolves to. */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/**
 * Addresses a webhook may never reach unless listed in `WEBHOOK_ALLOWED_TARGETS`:
 * everything that is not the public internet, cloud metadata services included.
 */
const REFUSED_RANGES: readonly [address: string, prefix: number, family: 'ipv4' | 'ipv6', what: string][] = [
  ['0.0.0.0', 8, 'ipv4', 'this network'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (carrier-grade NAT; Alibaba metadata)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.88.99.0', 24, 'ipv4', '6to4 relay'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved, broadcast'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64 (reaches IPv4 addresses)'],
  ['64:ff9b:1::', 48, 'ipv6', 'NAT64 (reaches IPv4 addresses)'],
  ['100::', 64, 'ipv6', 'discard'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['2002::', 16, 'ipv6', '6to4 (reaches IPv4 addresses)'],
  ['fc00::', 7, 'ipv6', 'unique-local (AWS metadata fd00:ec2::254)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

function refusedRanges(): net.BlockList {
  const list = new net.BlockList();
  for (const [address, prefix, family] of REFUSED_RANGES) list.addSubnet(address, prefix, family);
  // IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are checked against the IPv4 ranges by BlockList itself.
  return list;
}

/** `WEBHOOK_ALLOWED_TARGETS`: host names, addresses and CIDRs a webhook may reach although they are not public. */
export interface AllowedTargets {
  hosts: ReadonlySet<string>;
  addresses: net.BlockList;
}

/** Parses `localhost,127.0.0.1,10.1.0.0/16,::1`; throws a message that says which entry is wrong. */
export function parseAllowedTargets(entries: readonly string[]): AllowedTargets {
  const hosts = new Set<string>();
  const addresses = new net.BlockList();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
    if (!entry) continue;
    const [address, prefix, ...rest] = entry.split('/');
    const family = net.isIP(address!);
    if (prefix !== undefined || family) {
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      if (!family || rest.length > 0 || !/^\d+$/.test(prefix ?? String(bits)) || bits > (family === 4 ? 32 : 128)) {
        throw new Error(`WEBHOOK_ALLOWED_TARGETS: "${raw}" is neither a host name nor an address or CIDR such as 10.0.0.0/8`);
      }
      addresses.addSubnet(address!, bits, family === 4 ? 'ipv4' : 'ipv6');
    } else if (/^[a-z0-9.-]+$/.test(entry)) {
      hosts.add(entry.replace(/\.$/, ''));
    } else {
      throw new Error(`WEBHOOK_ALLOWED_TARGETS: "${raw}" is neither a host name nor an address or CIDR such as 10.0.0.0/8`);
    }
  }
  return { hosts, addresses };
}

/** Why a target was refused; the message says what would allow it. */
export class TargetRefused extends PipelineError {
  constructor(message: string, details: Record<string, unknown>) {
    super('webhook_target_refused', message, { details });
    this.name = 'TargetRefused';
  }
}

/**
 * Decides whether a webhook may be sent to a URL, before any connection:
 * `https` only, and never to a loopback, private, link-local, unique-local,
 * multicast or metadata address, unless `WEBHOOK_ALLOWED_TARGETS` lists the
 * host or the address (then plain `http` is allowed too). Host names are
 * checked on the addresses they resolve to at each connection (`lookup`),
 * so a name that resolves to a private address, now or later (DNS
 * rebinding), is refused too.
 */
export class TargetGuard {
  private readonly refused = refusedRanges();

  constructor(
    private readonly allowed: AllowedTargets = parseAllowedTargets([]),
    private readonly resolver: Resolver = systemResolver,
  ) {}

  /** What can be known from the URL alone: a parseable http(s) URL, its scheme, and an address written in it. Throws `TargetRefused`. */
  checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new TargetRefused('the webhook URL is not a valid absolute URL', { url: raw });
    }
    const host = hostOf(url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetRefused('a webhook URL must be https', { url: raw });
    if (url.username || url.password) throw new TargetRefused('a webhook URL may not carry credentials; authenticate with the signature', { url: raw });
    const family = net.isIP(host);
    if (family) this.checkAddress(host, family, url);
    else if (url.protocol === 'http:' && !this.allowed.hosts.has(host)) this.refuseHttp(url);
    return url;
  }

  /** Resolves the URL's host and checks every address it resolves to (what a subscription is checked with). Throws `TargetRefused`; resolution errors as they come. */
  async check(raw: string): Promise<{ url: URL; addresses: string[] }> {
    const url = this.checkUrl(raw);
    const host = hostOf(url);
    if (net.isIP(host)) return { url, addresses: [host] };
    return { url, addresses: (await this.resolve(host, url)).map((entry) => entry.address) };
  }

  /**
   * A `lookup` for `http.request`/`net.connect`: resolves through the
   * resolver and refuses the connection (with `TargetRefused`) if any
   * address the name resolves to is refused. Called on every connection.
   */
  lookupFor(url: URL): net.LookupFunction {
    return (hostname, options, callback) => {
      const wantsAll = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
      this.resolve(hostname.toLowerCase(), url).then(
        (entries) => {
          if (wantsAll) (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, entries);
          else callback(null, entries[0]!.address, entries[0]!.family);
        },
        (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
      );
    };
  }

  private async resolve(hostname: string, url: URL): Promise<{ address: string; family: number }[]> {
    const entries = await this.resolver(hostname);
    if (entries.length === 0) throw new Error(`${hostname} resolves to no address`);
    if (this.allowed.hosts.has(hostname)) return entries;
    const verdicts = entries.map((entry) => this.checkAddress(entry.address, entry.family, url, hostname));
    if (url.protocol === 'http:' && verdicts.some((verdict) => verdict !== 'allowed')) this.refuseHttp(url);
    return entries;
  }

  /** `allowed`: listed in WEBHOOK_ALLOWED_TARGETS; `public`: fine over https. Throws `TargetRefused` otherwise. */
  private checkAddress(address: string, family: number, url: URL, resolvedFrom?: string): 'allowed' | 'public' {
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (this.allowed.addresses.check(address, type) || this.allowed.hosts.has(hostOf(url))) return 'allowed';
    if (this.refused.check(address, type)) {
      const via = resolvedFrom ? `${resolvedFrom} resolves to ${address}, which` : `${address}`;
      throw new TargetRefused(`${via} is not a public address (${describe(address, type)}); webhooks are only sent to the public internet unless WEBHOOK_ALLOWED_TARGETS lists it`, {
        url: url.href,
        address,
      });
    }
    if (url.protocol === 'http:' && !resolvedFrom) this.refuseHttp(url);
    return 'public';
  }

  private refuseHttp(url: URL): never {
    throw new TargetRefused('a webhook URL must be https (plain http only to targets WEBHOOK_ALLOWED_TARGETS lists)', { url: url.href });
  }
}

/** The URL's host without IPv6 brackets or a trailing dot, lowercase. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

function describe(address: string, type: 'ipv4' | 'ipv6'): string {
  for (const [base, prefix, family, what] of REFUSED_RANGES) {
    if (family !== type && !(type === 'ipv6' && family === 'ipv4')) continue;
    const one = new net.BlockList();
    one.addSubnet(base, prefix, family);
    if (one.check(address, type)) return what;
  }
  return 'reserved';
}
