import assert from "node:assert/strict";
import { isModelRejectedByEdits, retryAfterMs } from "./errors.ts";

Deno.test("Retry-After in seconds, milliseconds or as a date", () => {
  assert.equal(retryAfterMs(new Headers({ "retry-after": "2" })), 2000);
  assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "150", "retry-after": "9" })), 150);
  const now = Date.parse("2026-11-24T00:00:00Z");
  assert.equal(
    retryAfterMs(new Headers({ "retry-after": "Tue, 24 Nov 2026 00:00:03 GMT" }), now),
    3000,
  );
  assert.equal(retryAfterMs(new Headers()), undefined);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "soon" })), undefined);
});

Deno.test("only the launch-time 400 counts as the edits endpoint rejecting the model", () => {
  const launch = {
    status: 400,
    param: "model",
    error: { message: "Invalid value: 'gpt-image-2'. Value must be 'dall-e-2'." },
  };
  assert.ok(isModelRejectedByEdits(launch, "gpt-image-2"));
  assert.ok(
    !isModelRejectedByEdits(
      { status: 400, param: "size", error: { message: "bad size" } },
      "gpt-image-2",
    ),
  );
  assert.ok(!isModelRejectedByEdits({ ...launch, status: 500 }, "gpt-image-2"));
});
