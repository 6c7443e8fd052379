/**
 * MCP tasks on both protocol eras, each task one job of `jobs/runner.ts` (its id, its record
 * on disk, its result): the 2025-11-25 tasks utility (a `tools/call` carrying `task`,
 * `tasks/get`, `tasks/result`, `tasks/list`, `tasks/cancel`, `notifications/tasks/status`) and
 * the 2026-07-28 extension `io.modelcontextprotocol/tasks` (`resultType: "task"`, `tasks/get`
 * with the result inline, `tasks/update`, `tasks/cancel`).
 *
 * @module
 */

import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type Server,
  type ServerContext,
  z,
} from "./deps.ts";
import { ToolError } from "./errors.ts";
import type { JobOutcome, JobRunner, JobView } from "./jobs/runner.ts";

/** The extension's id, in capabilities on the 2026 wire. */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/** The `_meta` key that ties a message to its task on the 2025 wire. */
const RELATED_TASK = "io.modelcontextprotocol/related-task";

/** The `tasks` capability of the 2025 utility: tool calls may be tasks; list and cancel work. */
export const TASKS_CAPABILITY = { list: {}, cancel: {}, requests: { tools: { call: {} } } };

/** How often clients are asked to poll: image calls take tens of seconds. */
const POLL_INTERVAL_MS = 2_000;

/** Tasks per `tasks/list` page. */
const PAGE_SIZE = 50;

/** The protocol era a connection speaks: `initialize` (2025) or `server/discover` (2026). */
export type Era = "legacy" | "modern";

/** What the task handlers need. */
export interface TaskOptions {
  era: Era;
  /** The job runner, which loads with the tools. */
  runner: () => Promise<JobRunner>;
  /** How long an ended task is kept (jobs expire like sessions). */
  ttlMs: number;
}

type LegacyStatus = "working" | "completed" | "failed" | "cancelled";

/** A job's status by the 2025 utility's rule: a tool error result is a failed task. */
function legacyStatus(view: JobView): LegacyStatus {
  switch (view.status) {
    case "running":
      return "working";
    case "lost":
      return "failed";
    default:
      return view.status;
  }
}

function statusMessage(view: JobView): string {
  const seconds = Math.round(view.elapsedMs / 1000);
  switch (view.status) {
    case "running":
      return view.progress ?? `${view.tool} running for ${seconds} s`;
    case "completed":
      return `${view.tool} completed after ${seconds} s`;
    default:
      return view.error ?? `${view.tool} ${view.status}`;
  }
}

/** The fields every task shape shares. */
function common(view: JobView) {
  return {
    taskId: view.id,
    statusMessage: statusMessage(view),
    createdAt: view.created,
    lastUpdatedAt: view.updated,
  };
}

/** A job as a 2025 `Task`. */
function legacyTask(view: JobView, ttlMs: number) {
  const status = legacyStatus(view);
  return {
    ...common(view),
    status,
    ttl: ttlMs,
    ...(status === "working" ? { pollInterval: POLL_INTERVAL_MS } : {}),
  };
}

/**
 * A job as a 2026 `DetailedTask`: a tool result, an error one included, is a completed task
 * carrying it; only a job whose server died (no result, no JSON-RPC answer) is a failed one.
 */
function modernTask({ view, result }: JobOutcome, ttlMs: number) {
  const base = {
    ...common(view),
    ttlMs,
    ...(view.status === "running" ? { pollIntervalMs: POLL_INTERVAL_MS } : {}),
  };
  switch (view.status) {
    case "running":
      return { ...base, status: "working" as const };
    case "cancelled":
      return { ...base, status: "cancelled" as const };
    case "lost":
      return {
        ...base,
        status: "failed" as const,
        error: { code: ProtocolErrorCode.InternalError, message: statusMessage(view) },
      };
    default:
      return { ...base, status: "completed" as const, result: result ?? endedWithout(view) };
  }
}

/** The result of a task that ended without one: cancelled, or its server died. */
function endedWithout(view: JobView): CallToolResult {
  return {
    content: [{ type: "text", text: `${view.tool} ${view.status}: ${statusMessage(view)}` }],
    isError: true,
  };
}

/** Whether this `tools/call` asks to run as a task, by its era's rule. */
export function asksForTask(era: Era, params: { task?: unknown }, ctx: ServerContext): boolean {
  return era === "legacy" ? params.task !== undefined : declaresExtension(ctx);
}

/** The part of a 2026 request's `_meta` envelope that says which extensions the client has. */
const envelopeSchema = z.looseObject({
  [CLIENT_CAPABILITIES_META_KEY]: z.looseObject({
    extensions: z.record(z.string(), z.unknown()).optional(),
  }).optional(),
});

/** Whether a 2026 request declares the tasks extension among its client capabilities. */
function declaresExtension(ctx: ServerContext): boolean {
  const envelope = envelopeSchema.safeParse(ctx.mcpReq.envelope ?? {});
  const capabilities = envelope.success ? envelope.data[CLIENT_CAPABILITIES_META_KEY] : undefined;
  return capabilities?.extensions?.[TASKS_EXTENSION] !== undefined;
}

