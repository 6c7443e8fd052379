/**
 * MCP tasks through v2's client against the fake API: the 2025-11-25 tasks utility (a
 * `tools/call` carrying `task`, then `tasks/get`, `tasks/result`, `tasks/list`, `tasks/cancel`
 * and `notifications/tasks/status`) and the 2026-07-28 extension `io.modelcontextprotocol/tasks`
 * (`resultType: "task"`, `tasks/get` with the result inline, `tasks/cancel`).
 */

import assert from "node:assert/strict";
import { z } from "../src/zod.ts";
import { FakeOpenAI } from "./fake/api.ts";
import {
  type Harness,
  launchFor,
  listFiles,
  startServer,
  textOf,
  v1Transport,
  waitFor,
} from "./harness.ts";
import { type CallToolResult, ClientV1 } from "./mcp_client.ts";
import { withRawServer } from "./raw_wire.ts";

const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
const RELATED_TASK = "io.modelcontextprotocol/related-task";
const IMAGE_TOOLS = ["continue_edit_session", "edit_image", "generate_image", "start_edit_session"];

/** A 2025 `Task`, read loosely: the tests assert the fields they care about. */
const legacyTask = z.looseObject({
  taskId: z.string(),
  status: z.string(),
  statusMessage: z.string().optional(),
  createdAt: z.string(),
  lastUpdatedAt: z.string(),
  ttl: z.number().nullable(),
  pollInterval: z.number().optional(),
});
const createTaskResult = z.looseObject({ task: legacyTask });
const callToolResult = z.looseObject({
  content: z.array(z.looseObject({ type: z.string() })),
  isError: z.boolean().optional(),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  _meta: z.record(z.string(), z.unknown()).optional(),
});
const listTasksResult = z.looseObject({
  tasks: z.array(legacyTask),
  nextCursor: z.string().optional(),
});
/** A 2026 `DetailedTask`. */
const modernTask = z.looseObject({
  taskId: z.string(),
  status: z.string(),
  statusMessage: z.string().optional(),
  createdAt: z.string(),
  lastUpdatedAt: z.string(),
  ttlMs: z.number().nullable(),
  pollIntervalMs: z.number().optional(),
  result: callToolResult.optional(),
  error: z.looseObject({ code: z.number(), message: z.string() }).optional(),
});
const anyResult = z.looseObject({});

/** Runs `body` with a fake API and a server on it. */
async function withTasks(
  options: { env?: Record<string, string> },
  body: (h: Harness, fake: FakeOpenAI) => Promise<void>,
): Promise<void> {
  const fake = FakeOpenAI.start();
  const h = await startServer({
    fake,
    env: options.env,
  });
  try {
    await body(h, fake);
  } finally {
    await h.close();
    await fake.close();
  }
}

/** The error a request is refused with: its JSON-RPC code and message. */
async function refusal(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request;
  } catch (error) {
    const { code, message } = error as { code: number; message: string };
    return { code, message };
  }
  throw new Error("the request was answered, not refused");
}

/** Image files saved below `dir`. */
async function savedImages(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((f) => /\.(png|jpeg|webp)$/.test(f));
}

Deno.test("a 2025 client sees the tasks capability, and taskSupport optional on the image tools only", () =>
  withTasks({}, async (h) => {
    const capabilities = h.client.getServerCapabilities();
    assert.deepEqual(capabilities?.tasks, {
      list: {},
      cancel: {},
      requests: { tools: { call: {} } },
    });
    const { tools } = await h.client.listTools();
    const optional = tools.filter((t) => t.execution?.taskSupport === "optional").map((t) =>
      t.name
    );
    assert.deepEqual(optional.sort(), IMAGE_TOOLS);
    assert.ok(tools.every((t) => t.execution?.taskSupport !== "required"));
  }));

