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

function privateIpv6(g: number[]): boolean {
  if (g.slice(0, 7).every((x) => x === 0) && (g[7] === 0 || g[7] === 1)) return true; // :: and ::1
  if ((g[0] & 0xfe00) === 0xfc00 || (g[0] & 0xffc0) === 0xfe80 || (g[0] & 0xff00) === 0xff00) {
    return true;
  }
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  if (mapped) return privateIpv4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
  return false;
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
