/**
 * The MCP server: the SDK's `McpServer`, one per connection, serving the tools over stdio to
 * clients of both protocol eras (`initialize` and `server/discover`). The tools' specs, their
 * handlers and services load after the first answer, which needs none of them.
 *
 * @module
 */

import { type Config, ConfigError } from "./config.ts";
import {
  type CallToolResult,
  type LoggingLevel,
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext,
  serveStdio,
  type Transport,
  z,
} from "./deps.ts";
import { ToolError } from "./errors.ts";
import { Logger, type LogLevel } from "./log.ts";
import { registerImageResources } from "./resources.ts";
import { viewerResource } from "./app/register.ts";
import type { Toolbox } from "./tools/mod.ts";
import type { ToolCatalog } from "./tools/catalog.ts";
import {
  asksForTask,
  createdTask,
  type Era,
  notifyWhenEnded,
  registerTaskHandlers,
  relatedTask,
  TASKS_CAPABILITY,
  TASKS_EXTENSION,
} from "./tasks.ts";
import type { CallContext, ToolDefinition, ToolSpec } from "./tools/tool.ts";

const LEVELS: readonly LoggingLevel[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];

/**
 * The lowest log level a 2025 client receives: `info` until it calls `logging/setLevel`. A 2026
 * client names a level per request, which the SDK applies; nothing is held back here for it.
 */
class LogFloor {
  level: LoggingLevel = "info";
  constructor(readonly era: Era) {}

  allows(level: LoggingLevel): boolean {
    return this.era === "modern" || LEVELS.indexOf(level) >= LEVELS.indexOf(this.level);
  }
}

/** What `createServerFactory` needs. */
export interface FactoryOptions {
  /** The configuration, or why it could not be read: then every tool call answers with that. */
  config: Config | ConfigError;
  log: Logger;
  version: string;
}

/**
 * Whose calls a server instance serves: `key` names the caller (its toolbox, output folder,
 * sessions, jobs and ledger line are its own), `config` is the configuration its tools run under.
 */
export interface CallerScope {
  key: string;
  config: Config;
  /** Extra services for the toolbox (HTTP mode: the shared ledger root and the caller's line). */
  toolbox?: { ledgerRoot?: string; project?: string };
}

/** Builds server instances that share toolboxes and the calls in flight. */
export interface ServerFactory {
  /** A fresh server for one connection (stdio) or one request (HTTP), serving `scope`. */
  create(
    era: Era,
    options?: { scope?: CallerScope; perRequest?: boolean },
  ): McpServer;
  /** The toolbox of `scope`, built on first use. */
  toolbox(scope: CallerScope): Promise<Toolbox>;
  /** Calls `listener` after each save of `scope`'s images; returns the function that stops it. */
  watchImages(scope: CallerScope, listener: () => void): () => void;
  /**
   * Drops `scope`'s toolbox and listeners unless the toolbox is still loading or one of its jobs
   * still runs: the next call of that caller builds them afresh, as after a restart. Returns
   * whether they were dropped; it decides at once, so no request comes in between.
   */
  release(scope: CallerScope): boolean;
  /** The tool calls now running. */
  inflight: Set<Promise<unknown>>;
}

/** What `serve` needs. */
export interface ServerOptions extends FactoryOptions {
  /** The connection's wire: this process's stdio in production. */
  transport: Transport;
  /** How long calls still running when the client leaves get to wind down (default 5 s). */
  shutdownGraceMs?: number;
}

/** A server at work on one connection. */
export interface Serving {
  /**
   * Settles once the client has gone (stdin closed) and the calls it left behind have been
   * aborted and have finished their cleanup, or the grace period is over.
   */
  done: Promise<void>;
}

const SHUTDOWN_GRACE_MS = 5_000;

/** A `tools/call` request's params as this server reads them (the SDK checks them by the spec). */
const callParams = z.looseObject({
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()).optional(),
  task: z.looseObject({ ttl: z.number().optional() }).optional(),
});
type CallParams = z.output<typeof callParams>;

const listParams = z.looseObject({ cursor: z.string().optional() }).optional();

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** A schema's issues as one line: each with the path of the argument it is about. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) =>
    issue.path.length ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message
  ).join(", ");
}

/** The message every tool call answers with while the configuration is invalid. */
function configProblem(error: ConfigError): string {
  return `Configuration error: ${error.message} Fix it in the env block of this server ` +
    "in your MCP client configuration, then restart the server.";
}