/**
 * The answer to a `tools/call` that became a task, in its era's shape. On the 2025 wire the SDK
 * checks every `tools/call` answer as a `CallToolResult`, which needs `content`: an empty one
 * beside `task` passes that check and keeps the answer a `CreateTaskResult` (results may carry
 * more fields than their schema names).
 */
export function createdTask(era: Era, view: JobView, ttlMs: number) {
  return era === "legacy"
    ? { task: legacyTask(view, ttlMs), content: [] }
    : { resultType: "task", ...modernTask({ view }, ttlMs) };
}

/** The `_meta` of a message that belongs to a task (2025 wire). */
export function relatedTask(taskId: string): Record<string, unknown> {
  return { [RELATED_TASK]: { taskId } };
}

/** Runs `read`; an unknown, expired or malformed task id becomes `-32602`, as both eras ask. */
async function known<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ToolError) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Failed to retrieve task: ${error.message}`,
      );
    }
    throw error;
  }
}

/** A `tasks/list` cursor: the offset of the page, opaque to clients. */
function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const offset = /^o(\d{1,9})$/.exec(cursor);
  if (!offset) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Invalid cursor "${cursor.slice(0, 40)}": pass a nextCursor that tasks/list returned`,
    );
  }
  return Number(offset[1]);
}

const taskIdParams = z.looseObject({ taskId: z.string() });
const listParams = z.looseObject({ cursor: z.string().optional() }).optional();

/** Sets the task methods of `options.era` on `server`. */
export function registerTaskHandlers(server: Server, options: TaskOptions): void {
  const { runner, ttlMs } = options;
  if (options.era === "legacy") {
    server.setRequestHandler("tasks/get", { params: taskIdParams }, async (params) => {
      const { view } = await known(async () => (await runner()).get(params.taskId));
      return legacyTask(view, ttlMs);
    });
    server.setRequestHandler("tasks/result", { params: taskIdParams }, async (params, ctx) => {
      const { taskId } = params;
      const jobs = await runner();
      // Blocks until the task ends, as the utility asks; the client's cancel ends the wait.
      const outcome = await known(() =>
        jobs.get(taskId, { waitMs: Infinity, signal: ctx.mcpReq.signal })
      );
      const result = outcome.result ?? endedWithout(outcome.view);
      return { ...result, _meta: { ...result._meta, ...relatedTask(taskId) } };
    });
    server.setRequestHandler("tasks/list", { params: listParams }, async (params) => {
      const offset = decodeCursor(params?.cursor);
      const views = await (await runner()).list();
      const page = views.slice(offset, offset + PAGE_SIZE);
      const next = offset + PAGE_SIZE;
      return {
        tasks: page.map((view) => legacyTask(view, ttlMs)),
        ...(next < views.length ? { nextCursor: `o${next}` } : {}),
      };
    });
    server.setRequestHandler("tasks/cancel", { params: taskIdParams }, async (params) => {
      const { taskId } = params;
      const jobs = await runner();
      const { view } = await known(() => jobs.get(taskId));
      if (view.status !== "running") {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Cannot cancel task: already in terminal status '${legacyStatus(view)}'`,
        );
      }
      return legacyTask((await jobs.cancel(taskId)).view, ttlMs);
    });
    return;
  }
  const requireExtension = (ctx: ServerContext) => {
    if (!declaresExtension(ctx)) {
      throw new MissingRequiredClientCapabilityError({
        requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
      });
    }
  };
  server.setRequestHandler("tasks/get", { params: taskIdParams }, async (params, ctx) => {
    requireExtension(ctx);
    const outcome = await known(async () => (await runner()).get(params.taskId));
    return modernTask(outcome, ttlMs);
  });
  // These tasks never ask for input: an update of a known task is acknowledged and its
  // `inputResponses` (which the SDK lifts out of the params) are ignored, as the extension asks.
  server.setRequestHandler("tasks/update", { params: taskIdParams }, async (params, ctx) => {
    requireExtension(ctx);
    await known(async () => (await runner()).get(params.taskId));
    return {};
  });
  server.setRequestHandler("tasks/cancel", { params: taskIdParams }, async (params, ctx) => {
    requireExtension(ctx);
    const jobs = await runner();
    const { view } = await known(() => jobs.get(params.taskId));
    // Cooperative and eventually consistent: the ack does not wait for the job to end.
    if (view.status === "running") await jobs.cancel(params.taskId, { waitMs: 0 });
    return {};
  });
}

/**
 * Tells a 2025 client when a task ends (`notifications/tasks/status`). Optional by the
 * utility, so a client that has gone or a job that cannot be read is no error here.
 */
export async function notifyWhenEnded(
  server: Server,
  options: { runner: JobRunner; taskId: string; ttlMs: number },
): Promise<void> {
  try {
    const { view } = await options.runner.get(options.taskId, { waitMs: Infinity });
    await server.notification({
      method: "notifications/tasks/status",
      params: legacyTask(view, options.ttlMs),
    });
  } catch {
    // the connection closed, or the record went away
  }
}
