import assert from "node:assert/strict";
import { redact } from "./log.ts";

Deno.test("secrets and authorization headers are redacted", () => {
  const key = "sk-proj-abcdefghijklmnop1234";
  assert.equal(redact(`key ${key} here`, [key]), "key [redacted] here");
  assert.equal(
    redact("Incorrect API key provided: sk-ab***yz12."),
    "Incorrect API key provided: [redacted].",
  );
  assert.match(
    redact('{"Authorization": "Bearer abcdefghijk123"}'),
    /Authorization": "\[redacted\]/,
  );
  assert.equal(redact("authorization: Bearer xyz.abc-123456"), "authorization: [redacted]");
  assert.equal(redact("nothing secret"), "nothing secret");
});
