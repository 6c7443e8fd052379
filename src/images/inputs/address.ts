/** Classifies IP addresses and host names that a remote input must never reach. */

function ipv4Parts(host: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

function privateIpv4([a, b, c]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
    (a === 192 && b === 0 && c === 0) || (a === 198 && (b === 18 || b === 19));
}

function expandIpv6(host: string): number[] | undefined {
  let text = host.toLowerCase();
  let tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = ipv4Parts(v4[2]);
    if (!p) return undefined;
    tail = [(p[0] << 8) | p[1], (p[2] << 8) | p[3]];
    text = v4[1].endsWith("::") ? v4[1] : v4[1].slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - tail.length - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...Array(fill).fill(0), ...rest, ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The IPv4 address in the low 32 bits of `g`, as four parts. */
function low32([, , , , , , hi, lo]: number[]): number[] {
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
}

/**
 * The IPv4 addresses an IPv6 address carries, by the standard embeddings: IPv4-compatible
 * (::a.b.c.d), IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64's
 * well-known prefix (64:ff9b::/96), 6to4 (2002:AABB:CCDD::/16) and Teredo (2001:0::/32, whose
 * server sits in bits 32-63 and whose client is the low 32 bits inverted). A host reached
 * through any of them is that IPv4 host, so it is judged as one.
 */
function embeddedIpv4(g: number[]): number[][] {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 6)) return [low32(g)];
  if (zeros(0, 5) && g[5] === 0xffff) return [low32(g)];
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return [low32(g)];
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return [low32(g)];
  if (g[0] === 0x2002) return [[g[1] >> 8, g[1] & 0xff, g[2] >> 8, g[2] & 0xff]];
  if (g[0] === 0x2001 && g[1] === 0) {
    const client = low32(g).map((b) => b ^ 0xff);
    return [[g[2] >> 8, g[2] & 0xff, g[3] >> 8, g[3] & 0xff], client];
  }
  return [];
}

function privateIpv6(g: number[]): boolean {
  const embedded = embeddedIpv4(g);
  if (embedded.length) return embedded.some(privateIpv4);
  return (g[0] & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (g[0] & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (g[0] & 0xffc0) === 0xfec0 || // site-local fec0::/10, deprecated but still routed inside sites
    (g[0] & 0xff00) === 0xff00 || // multicast
    // Local-use NAT64 (64:ff9b:1::/48) reaches IPv4 only through a translator inside the network.
    (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1);
}

/** Whether `address` (IPv4 or IPv6, brackets allowed) is loopback, private, link-local or otherwise internal. */
export function isPrivateAddress(address: string): boolean {
  const host = address.replace(/^\[|\]$/g, "");
  const v4 = ipv4Parts(host);
  if (v4) return privateIpv4(v4);
  const v6 = host.includes(":") ? expandIpv6(host) : undefined;
  return v6 ? privateIpv6(v6) : false;
}

/** Whether `host` is an IP literal rather than a name. */
export function isIpLiteral(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return ipv4Parts(bare) !== undefined || (bare.includes(":") && expandIpv6(bare) !== undefined);
}

/** Names that always mean this machine or a cloud metadata service. */
export function isInternalName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost") || name === "metadata" ||
    name === "metadata.google.internal" || name.endsWith(".internal") || name.endsWith(".local");
}