Deno.test("a tools/call carrying task answers with a working task at once; tasks/get, tasks/list and tasks/result follow it to the image, with progress and a status notification", () =>
  withTasks({}, async (h, fake) => {
    fake.delayMs = 1_500;
    const statuses: z.infer<typeof legacyTask>[] = [];
    h.client.setNotificationHandler("notifications/tasks/status", { params: legacyTask }, (p) => {
      statuses.push(p);
    });
    const progress: { progressToken: unknown; message?: string; _meta?: unknown }[] = [];
    h.client.setNotificationHandler("notifications/progress", (n) => {
      progress.push(n.params);
    });

    const created = await h.client.request({
      method: "tools/call",
      params: {
        name: "generate_image",
        arguments: { prompt: "a lighthouse", quality: "low", inline: "full" },
        task: { ttl: 60_000 },
        _meta: { progressToken: "task-progress" },
      },
    }, createTaskResult);
    const { task } = created;
    assert.equal(task.status, "working");
    assert.match(task.taskId, /^job-\d+-[0-9a-f]{32}$/);
    assert.equal(typeof task.pollInterval, "number");
    assert.equal(fake.calls("generations")[0]?.finishedAt, undefined, "answered before the API");

    const working = await h.client.request({
      method: "tasks/get",
      params: { taskId: task.taskId },
    }, legacyTask);
    assert.equal(working.status, "working");
    const listed = await h.client.request({ method: "tasks/list", params: {} }, listTasksResult);
    assert.ok(listed.tasks.some((t) => t.taskId === task.taskId));

    const result = await h.client.request({
      method: "tasks/result",
      params: { taskId: task.taskId },
    }, callToolResult);
    assert.equal(result.isError, undefined, textOf(result as CallToolResult));
    assert.deepEqual(result._meta?.[RELATED_TASK], { taskId: task.taskId });
    assert.match(textOf(result as CallToolResult), /^Generated 1 image\(s\) with gpt-image-2\./);
    assert.equal(result.content.filter((c) => c.type === "image").length, 1);
    const images = (result.structuredContent as { images: { file_path: string }[] }).images;
    assert.equal((await Deno.stat(images[0].file_path)).isFile, true);

    const done = await h.client.request({
      method: "tasks/get",
      params: { taskId: task.taskId },
    }, legacyTask);
    assert.equal(done.status, "completed");
    assert.ok(await waitFor(() => statuses.some((s) => s.status === "completed")), "status sent");
    assert.equal(statuses.at(-1)?.taskId, task.taskId);
    const ours = progress.filter((p) => p.progressToken === "task-progress");
    assert.ok(ours.some((p) => p.message?.startsWith("Request sent to OpenAI")), "progress flows");
    assert.ok(ours.every((p) => JSON.stringify(p._meta).includes(task.taskId)));
    // Ended: cancelling it now is refused as the utility asks.
    const again = await refusal(
      h.client.request({ method: "tasks/cancel", params: { taskId: task.taskId } }, anyResult),
    );
    assert.equal(again.code, -32602);
    assert.match(again.message, /already in terminal status 'completed'/);
  }));

Deno.test("v1's client runs an image call as a task on its own (callToolStream): created, polled, and its result", async () => {
  const fake = FakeOpenAI.start();
  fake.delayMs = 1_000;
  const launch = await launchFor({ fake });
  const transport = v1Transport(launch);
  const client = new ClientV1({ name: "v1-tasks", version: "1.0.0" });
  try {
    await client.connect(transport);
    await client.listTools(); // where v1's client learns which tools take tasks
    const kinds: string[] = [];
    let result: CallToolResult | undefined;
    for await (
      const message of client.experimental.tasks.callToolStream({
        name: "generate_image",
        arguments: { prompt: "a lighthouse", quality: "low", inline: "none" },
      })
    ) {
      kinds.push(message.type);
      if (message.type === "result") result = message.result as CallToolResult;
      if (message.type === "error") throw message.error;
    }
    assert.equal(kinds[0], "taskCreated");
    assert.ok(kinds.includes("taskStatus"));
    assert.equal(kinds.at(-1), "result");
    assert.ok(result, "a result");
    assert.match(textOf(result), /^Generated 1 image\(s\) with gpt-image-2\./);
  } finally {
    await client.close();
    await launch.cleanup();
    await fake.close();
  }
});

