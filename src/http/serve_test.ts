import assert from "node:assert/strict";
import { loadConfig } from "../config.ts";
import { Logger } from "../log.ts";
import { loadHttpConfig } from "./config.ts";
import { serveHttp } from "./serve.ts";
import type { Principal } from "./principal.ts";
import { Client, StreamableHTTPClientTransport } from "../../tests/mcp_client.ts";
import { FakeOpenAI } from "../../tests/fake/api.ts";

/** An authenticator that takes the principal from a test header: no tokens involved. */
const byHeader = {
  metadataResponse: () => undefined,
  authenticate(request: Request): Promise<Principal> {
    const id = request.headers.get("x-test-principal") ?? "nobody";
    return Promise.resolve({ id, scopes: [], kind: "token" });
  },
};

/** A v2 client of `url` speaking for `principal`, pinned to the 2026 era. */
async function clientOf(url: string, principal: string): Promise<Client> {
  const client = new Client({ name: "t", version: "1" }, {
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { "x-test-principal": principal } },
    }),
  );
  return client;
}

/** An `initialize` from `principal`, its answer read to the end. */
async function initialize(url: string, principal: string): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "x-test-principal": principal,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      },
    }),
  });
  assert.match(await response.text(), /"protocolVersion"/);
  return response.status;
}

/** A server on loopback for `body`, principals released after `idleMs`; then stopped. */
async function withHttpServer(
  idleMs: number,
  body: (serving: ReturnType<typeof serveHttp>) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const home = await Deno.makeTempDir();
  const vars: Record<string, string> = { HOME: home, OPENAI_API_KEY: "sk-test", ...env };
  const config = loadConfig({ cwd: home, env: (name) => vars[name] });
  const serving = serveHttp({
    config,
    http: loadHttpConfig((name) => name === "GPT_IMAGE_2_HTTP_PORT" ? "0" : undefined),
    log: new Logger({ debug: false, secrets: [] }),
    version: "test",
    authenticator: byHeader,
    principalIdleMs: idleMs,
  });
  try {
    await body(serving);
  } finally {
    await serving.shutdown();
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("a principal idle past its time is released, and served afresh when it comes back", () =>
  withHttpServer(300, async (serving) => {
    for (const principal of ["alice", "bob", "carol"]) {
      assert.equal(await initialize(serving.url, principal), 200);
    }
    assert.equal(serving.heldPrincipals(), 3);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // The next request, of anyone, lets the idle ones go.
    assert.equal(await initialize(serving.url, "dave"), 200);
    assert.equal(serving.heldPrincipals(), 1, "only dave is held");
    assert.equal(await initialize(serving.url, "alice"), 200, "alice is served again");
    assert.equal(serving.heldPrincipals(), 2);
  }));

Deno.test("a principal with a listening stream open is kept however long it is quiet", () =>
  withHttpServer(300, async (serving) => {
    const client = await clientOf(serving.url, "erin");
    const subscription = await client.listen({ resourcesListChanged: true });
    try {
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(await initialize(serving.url, "frank"), 200);
      assert.equal(serving.heldPrincipals(), 2, "erin's stream keeps her");
    } finally {
      await subscription.close();
      await client.close();
    }
  }));

Deno.test("a principal whose detached job still runs is kept however long it is quiet", async () => {
  const fake = FakeOpenAI.start();
  fake.delayMs = 2_500;
  try {
    await withHttpServer(300, async (serving) => {
      const client = await clientOf(serving.url, "gina");
      try {
        const result = await client.callTool({
          name: "generate_image",
          arguments: { prompt: "slow", quality: "low" },
        });
        const status = (result.structuredContent as { status?: string }).status;
        assert.equal(status, "running", JSON.stringify(result.content));
        await new Promise((resolve) => setTimeout(resolve, 400));
        assert.equal(await initialize(serving.url, "hank"), 200);
        assert.equal(serving.heldPrincipals(), 2, "gina's running job keeps her");
      } finally {
        await client.close();
      }
    }, {
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_BASE_URL: fake.baseURL,
      GPT_IMAGE_2_DETACH_AFTER_S: "1",
    });
  } finally {
    await fake.close();
  }
});
