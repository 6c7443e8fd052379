/**
 * Both protocol eras over stdio, through the clients that speak them: v2's client opening with
 * `initialize` (2025-11-25) and pinned to 2026-07-28 (`server/discover`), v1's client, and the
 * older 2025 revisions on raw stdio. Each lists and calls every tool, with progress,
 * cancellation and logging.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import {
  type CallOptions,
  DENO_DIR,
  launchFor,
  startServer,
  textOf,
  TOOL_NAMES,
  v1Transport,
  waitFor,
} from "./harness.ts";
import {
  CallToolResultSchemaV1,
  ClientV1,
  LOG_LEVEL_META_KEY,
  LoggingMessageNotificationSchemaV1,
} from "./mcp_client.ts";

/** What the tests need of a connected client, whichever SDK it comes from. */
interface Caller {
  cwd: string;
  toolNames(): Promise<string[]>;
  call(
    name: string,
    args: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<{ isError?: boolean; content: unknown[]; structuredContent?: unknown }>;
}

function text(result: { content: unknown[] }): string {
  return textOf(result as Parameters<typeof textOf>[0]);
}

/** Lists the tools, calls each one with progress, and cancels a slow call. */
async function everyTool(client: Caller, fake: FakeOpenAI): Promise<void> {
  assert.deepEqual((await client.toolNames()).sort(), TOOL_NAMES);
  await Deno.writeFile(join(client.cwd, "a.png"), makePng(1024, 1024));
  const progress: string[] = [];
  const onprogress = (p: { message?: string }) => progress.push(p.message ?? "");
  const ok = async (name: string, args: Record<string, unknown>) => {
    const result = await client.call(name, args, { onprogress });
    assert.equal(result.isError, undefined, `${name}: ${text(result)}`);
    return result;
  };
  await ok("generate_image", { prompt: "x", quality: "low", inline: "none" });
  assert.ok(progress.some((m) => m.startsWith("Request sent to OpenAI")), progress.join(" | "));
  progress.length = 0;
  await ok("edit_image", { prompt: "x", images: ["a.png"], inline: "none" });
  assert.ok(progress.includes("Reading input images"), progress.join(" | "));
  const started = await ok("start_edit_session", { prompt: "x", images: ["a.png"] });
  const { session_id } = started.structuredContent as { session_id: string };
  await ok("continue_edit_session", { session_id, prompt: "y", inline: "none" });
  const listed = await ok("list_edit_sessions", {});
  assert.match(text(listed), new RegExp(`^${session_id}: 2 turn\\(s\\)`));
  await ok("end_edit_session", { session_id });

  fake.delayMs = 30_000;
  const before = fake.calls("generations").length;
  const controller = new AbortController();
  const call = client.call("generate_image", { prompt: "never" }, { signal: controller.signal });
  assert.ok(await waitFor(() => fake.calls("generations").length > before), "request sent");
  controller.abort();
  await assert.rejects(call);
  assert.ok(
    await waitFor(() => fake.calls("generations")[before].aborted),
    "the API saw the cancel",
  );
  fake.delayMs = 0;
}

Deno.test("a 2026-07-28 client (server/discover) lists and calls every tool, with progress, cancellation and per-request logs", async () => {
  const fake = FakeOpenAI.start();
  const h = await startServer({ fake, protocol: "2026-07-28" });
  try {
    assert.equal(h.client.getProtocolEra(), "modern");
    await everyTool({
      cwd: h.cwd,
      toolNames: async () => (await h.client.listTools()).tools.map((t) => t.name),
      call: h.call,
    }, fake);
    // This era has no session log level: a request carries its own, and without one gets none.
    const quiet = h.logs.length;
    await h.call("generate_image", { prompt: "quiet", quality: "low", inline: "none" });
    assert.equal(h.logs.length, quiet, "no level asked, no log lines");
    await h.call("generate_image", { prompt: "loud", quality: "low", inline: "none" }, {
      _meta: { [LOG_LEVEL_META_KEY]: "info" },
    });
    const lines = h.logs.slice(quiet).map((l) => `${l.level}: ${l.data}`);
    assert.ok(lines.some((d) => /^info: request sent/.test(d)), lines.join("\n"));
    assert.ok(lines.some((d) => /^info: cost: \$0\.\d{4}/.test(d)), lines.join("\n"));
    assert.ok(!JSON.stringify(h.logs).includes(fake.apiKey));
  } finally {
    await h.close();
    await fake.close();
  }
});

Deno.test("a 2025-11-25 client (initialize) lists and calls every tool, with progress, cancellation and session logs", async () => {
  const fake = FakeOpenAI.start();
  const h = await startServer({ fake });
  try {
    assert.equal(h.client.getProtocolEra(), "legacy");
    await everyTool({
      cwd: h.cwd,
      toolNames: async () => (await h.client.listTools()).tools.map((t) => t.name),
      call: h.call,
    }, fake);
    await h.client.setLoggingLevel("warning");
    const quiet = h.logs.length;
    await h.call("generate_image", { prompt: "quiet", quality: "low", inline: "none" });
    assert.equal(h.logs.length, quiet, "nothing below the level set");
    await h.client.setLoggingLevel("info");
    await h.call("generate_image", { prompt: "loud", quality: "low", inline: "none" });
    const lines = h.logs.slice(quiet).map((l) => `${l.level}: ${l.data}`);
    assert.ok(lines.some((d) => /^info: request sent/.test(d)), lines.join("\n"));
  } finally {
    await h.close();
    await fake.close();
  }
});

Deno.test("the v1 SDK client (1.32.2) lists and calls every tool, with progress, cancellation and logs", async () => {
  const fake = FakeOpenAI.start();
  const launch = await launchFor({ fake });
  const transport = v1Transport(launch);
  const client = new ClientV1({ name: "v1-client", version: "1.0.0" });
  const logs: { level: string; data: unknown }[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchemaV1, (n) => {
    logs.push(n.params);
  });
  try {
    await client.connect(transport);
    await everyTool({
      cwd: launch.cwd,
      toolNames: async () => (await client.listTools()).tools.map((t) => t.name),
      call: (name, args, options = {}) =>
        client.callTool({ name, arguments: args }, CallToolResultSchemaV1, {
          onprogress: options.onprogress,
          signal: options.signal,
          timeout: 120_000,
        }) as Promise<{ isError?: boolean; content: unknown[]; structuredContent?: unknown }>,
    }, fake);
    await client.setLoggingLevel("info");
    await client.callTool(
      { name: "generate_image", arguments: { prompt: "x", quality: "low", inline: "none" } },
      CallToolResultSchemaV1,
    );
    assert.ok(logs.some((l) => l.level === "info" && /^saved /.test(String(l.data))));
  } finally {
    await client.close();
    await launch.cleanup();
    await fake.close();
  }
});

Deno.test("initialize at 2024-11-05, 2025-06-18 and 2025-11-25 is answered at that revision, and the tools work on it", async () => {
  const fake = FakeOpenAI.start();
  try {
    for (const version of ["2024-11-05", "2025-06-18", "2025-11-25"]) {
      const launch = await launchFor({ fake });
      const child = new Deno.Command(launch.command, {
        args: launch.args,
        env: { ...launch.env, DENO_DIR },
        clearEnv: true,
        cwd: launch.cwd,
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const writer = child.stdin.getWriter();
      const send = (message: unknown) =>
        writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
      await send({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: version,
          capabilities: {},
          clientInfo: { name: "raw", version },
        },
      });
      await send({ jsonrpc: "2.0", method: "notifications/initialized" });
      await send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
      await send({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: {
          name: "generate_image",
          arguments: { prompt: "x", quality: "low", inline: "none" },
          _meta: { progressToken: "p" },
        },
      });
      const messages: Record<string, unknown>[] = [];
      let buffer = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (!messages.some((m) => m.id === 3)) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const lines = buffer.split("\n");
        buffer = lines.pop()!;
        messages.push(...lines.filter(Boolean).map((l) => JSON.parse(l)));
      }
      await writer.close();
      await reader.cancel();
      await child.status;
      await launch.cleanup();
      const byId = (id: number) => messages.find((m) => m.id === id) as { result: never };
      const init = byId(1).result as { protocolVersion: string };
      assert.equal(init.protocolVersion, version);
      assert.equal((byId(2).result as { tools: unknown[] }).tools.length, 9, version);
      const call = byId(3).result as { isError?: boolean; structuredContent: { images: [] } };
      assert.equal(call.isError, undefined, version);
      assert.equal(call.structuredContent.images.length, 1, version);
      const progress = messages.filter((m) => m.method === "notifications/progress");
      assert.ok(progress.length >= 2, `${version}: progress notifications`);
    }
  } finally {
    await fake.close();
  }
});