Deno.test("tasks/cancel aborts the API request: the task is cancelled, no file is written, and the budget is whole again", () =>
  withTasks({ env: { GPT_IMAGE_2_BUDGET_USD: "0.08" } }, async (h, fake) => {
    fake.delayMs = 30_000;
    const { task } = await h.client.request({
      method: "tools/call",
      params: {
        name: "generate_image",
        arguments: { prompt: "never", quality: "medium" },
        task: {},
      },
    }, createTaskResult);
    assert.ok(await waitFor(() => fake.calls("generations").length === 1), "request sent");
    const cancelled = await h.client.request({
      method: "tasks/cancel",
      params: { taskId: task.taskId },
    }, legacyTask);
    assert.equal(cancelled.status, "cancelled");
    assert.ok(await waitFor(() => fake.calls("generations")[0].aborted), "the API saw the cancel");
    const read = await h.client.request({
      method: "tasks/get",
      params: { taskId: task.taskId },
    }, legacyTask);
    assert.equal(read.status, "cancelled");
    const result = await h.client.request({
      method: "tasks/result",
      params: { taskId: task.taskId },
    }, callToolResult);
    assert.equal(result.isError, true);
    assert.equal(await savedImages(h.configRoot).then((f) => f.length), 0, "no file");
    // The reservation went with the cancel: a call that needs most of the budget runs.
    fake.delayMs = 0;
    const next = await h.call("generate_image", { prompt: "after", quality: "medium" });
    assert.equal(next.isError, undefined, textOf(next));
  }));

Deno.test("a task whose call fails is a failed task, and tasks/result gives the tool's error result", () =>
  withTasks({}, async (h, fake) => {
    fake.inject("generations", {
      kind: "status",
      status: 400,
      code: "invalid_value",
      message: "Invalid size.",
    });
    const { task } = await h.client.request({
      method: "tools/call",
      params: { name: "generate_image", arguments: { prompt: "x" }, task: {} },
    }, createTaskResult);
    const result = await h.client.request({
      method: "tasks/result",
      params: { taskId: task.taskId },
    }, callToolResult);
    assert.equal(result.isError, true);
    assert.match(textOf(result as CallToolResult), /Invalid size\./);
    const failed = await h.client.request({
      method: "tasks/get",
      params: { taskId: task.taskId },
    }, legacyTask);
    assert.equal(failed.status, "failed");
    assert.match(failed.statusMessage ?? "", /Invalid size\./);
  }));

Deno.test("an unknown or malformed task id, and a cursor tasks/list never gave, are -32602", () =>
  withTasks({}, async (h) => {
    const missing = "job-1761149123-0123456789abcdef0123456789abcdef";
    for (const method of ["tasks/get", "tasks/result", "tasks/cancel"]) {
      for (const taskId of [missing, "not-a-task"]) {
        const refused = await refusal(
          h.client.request({ method, params: { taskId } }, anyResult),
        );
        assert.equal(refused.code, -32602, `${method} ${taskId}`);
        assert.match(refused.message, /^(MCP error -32602: )?Failed to retrieve task: /);
      }
    }
    const cursor = await refusal(
      h.client.request({ method: "tasks/list", params: { cursor: "bogus" } }, anyResult),
    );
    assert.equal(cursor.code, -32602);
    assert.match(cursor.message, /Invalid cursor "bogus"/);
  }));

Deno.test("a call without task, and a call of a quick tool, answer as always", () =>
  withTasks({}, async (h) => {
    const plain = await h.call("generate_image", { prompt: "x", quality: "low", inline: "none" });
    assert.equal(plain.isError, undefined, textOf(plain));
    const listed = await h.client.request({
      method: "tools/call",
      params: { name: "list_edit_sessions", arguments: {}, task: {} },
    }, callToolResult);
    assert.match(textOf(listed as CallToolResult), /No open edit sessions|sessions/i);
  }));

/** A 2026-07-28 client on raw stdio: v2's client refuses `resultType: "task"` (it has no tasks). */
async function withModernWire(
  options: { extension: boolean },
  body: (
    rpc: (method: string, params: Record<string, unknown>) => Promise<{
      result?: Record<string, unknown>;
      error?: { code: number; message: string };
    }>,
    fake: FakeOpenAI,
  ) => Promise<void>,
): Promise<void> {
  await withRawServer(async ({ fake, wire }) => {
    let id = 0;
    const envelope = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientInfo": { name: "raw-2026", version: "1" },
      "io.modelcontextprotocol/clientCapabilities": options.extension
        ? { extensions: { [TASKS_EXTENSION]: {} } }
        : {},
    };
    const rpc = async (method: string, params: Record<string, unknown>) => {
      const request = { jsonrpc: "2.0", id: ++id, method, params: { ...params, _meta: envelope } };
      await wire.write(JSON.stringify(request));
      return await wire.answer(request.id);
    };
    const discovered = await rpc("server/discover", {});
    assert.ok(discovered.result, JSON.stringify(discovered));
    const capabilities = discovered.result.capabilities as { extensions?: object };
    assert.deepEqual(capabilities.extensions, { [TASKS_EXTENSION]: {} });
    await body(rpc, fake);
  }, { prefix: "gi2-tasks-" });
}

