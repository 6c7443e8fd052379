import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { isInternalName, isIpLiteral, isPrivateAddress } from "./address.ts";

Deno.test("internal addresses are recognised in every notation", () => {
  for (
    const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "0.0.0.0",
      "100.64.0.1",
      "[::1]",
      "::",
      "fe80::1",
      "fd00:ec2::254",
      "::ffff:127.0.0.1",
      "[::ffff:7f00:1]",
      "::ffff:a9fe:a9fe",
    ]
  ) {
    assert.equal(isPrivateAddress(a), true, a);
  }
  for (const a of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700::1111", "[2001:db8::1]"]) {
    assert.equal(isPrivateAddress(a), false, a);
  }
  assert.ok(
    isInternalName("localhost") && isInternalName("metadata.google.internal") &&
      isInternalName("x.localhost"),
  );
  assert.ok(!isInternalName("cdn.example.com"));
  assert.ok(isIpLiteral("[::1]") && isIpLiteral("10.0.0.1") && !isIpLiteral("example.com"));
});

Deno.test("property: address checks never throw", () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6(), fc.domain()), (s) => {
    isPrivateAddress(s);
    isIpLiteral(s);
    isInternalName(s);
  }));
  fc.assert(fc.property(fc.ipV4(), (ip) => {
    assert.equal(isPrivateAddress(`::ffff:${ip}`), isPrivateAddress(ip), ip);
  }));
});
