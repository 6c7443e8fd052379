import assert from "node:assert/strict";
import {
  boundErrorBodies,
  describeApiError,
  ERROR_BODY_MAX_BYTES,
  ERROR_TEXT_MAX,
  isModelRejectedByEdits,
  quotableText,
  retryAfterMs,
} from "./errors.ts";

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

Deno.test("the API's words are quoted as short plain text, secrets redacted before the cut", () => {
  const key = "gw-live-4f8a9c2e7b1d3a6f5e0c9b8a7d6e5f4c";
  const cases: { name: string; text: string; expected: string | RegExp }[] = [
    { name: "plain text stays", text: "Invalid size '1x1'.", expected: "Invalid size '1x1'." },
    {
      name: "an HTML page becomes its words",
      text: "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>h1{color:red}" +
        "</style><script>var x = '<b>';</script></head><body><!-- upstream --><h1>Bad&nbsp;" +
        "Gateway</h1><p>The upstream &amp; its &#x27;proxy&#39; failed.</p></body></html>",
      expected: "502 Bad Gateway Bad Gateway The upstream & its 'proxy' failed.",
    },
    {
      name: "a tag cut off at the end goes",
      text: "Gateway <b>down</b> <div cla",
      expected: "Gateway down",
    },
    { name: "control characters fold", text: "a\u0000\u001b[31mb\r\n\tc", expected: "a [31mb c" },
    {
      name: "a long text is cut to ERROR_TEXT_MAX characters",
      text: "x".repeat(ERROR_TEXT_MAX * 10),
      expected: new RegExp(`^x{${ERROR_TEXT_MAX - 1}}…$`),
    },
    {
      name: "a key at the cut is redacted whole first",
      text: `${"y".repeat(ERROR_TEXT_MAX - 20)} key ${key}`,
      expected: /^y+ key \[redacted\]$/,
    },
  ];
  for (const { name, text, expected } of cases) {
    const quoted = quotableText(text, [key]);
    if (typeof expected === "string") assert.equal(quoted, expected, name);
    else assert.match(quoted, expected, name);
    assert.ok(quoted.length <= ERROR_TEXT_MAX, name);
  }
});

Deno.test("an HTTP error keeps its status and request id; a local file error is not the API's", () => {
  const context = { timeoutMs: 1000, attempts: 3 };
  const headers = new Headers({ "x-request-id": "req_0123abcd" });
  const html = `<html><body><h1>502 Bad Gateway</h1>${
    "<p>filler</p>".repeat(10_000)
  }</body></html>`;
  const gateway = describeApiError({ status: 502, message: `502 ${html}`, headers }, context);
  assert.match(
    gateway,
    /^OpenAI server error \(502\) after 3 attempt\(s\): 502 Bad Gateway filler filler .*…/,
  );
  assert.match(gateway, / \(request id req_0123abcd\)$/);
  assert.ok(gateway.length < 600, `${gateway.length} characters`);
  const odd = describeApiError(
    { status: 500, message: "500 boom", headers: new Headers({ "x-request-id": "<script>" }) },
    context,
  );
  assert.ok(!odd.includes("request id"), "an implausible id is left out");
  for (
    const error of [
      new Deno.errors.AlreadyExists("File exists (os error 17)"),
      new Deno.errors.PermissionDenied("denied"),
    ]
  ) {
    const text = describeApiError(error, context);
    assert.match(text, /^A local file operation failed during the call, not the OpenAI API: /);
    assert.ok(!/OpenAI (call failed|server error|error)/.test(text), text);
  }
});

Deno.test("an error answer's body is read only up to ERROR_BODY_MAX_BYTES, then cancelled", async () => {
  let pulled = 0;
  let cancelled = false;
  const huge = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 1 << 16;
      if (pulled > 50 << 20) return controller.close();
      controller.enqueue(new TextEncoder().encode("<p>bad gateway</p>".padEnd(1 << 16, " ")));
    },
    cancel() {
      cancelled = true;
    },
  });
  const fetcher = boundErrorBodies(() =>
    Promise.resolve(
      new Response(huge, {
        status: 502,
        headers: { "content-length": String(50 << 20), "x-request-id": "req_1" },
      }),
    )
  );
  const response = await fetcher("http://gateway.invalid/v1/images/generations");
  const body = await response.text();
  assert.equal(response.status, 502);
  assert.equal(response.headers.get("x-request-id"), "req_1");
  assert.equal(response.headers.get("content-length"), null);
  assert.equal(body.length, ERROR_BODY_MAX_BYTES);
  assert.ok(cancelled, "the rest was cancelled");
  assert.ok(pulled <= ERROR_BODY_MAX_BYTES + (3 << 16), `pulled ${pulled} bytes`);
  const ok = new Response("fine");
  assert.equal(await boundErrorBodies(() => Promise.resolve(ok))("http://x.invalid"), ok);
});
