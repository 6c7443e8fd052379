/**
 * The MCP server: the SDK's `McpServer`, one per connection, serving the tools over stdio to
 * clients of both protocol eras (`initialize` and `server/discover`). The tools' specs are
 * registered at once; their handlers and services load on first use, after the first answer.
 *
 * @module
 */

import { type Config, ConfigError } from "./config.ts";
import {
  type CallToolResult,
  type LoggingLevel,
  McpServer,
  type ServerContext,
  serveStdio,
  type StandardSchemaWithJSON,
  type Transport,
  type z,
} from "./deps.ts";
import { ToolError } from "./errors.ts";
import { Logger, type LogLevel } from "./log.ts";
import { registerImageResources } from "./resources.ts";
import { viewerResource } from "./app/register.ts";
import type { Toolbox } from "./tools/mod.ts";
import { listedOutputSchema, TOOL_SPECS } from "./tools/specs.ts";
import type { CallContext, ToolDefinition, ToolSpec } from "./tools/tool.ts";

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
    era: "legacy" | "modern",
    options?: { scope?: CallerScope; perRequest?: boolean },
  ): McpServer;
  /** The toolbox of `scope`, built on first use. */
  toolbox(scope: CallerScope): Promise<Toolbox>;
  /** Calls `listener` after each save of `scope`'s images; returns the function that stops it. */
  watchImages(scope: CallerScope, listener: () => void): () => void;
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

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/**
 * `schema` as the SDK takes it, with its JSON Schema converted once instead of on every
 * `tools/list` (the SDK converts on each listing, ~3 ms for these tools).
 */
function listedSchema<S extends z.ZodType>(
  schema: S,
): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  const standard = schema["~standard"];
  const converted = new Map<string, Record<string, unknown>>();
  const convert = (io: "input" | "output") => (options: { target: string }) => {
    const key = `${io} ${options.target}`;
    let json = converted.get(key);
    // A union (a result, or a detached call's job) is still an object, as MCP requires.
    if (!json) converted.set(key, json = { type: "object", ...standard.jsonSchema[io](options) });
    return json;
  };
  return {
    "~standard": {
      ...standard,
      jsonSchema: { input: convert("input"), output: convert("output") },
    },
  };
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
  /** Who hears of each scope's saves (servers that send list_changed), toolbox loaded or not. */
  const watchers = new Map<string, Set<() => void>>();
  const tools = (scope: CallerScope) => {
    let toolbox = toolboxes.get(scope.key);
    if (!toolbox) {
      toolbox = import("./tools/mod.ts").then(async (m) => {
        const built = await m.createToolbox({ config: scope.config, log, ...scope.toolbox });
        built.images.onChange(() => watchers.get(scope.key)?.forEach((listener) => listener()));
        return built;
      });
      toolboxes.set(scope.key, toolbox);
    }
    return toolbox;
  };
  const watchImages = (scope: CallerScope, listener: () => void) => {
    let set = watchers.get(scope.key);
    if (!set) watchers.set(scope.key, set = new Set());
    set.add(listener);
    return () => void set.delete(listener);
  };
  const defaultScope = options.config instanceof ConfigError
    ? undefined
    : { key: "", config: options.config };
  const preload = (scope = defaultScope) => {
    if (!scope) return;
    tools(scope).catch((error) => log.error(`could not load the tools: ${error}`));
  };
  const inflight = new Set<Promise<unknown>>();
  const config = options.config;
  const detachAfterMs = config instanceof ConfigError ? 0 : config.detachAfterMs;
  const outputSchemaOf = (spec: ToolSpec) => listedOutputSchema(spec, detachAfterMs);

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
  ) {
    if (config instanceof ConfigError) return errorResult(log.redact(configProblem(config)));
    if (!scope) throw new Error("a call without a caller scope");
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
      ctx.mcpReq.log(level, data, "gpt-image-2-mcp").catch(() => {});
    });
    try {
      const toolbox = await tools(scope);
      const tool = toolbox.byName.get(spec.name);
      if (!tool) throw new Error(`no handler is registered for ${spec.name}`);
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

  function createServer(
    era: "legacy" | "modern",
    serverOptions: { scope?: CallerScope; perRequest?: boolean } = {},
  ): McpServer {
    const scope = serverOptions.scope ?? defaultScope;
    const server = new McpServer(
      { name: "gpt-image-2-mcp", version: options.version },
      { capabilities: { tools: { listChanged: false }, logging: {} } },
    );
    for (const spec of TOOL_SPECS) {
      server.registerTool(spec.name, {
        title: spec.title,
        description: spec.description,
        inputSchema: listedSchema(spec.inputSchema),
        ...(outputSchemaOf(spec) ? { outputSchema: listedSchema(outputSchemaOf(spec)!) } : {}),
        ...(spec.annotations ? { annotations: spec.annotations } : {}),
        ...(spec._meta ? { _meta: spec._meta } : {}),
      }, (args, ctx) => track(runCall(spec, args, ctx, scope)));
    }
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
          server.sendLoggingMessage({ level, logger: "gpt-image-2-mcp", data }).catch(() => {});
        });
        preload();
      };
    } else {
      setTimeout(preload, 0); // after the first answer, which is on its way out by then
    }
    return server;
  }

  return { create: createServer, toolbox: tools, watchImages, inflight };
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