/** Polls a 2026 task until it leaves `working`. */
async function pollModern(
  rpc: Parameters<Parameters<typeof withModernWire>[1]>[0],
  taskId: string,
): Promise<z.infer<typeof modernTask>> {
  let task: z.infer<typeof modernTask> | undefined;
  const left = await waitFor(async () => {
    const { result, error } = await rpc("tasks/get", { taskId });
    assert.ok(result, JSON.stringify(error));
    assert.equal(result.resultType, "complete");
    task = modernTask.parse(result);
    return task.status !== "working";
  }, 20_000);
  assert.ok(left && task, `task ${taskId} still working`);
  return task;
}

Deno.test("a 2026 client that declares the tasks extension gets resultType task, and tasks/get carries the result inline once completed", () =>
  withModernWire({ extension: true }, async (rpc, fake) => {
    fake.delayMs = 1_000;
    const created = await rpc("tools/call", {
      name: "generate_image",
      arguments: { prompt: "x", quality: "low" },
    });
    assert.equal(created.result?.resultType, "task", JSON.stringify(created));
    const seed = modernTask.parse(created.result);
    assert.equal(seed.status, "working");
    assert.equal(typeof seed.pollIntervalMs, "number");
    const task = await pollModern(rpc, seed.taskId);
    assert.equal(task.status, "completed");
    assert.equal(task.result?.isError, undefined, JSON.stringify(task.result));
    const images = (task.result?.structuredContent as { images: { file_path: string }[] }).images;
    assert.equal((await Deno.stat(images[0].file_path)).isFile, true);
    // These tasks never ask for input: an update of a known task is acknowledged.
    const update = await rpc("tasks/update", { taskId: seed.taskId, inputResponses: {} });
    assert.equal(update.result?.resultType, "complete", JSON.stringify(update));
    const unknown = await rpc("tasks/get", {
      taskId: "job-1761149123-0123456789abcdef0123456789abcdef",
    });
    assert.equal(unknown.error?.code, -32602);
  }));

Deno.test("a 2026 task whose call fails completes with the tool's error result, as the extension asks", () =>
  withModernWire({ extension: true }, async (rpc, fake) => {
    fake.inject("generations", {
      kind: "status",
      status: 400,
      code: "invalid_value",
      message: "Invalid size.",
    });
    const created = await rpc("tools/call", { name: "generate_image", arguments: { prompt: "x" } });
    const task = await pollModern(rpc, modernTask.parse(created.result).taskId);
    assert.equal(task.status, "completed");
    assert.equal(task.result?.isError, true);
    assert.match(JSON.stringify(task.result?.content), /Invalid size\./);
  }));

Deno.test("a 2026 tasks/cancel is acknowledged, aborts the API request, and the task ends cancelled", () =>
  withModernWire({ extension: true }, async (rpc, fake) => {
    fake.delayMs = 30_000;
    const created = await rpc("tools/call", {
      name: "generate_image",
      arguments: { prompt: "never" },
    });
    const { taskId } = modernTask.parse(created.result);
    assert.ok(await waitFor(() => fake.calls("generations").length === 1), "request sent");
    const ack = await rpc("tasks/cancel", { taskId });
    assert.equal(ack.result?.resultType, "complete", JSON.stringify(ack));
    assert.ok(await waitFor(() => fake.calls("generations")[0].aborted), "the API saw the cancel");
    const task = await pollModern(rpc, taskId);
    assert.equal(task.status, "cancelled");
    assert.equal(task.result, undefined);
  }));

Deno.test("a 2026 client without the extension gets the plain result, and tasks/get is refused with -32021", () =>
  withModernWire({ extension: false }, async (rpc) => {
    const plain = await rpc("tools/call", {
      name: "generate_image",
      arguments: { prompt: "x", quality: "low", inline: "none" },
    });
    assert.equal(plain.result?.resultType, "complete", JSON.stringify(plain));
    assert.ok(Array.isArray(plain.result?.content));
    const refused = await rpc("tasks/get", {
      taskId: "job-1761149123-0123456789abcdef0123456789abcdef",
    });
    assert.equal(refused.error?.code, -32021);
  }));
