import assert from "node:assert/strict";
import { join } from "node:path";
import { PRINCIPAL_ID, principalId, principalRoot } from "./principal.ts";

const ISSUER = "https://auth.example.com";

Deno.test("a principal id is the subject made folder-safe plus a hash of issuer and subject", async () => {
  const cases: [string, RegExp][] = [
    ["alice", /^alice-[0-9a-f]{16}$/],
    ["Alice@Example.com", /^alice-example.com-[0-9a-f]{16}$/],
    ["auth0|64f1c2", /^auth0-64f1c2-[0-9a-f]{16}$/],
    ["../../etc/passwd", /^etc-passwd-[0-9a-f]{16}$/],
    ["..", /^user-[0-9a-f]{16}$/],
    ["/", /^user-[0-9a-f]{16}$/],
    ["CON", /^con-[0-9a-f]{16}$/],
    ["日本語", /^user-[0-9a-f]{16}$/],
    ["a".repeat(300), /^a{32}-[0-9a-f]{16}$/],
    [".hidden", /^hidden-[0-9a-f]{16}$/],
  ];
  for (const [subject, expected] of cases) {
    const id = await principalId({ issuer: ISSUER, subject });
    assert.match(id, expected, subject);
    assert.match(id, PRINCIPAL_ID, subject);
    assert.ok(!id.includes(".."), subject);
  }
});

Deno.test("subjects that read alike, differ in case or come from another issuer get different ids", async () => {
  const ids = await Promise.all([
    principalId({ issuer: ISSUER, subject: "alice" }),
    principalId({ issuer: ISSUER, subject: "Alice" }),
    principalId({ issuer: ISSUER, subject: "alice!" }),
    principalId({ issuer: "https://other.example.com", subject: "alice" }),
  ]);
  assert.equal(new Set(ids).size, 4, ids.join(" "));
  assert.equal(await principalId({ issuer: ISSUER, subject: "alice" }), ids[0], "stable");
});

Deno.test("principalRoot joins only a principal id under the base", () => {
  assert.equal(
    principalRoot("/srv/out", "alice-0123456789abcdef"),
    join("/srv/out", "alice-0123456789abcdef"),
  );
  for (
    const bad of ["", "..", "../x", "a/b", "a\\b", "/abs", ".hidden", "A", "a..b", "a".repeat(65)]
  ) {
    assert.throws(
      () => principalRoot("/srv/out", bad),
      /is not a principal id, so it names no folder\.$/,
      bad,
    );
  }
});