/** The server factory over `options.config`: one toolbox per caller scope. */
export function createServerFactory(options: FactoryOptions): ServerFactory {
  const { log } = options;
  const toolboxes = new Map<string, Promise<Toolbox>>();
  /** The toolboxes that have finished loading. */
  const loaded = new Map<string, Toolbox>();
  /**
   * Who hears of each scope's saves (servers that send list_changed), and how the scope's store
   * stops telling them. The store is asked only while someone listens and once its toolbox is
   * loaded: listening loads nothing before the first answer.
   */
  const watchers = new Map<string, { listeners: Set<() => void>; stop?: () => void }>();
  const hearStore = (key: string, toolbox: Toolbox) => {
    const entry = watchers.get(key);
    if (!entry || entry.stop || entry.listeners.size === 0) return;
    entry.stop = toolbox.images.onChange(() => entry.listeners.forEach((listener) => listener()));
  };
  const tools = (scope: CallerScope) => {
    let toolbox = toolboxes.get(scope.key);
    if (!toolbox) {
      toolbox = import("./tools/mod.ts").then(async (m) => {
        const built = await m.createToolbox({ config: scope.config, log, ...scope.toolbox });
        loaded.set(scope.key, built);
        hearStore(scope.key, built);
        return built;
      });
      toolboxes.set(scope.key, toolbox);
    }
    return toolbox;
  };
  const watchImages = (scope: CallerScope, listener: () => void) => {
    let entry = watchers.get(scope.key);
    if (!entry) watchers.set(scope.key, entry = { listeners: new Set() });
    const listening = entry;
    listening.listeners.add(listener);
    toolboxes.get(scope.key)?.then((toolbox) => hearStore(scope.key, toolbox), () => {});
    return () => {
      listening.listeners.delete(listener);
      if (listening.listeners.size > 0 || watchers.get(scope.key) !== listening) return;
      watchers.delete(scope.key);
      listening.stop?.();
    };
  };
  const defaultScope = options.config instanceof ConfigError
    ? undefined
    : { key: "", config: options.config };
  const config = options.config;
  const detachAfterMs = config instanceof ConfigError ? 0 : config.detachAfterMs;
  let catalogLoad: Promise<ToolCatalog> | undefined;
  /** The tools' specs and schemas, loaded once, after the first answer or on first use. */
  const catalog = () =>
    catalogLoad ??= import("./tools/catalog.ts").then((m) =>
      m.createToolCatalog({ detachAfterMs })
    );
  const preload = (scope = defaultScope) => {
    catalog().catch((error) => log.error(`could not load the tool specs: ${error}`));
    if (!scope) return;
    tools(scope).catch((error) => log.error(`could not load the tools: ${error}`));
  };
  const inflight = new Set<Promise<unknown>>();

  /** The toolbox serving `scope`, and the handler of `spec` in it. */
  async function handlerOf(spec: ToolSpec, scope: CallerScope | undefined) {
    if (!scope) throw new Error("a call without a caller scope");
    const toolbox = await tools(scope);
    const tool = toolbox.byName.get(spec.name);
    if (!tool) throw new Error(`no handler is registered for ${spec.name}`);
    return { toolbox, tool };
  }

  /** Runs one handler; a tool error becomes an error result, never a protocol error. */
  async function runHandler(
    tool: ToolDefinition,
    args: z.output<z.ZodObject>,
    call: CallContext,
  ): Promise<CallToolResult> {
    try {
      return await tool.handler(args, call);
    } catch (error) {
      if (error instanceof ToolError) {
        log.notice(`${tool.name} failed: ${error.message}`);
        return errorResult(log.redact(error.message));
      }
      log.error(`${tool.name} crashed: ${(error as Error)?.stack ?? error}`);
      return errorResult(
        log.redact(`${tool.name} failed unexpectedly: ${(error as Error)?.message ?? error}`),
      );
    } finally {
      if (!(config instanceof ConfigError) && config.debug) {
        // With --v8-flags=--expose-gc (tests), this reports the live set rather than garbage.
        (globalThis as { gc?: () => void }).gc?.();
        const m = Deno.memoryUsage();
        const mb = (n: number) => Math.round(n / 1e5) / 10;
        log.debug(
          `memory: rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB, external ${mb(m.external)} MB`,
        );
      }
    }
  }

  async function runCall(
    spec: ToolSpec,
    args: z.output<z.ZodObject>,
    ctx: ServerContext,
    scope: CallerScope | undefined,
    floor: LogFloor,
  ) {
    const token = ctx.mcpReq._meta?.progressToken;
    const send = token === undefined
      ? undefined
      : (progress: number, message: string) =>
        ctx.mcpReq.notify({
          method: "notifications/progress",
          params: { progressToken: token, progress, message },
        });
    // This call's own lines reach the client as part of it, at the level the client chose.
    const callLog = new Logger(log.options);
    callLog.attach((level: LogLevel, data) => {
      if (floor.allows(level)) ctx.mcpReq.log(level, data, "gpt-image-2-mcp").catch(() => {});
    });
    try {
      const { toolbox, tool } = await handlerOf(spec, scope);
      // A long call of an image tool answers with a job and goes on (src/tools/jobs.ts).
      return await toolbox.runCall(tool, {
        signal: ctx.mcpReq.signal,
        send,
        run: (call) => runHandler(tool, args, { ...call, log: callLog }),
      });
    } catch (error) {
      log.error(`${spec.name} could not run: ${(error as Error)?.stack ?? error}`);
      return errorResult(
        log.redact(`${spec.name} failed unexpectedly: ${(error as Error)?.message ?? error}`),
      );
    }
  }

  function track(call: Promise<CallToolResult>): Promise<CallToolResult> {
    inflight.add(call);
    call.finally(() => inflight.delete(call)).catch(() => {});
    return call;
  }

  const taskTtlMs = config instanceof ConfigError ? 0 : config.sessionTtlMs;

  /** Starts a call as a task and answers with it at once, in the era's shape. */
  async function startTask(
    server: McpServer,
    era: Era,
    spec: ToolSpec,
    args: z.output<z.ZodObject>,
    ctx: ServerContext,
    scope: CallerScope | undefined,
  ) {
    const { toolbox, tool } = await handlerOf(spec, scope);
    // The request's progress token stays valid for the task's lifetime (2025 wire only: the
    // 2026 extension carries progress in the task's status message instead).
    const token = era === "legacy" ? ctx.mcpReq._meta?.progressToken : undefined;
    const send = token === undefined
      ? undefined
      : (taskId: string) => (progress: number, message: string) =>
        server.server.notification({
          method: "notifications/progress",
          params: { progressToken: token, progress, message, _meta: relatedTask(taskId) },
        });
    const view = await toolbox.jobs.startTask({
      tool: spec.name,
      send,
      run: (call) => runHandler(tool, args, { ...call, log }),
    });
    const taskId = view.id;
    log.info(`${spec.name} runs as task ${taskId}`);
    if (era === "legacy") {
      notifyWhenEnded(server.server, { runner: toolbox.jobs, taskId, ttlMs: taskTtlMs });
    }
    return createdTask(era, view, taskTtlMs);
  }

  /**
   * One `tools/call`: the tool, its arguments checked against its schema (a bad one is an error
   * result naming it), then a task when the client asks for one and the tool takes minutes, or
   * the call itself, its `structuredContent` checked against the listed output schema.
   */
  async function callTool(
    server: McpServer,
    era: Era,
    params: CallParams,
    ctx: ServerContext,
    scope: CallerScope | undefined,
    floor: LogFloor,
  ) {
    const { name } = params;
    const known = await catalog();
    const spec = known.spec(name);
    if (!spec) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${name} not found`);
    const parsed = spec.inputSchema.safeParse(params.arguments ?? {});
    if (!parsed.success) {
      return errorResult(
        `Input validation error: Invalid arguments for tool ${name}: ` +
          describeIssues(parsed.error.issues),
      );
    }
    if (config instanceof ConfigError) return errorResult(log.redact(configProblem(config)));
    if (known.detaches(spec) && asksForTask(era, params, ctx)) {
      return await startTask(server, era, spec, parsed.data, ctx, scope);
    }
    const result = await track(runCall(spec, parsed.data, ctx, scope, floor));
    const outputSchema = known.outputSchemaOf(spec);
    if (outputSchema && !result.isError) {
      const checked = outputSchema.safeParse(result.structuredContent);
      if (!checked.success) {
        log.error(`${name} answered outside its output schema: ${checked.error.message}`);
        return errorResult(
          `Output validation error: Invalid structured content for tool ${name}: ` +
            describeIssues(checked.error.issues),
        );
      }
    }
    const listed = known.listing(era).find((t) => t.name === name);
    return server.server.projectCallToolResult(result, listed?.outputSchema);
  }

  function createServer(
    era: Era,
    serverOptions: { scope?: CallerScope; perRequest?: boolean } = {},
  ): McpServer {
    const scope = serverOptions.scope ?? defaultScope;
    const server = new McpServer(
      { name: "gpt-image-2-mcp", version: options.version },
      {
        capabilities: {
          tools: { listChanged: false },
          logging: {},
          ...(era === "legacy"
            ? { tasks: TASKS_CAPABILITY }
            : { extensions: { [TASKS_EXTENSION]: {} } }),
        },
      },
    );
    const floor = new LogFloor(era);
    if (era === "legacy") {
      // The level is kept here, not by the SDK (which sends every level until the client picks
      // one): a client that never calls logging/setLevel gets info and above.
      server.server.setRequestHandler("logging/setLevel", (request) => {
        floor.level = request.params.level;
        return {};
      });
    }
    // Set on the SDK's Server rather than through McpServer.registerTool: its tools/call handler
    // has no room for a call that answers with a task.
    server.server.setRequestHandler("tools/list", { params: listParams }, async () => ({
      tools: (await catalog()).listing(era),
    }));
    server.server.setRequestHandler(
      "tools/call",
      { params: callParams },
      (params, ctx) => callTool(server, era, params, ctx, scope, floor),
    );
    registerTaskHandlers(server.server, {
      era,
      runner: async () => {
        if (config instanceof ConfigError) {
          throw new ProtocolError(ProtocolErrorCode.InternalError, configProblem(config));
        }
        if (!scope) throw new Error("tasks without a caller scope");
        return (await tools(scope)).jobs;
      },
      ttlMs: taskTtlMs,
    });
    registerImageResources(server, {
      images: () =>
        config instanceof ConfigError
          ? Promise.reject(new ToolError(configProblem(config)))
          : tools(scope!).then((t) => t.images),
      watch: era === "legacy" && !serverOptions.perRequest && scope
        ? (listener) => watchImages(scope, listener)
        : undefined,
      fixed: [viewerResource()],
    });
    if (serverOptions.perRequest) {
      // One request's instance: session logs and the preload belong to lasting connections.
      preload(scope);
    } else if (era === "legacy") {
      server.server.oninitialized = () => {
        // Lines that belong to no call reach a 2025 client as session logs, from now on: before
        // `initialized` it has had no chance to choose a level. A 2026 client takes logs only
        // as part of a request, so these stay on stderr there.
        log.attach((level: LoggingLevel, data) => {
          if (!floor.allows(level)) return;
          server.sendLoggingMessage({ level, logger: "gpt-image-2-mcp", data }).catch(() => {});
        });
        preload();
      };
    } else {
      setTimeout(preload, 0); // after the first answer, which is on its way out by then
    }
    return server;
  }

  function release(scope: CallerScope): boolean {
    if (toolboxes.has(scope.key) && !loaded.has(scope.key)) return false;
    if (loaded.get(scope.key)?.jobs.busy) return false;
    toolboxes.delete(scope.key);
    loaded.delete(scope.key);
    watchers.get(scope.key)?.stop?.();
    watchers.delete(scope.key);
    return true;
  }

  return { create: createServer, toolbox: tools, watchImages, release, inflight };
}

/** Serves MCP on `options.transport` until the client goes away. */
export function serve(options: ServerOptions): Serving {
  const { log } = options;
  const { create, inflight } = createServerFactory(options);
  const { transport } = options;
  serveStdio(({ era }) => create(era), {
    transport,
    onerror: (error) => log.debug(`protocol: ${error.message}`),
  });
  // After serveStdio, which sets the transport's own handler: this one runs after it.
  const closed = new Promise<void>((resolve) => {
    const onclose = transport.onclose;
    transport.onclose = () => {
      onclose?.();
      resolve();
    };
  });
  const done = closed.then(async () => {
    // The SDK has aborted every call in flight; each now removes what it wrote and records
    // what was spent. Waiting for that is bounded: a call stuck elsewhere does not hold the exit.
    if (inflight.size === 0) return;
    log.notice(`the client closed the connection; winding down ${inflight.size} call(s)`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
    });
    await Promise.race([Promise.allSettled([...inflight]), grace]);
    clearTimeout(timer);
  });
  return { done };
}
