import assert from "node:assert/strict";
import { loadConfig } from "../config.ts";
import { CancelledError, ToolError } from "../errors.ts";
import { Logger } from "../log.ts";
import { Api } from "./api.ts";

const KEY = "sk-test-api-retries-0123456789";

function api(env: Record<string, string> = {}): Api {
  const all: Record<string, string> = {
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
    GPT_IMAGE_2_MAX_RETRIES: "2",
    GPT_IMAGE_2_RETRY_BASE_MS: "1",
    ...env,
  };
  const config = loadConfig({ env: (name) => all[name], cwd: Deno.cwd() });
  return new Api(config, new Logger({ debug: false, secrets: [KEY] }));
}

/** An error shaped like the OpenAI SDK's, as the retry policy reads it. */
function apiError(
  fields: { name?: string; status?: number; code?: string; headers?: Record<string, string> },
): Error {
  const error = new Error(`HTTP ${fields.status ?? "-"}`);
  if (fields.name) error.name = fields.name;
  return Object.assign(error, {
    status: fields.status,
    code: fields.code,
    headers: fields.headers ? new Headers(fields.headers) : undefined,
  });
}

/** Runs a call whose attempts fail with `failures` in turn, then succeed. */
async function attempts(failures: unknown[], retries?: string) {
  const retried: { attempt: number; reason: string }[] = [];
  let made = 0;
  const outcome = await api(retries === undefined ? {} : { GPT_IMAGE_2_MAX_RETRIES: retries })
    .call("test", () => {
      const failure = failures[made++];
      return failure === undefined ? Promise.resolve("ok") : Promise.reject(failure);
    }, { onRetry: ({ attempt, reason }) => retried.push({ attempt, reason }) })
    .catch((error: unknown) => error);
  return { outcome, made, retried };
}

Deno.test("transient failures are retried with backoff; others are given back at once", async () => {
  const cases: { name: string; failure: unknown; retried: boolean; reason?: string }[] = [
    {
      name: "a server error",
      failure: apiError({ status: 500 }),
      retried: true,
      reason: "HTTP 500",
    },
    { name: "a 503", failure: apiError({ status: 503 }), retried: true, reason: "HTTP 503" },
    { name: "a rate limit", failure: apiError({ status: 429 }), retried: true, reason: "HTTP 429" },
    {
      name: "no answer at all",
      failure: apiError({ name: "APIConnectionError" }),
      retried: true,
      reason: "connection dropped",
    },
    {
      name: "a body cut off mid-read",
      failure: new TypeError("connection reset"),
      retried: true,
      reason: "connection dropped",
    },
    {
      name: "an exhausted quota",
      failure: apiError({ status: 429, code: "insufficient_quota" }),
      retried: false,
    },
    { name: "a bad request", failure: apiError({ status: 400 }), retried: false },
    { name: "a bad key", failure: apiError({ status: 401 }), retried: false },
    {
      name: "the SDK's own abort",
      failure: apiError({ name: "APIUserAbortError" }),
      retried: false,
    },
    {
      name: "the SDK's header timeout",
      failure: apiError({ name: "APIConnectionTimeoutError" }),
      retried: false,
    },
    {
      name: "a Retry-After past the longest wait",
      failure: apiError({ status: 429, headers: { "retry-after": "61" } }),
      retried: false,
    },
  ];
  for (const { name, failure, retried, reason } of cases) {
    const run = await attempts([failure]);
    if (retried) {
      assert.equal(run.outcome, "ok", name);
      assert.equal(run.made, 2, name);
      assert.deepEqual(run.retried, [{ attempt: 2, reason }], name);
    } else {
      assert.ok(run.outcome instanceof ToolError, `${name}: a ToolError`);
      assert.equal(run.made, 1, `${name}: not retried`);
      assert.deepEqual(run.retried, [], name);
    }
  }
});

Deno.test("GPT_IMAGE_2_MAX_RETRIES bounds the attempts: the last failure is the call's error", async () => {
  const failing = Array.from({ length: 5 }, () => apiError({ status: 502 }));
  for (const [retries, made] of [["0", 1], ["1", 2], ["2", 3], ["4", 5]] as const) {
    const run = await attempts(failing, retries);
    assert.ok(run.outcome instanceof ToolError, `retries ${retries}`);
    assert.equal(run.made, made, `retries ${retries}`);
    assert.equal(run.retried.length, made - 1, `retries ${retries}`);
  }
});

Deno.test("a cancel during the wait before a retry ends the call as cancelled, with no new attempt", async () => {
  const controller = new AbortController();
  let made = 0;
  const call = api({ GPT_IMAGE_2_RETRY_BASE_MS: "60000" }).call("test", () => {
    made++;
    return Promise.reject(apiError({ status: 500 }));
  }, { signal: controller.signal, onRetry: () => controller.abort() });
  await assert.rejects(call, CancelledError);
  assert.equal(made, 1);
});

Deno.test("a request that outlives GPT_IMAGE_2_TIMEOUT_MS is aborted and named, not retried", async () => {
  let made = 0;
  const call = api({ GPT_IMAGE_2_TIMEOUT_MS: "1000" }).call("test", (_client, signal) => {
    made++;
    return new Promise((_, reject) =>
      signal?.addEventListener("abort", () => reject(signal.reason))
    );
  });
  await assert.rejects(
    call,
    (e) => e instanceof ToolError && e.message.includes("GPT_IMAGE_2_TIMEOUT_MS=1000"),
  );
  assert.equal(made, 1);
});

Deno.test("without a key the call is refused before any request, naming OPENAI_API_KEY", async () => {
  let made = 0;
  const call = api({ OPENAI_API_KEY: "" }).call("test", () => {
    made++;
    return Promise.resolve("ok");
  });
  await assert.rejects(call, (e) => e instanceof ToolError && e.message.includes("OPENAI_API_KEY"));
  assert.equal(made, 0);
});

Deno.test("one call's cancel while it waits for the model check leaves the check to the others", async () => {
  const { promise: asked, resolve: ask } = Promise.withResolvers<void>();
  const { promise: answer, resolve: release } = Promise.withResolvers<void>();
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    requests++;
    ask();
    await answer;
    return Response.json({ id: "gpt-image-2", object: "model", created: 0, owned_by: "openai" });
  });
  try {
    const client = api({ OPENAI_BASE_URL: `http://127.0.0.1:${server.addr.port}/v1` });
    const first = new AbortController();
    const cancelled = client.probeModel("gpt-image-2", first.signal);
    const other = client.probeModel("gpt-image-2", new AbortController().signal);
    await asked;
    first.abort();
    await assert.rejects(cancelled, CancelledError);
    release();
    assert.deepEqual(await other, { shutdownDate: undefined }, "the other call gets the answer");
    assert.equal(requests, 1, "one check for both");
  } finally {
    release();
    await server.shutdown();
  }
});
