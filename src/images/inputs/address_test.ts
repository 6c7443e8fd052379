import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { isInternalName, isIpLiteral, isPrivateAddress } from "./address.ts";

/** [address, why it is internal]. */
const INTERNAL: [string, string][] = [
  ["127.0.0.1", "IPv4 loopback"],
  ["10.1.2.3", "RFC 1918"],
  ["172.16.0.1", "RFC 1918"],
  ["192.168.1.1", "RFC 1918"],
  ["169.254.169.254", "IPv4 link-local (cloud metadata)"],
  ["0.0.0.0", "this host"],
  ["100.64.0.1", "carrier-grade NAT"],
  ["[::1]", "IPv6 loopback"],
  ["::", "unspecified"],
  ["fe80::1", "IPv6 link-local"],
  ["fd00:ec2::254", "unique local (AWS metadata over IPv6)"],
  ["[fec0::1]", "deprecated site-local fec0::/10"],
  ["feff:ffff::1", "the top of fec0::/10"],
  ["::ffff:127.0.0.1", "IPv4-mapped, dotted"],
  ["[::ffff:7f00:1]", "IPv4-mapped, hex"],
  ["::ffff:a9fe:a9fe", "IPv4-mapped metadata address"],
  ["[::7f00:1]", "IPv4-compatible loopback, hex"],
  ["::127.0.0.1", "IPv4-compatible loopback, dotted"],
  ["::a9fe:a9fe", "IPv4-compatible metadata address"],
  ["::10.0.0.1", "IPv4-compatible RFC 1918"],
  ["[::ffff:0:7f00:1]", "IPv4-translated loopback"],
  ["::ffff:0:169.254.169.254", "IPv4-translated metadata address, dotted"],
  ["[64:ff9b::a9fe:a9fe]", "NAT64 well-known prefix, metadata address"],
  ["64:ff9b::127.0.0.1", "NAT64 well-known prefix, loopback dotted"],
  ["64:ff9b::c0a8:101", "NAT64 well-known prefix, RFC 1918"],
  ["64:ff9b:1::808:808", "local-use NAT64 64:ff9b:1::/48, whatever it embeds"],
  ["64:ff9b:1:ffff::1", "local-use NAT64, another prefix length"],
  ["[2002:7f00:1::1]", "6to4 of loopback"],
  ["2002:a9fe:a9fe::", "6to4 of the metadata address"],
  ["2002:c0a8:101:1::5", "6to4 of RFC 1918"],
  ["2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, client 127.0.0.1 (inverted low 32 bits)"],
  ["2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo, client 10.0.0.1"],
  ["2001:0:4136:e378:8000:63bf:5601:5601", "Teredo, client 169.254.169.254"],
  ["2001:0:a00:1:0:0:1234:5678", "Teredo, server 10.0.0.1"],
  ["ff02::1", "multicast"],
];

/** [address, why it is public]. */
const PUBLIC: [string, string][] = [
  ["8.8.8.8", "public IPv4"],
  ["1.1.1.1", "public IPv4"],
  ["172.32.0.1", "just past RFC 1918"],
  ["2606:4700::1111", "public IPv6"],
  ["[2001:db8::1]", "documentation prefix, not Teredo"],
  ["::ffff:808:808", "IPv4-mapped public"],
  ["::808:808", "IPv4-compatible public"],
  ["64:ff9b::808:808", "NAT64 of a public address"],
  ["2002:808:808::1", "6to4 of a public address"],
  ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo, server and client 8.8.8.8 public"],
  ["fe00::1", "below fe80::/10 and fec0::/10"],
];

Deno.test("internal addresses are recognised in every notation, IPv4 embedded in IPv6 too", () => {
  for (const [address, why] of INTERNAL) {
    assert.equal(isPrivateAddress(address), true, `${address}: ${why}`);
  }
  for (const [address, why] of PUBLIC) {
    assert.equal(isPrivateAddress(address), false, `${address}: ${why}`);
  }
});

Deno.test("internal names and IP literals are told apart", () => {
  assert.ok(
    isInternalName("localhost") && isInternalName("metadata.google.internal") &&
      isInternalName("x.localhost"),
  );
  assert.ok(!isInternalName("cdn.example.com"));
  assert.ok(isIpLiteral("[::1]") && isIpLiteral("10.0.0.1") && !isIpLiteral("example.com"));
});

Deno.test("the URL parser's form of each embedded address is still internal", () => {
  for (const [address] of INTERNAL.filter(([a]) => a.includes(":"))) {
    const bare = address.replace(/^\[|\]$/g, "");
    const hostname = new URL(`https://[${bare}]/`).hostname;
    assert.equal(isPrivateAddress(hostname), true, `${address} parsed as ${hostname}`);
  }
});

function ipv4Groups(ip: string): [string, string] {
  const [a, b, c, d] = ip.split(".").map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

Deno.test("property: every IPv4 embedding of an address is judged as that address", () => {
  fc.assert(fc.property(fc.ipV4(), (ip) => {
    const [hi, lo] = ipv4Groups(ip);
    const inverted = ip.split(".").map((p) => 255 - Number(p)).join(".");
    const [ihi, ilo] = ipv4Groups(inverted);
    const expected = isPrivateAddress(ip);
    for (
      const form of [
        `::ffff:${ip}`,
        `::ffff:${hi}:${lo}`,
        `::${ip}`,
        `::${hi}:${lo}`,
        `::ffff:0:${ip}`,
        `64:ff9b::${ip}`,
        `64:ff9b::${hi}:${lo}`,
        `2002:${hi}:${lo}::1`,
        `2001:0:808:808::${ihi}:${ilo}`,
      ]
    ) {
      assert.equal(isPrivateAddress(form), expected, `${form} for ${ip}`);
    }
  }));
});

Deno.test("property: address checks never throw", () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6(), fc.domain()), (s) => {
    isPrivateAddress(s);
    isIpLiteral(s);
    isInternalName(s);
  }));
});
