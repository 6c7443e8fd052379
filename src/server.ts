/** The MCP server: registers the six tools and turns every failure into a tool error result. */

import { z } from "npm:zod@4.6.7";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type RequestHandlerExtra,
  Server,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from "./mcp_sdk.ts";
import { Ledger } from "./budget.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { defaultOutputDir } from "./images/output.ts";
import { Api } from "./openai/api.ts";
import { EditRouter } from "./openai/edit_route.ts";
import { SessionStore } from "./sessions/store.ts";
import { editTools } from "./tools/edit.ts";
import { generateTools } from "./tools/generate.ts";
import { Progress } from "./tools/progress.ts";
import { sessionTools } from "./tools/sessions.ts";
import type { ToolContext, ToolDefinition } from "./tools/tool.ts";
import { ToolError } from "./tools/tool_error.ts";

/** What `createServer` needs. */
export interface ServerOptions {
  config: Config;
  log: Logger;
  cwd: string;
  version: string;
}

/** Formats schema failures as "input: rule" lines. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join(".") : "arguments";
    return `${path}: ${issue.message}`;
  }).join("; ");
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

function listingOf(tool: ToolDefinition): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: z.toJSONSchema(tool.inputSchema, { io: "input" }) as Tool["inputSchema"],
    ...(tool.outputSchema
      ? {
        outputSchema: z.toJSONSchema(tool.outputSchema, { io: "output" }) as Tool["outputSchema"],
      }
      : {}),
    ...(tool.annotations ? { annotations: tool.annotations } : {}),
  };
}

/** Builds the server and its tools; the tool listing is computed once, here. */
export function createServer(options: ServerOptions): Server {
  const { config, log } = options;
  const server = new Server(
    { name: "gpt-image-2-mcp", version: options.version },
    { capabilities: { tools: {}, logging: {} } },
  );
  // Only after `initialized`: before it the client has had no chance to choose a level.
  server.oninitialized = () =>
    log.attach((level, data) => {
      server.sendLoggingMessage({ level, logger: "gpt-image-2-mcp", data }).catch(() => {});
    });
  let root: string | undefined;
  const outputRoot = () => (root ??= defaultOutputDir(config, options.cwd));
  const api = new Api(config, log);
  const ctx: ToolContext = {
    config,
    log,
    api,
    router: new EditRouter(api, config.editRoute),
    ledger: new Ledger(config, outputRoot, log),
    sessions: new SessionStore(config, outputRoot, log),
    cwd: options.cwd,
  };
  const tools = [...generateTools(ctx), ...editTools(ctx), ...sessionTools(ctx)];
  const byName = new Map(tools.map((t) => [t.name, t]));
  const listing = { tools: tools.map(listingOf) };

  server.setRequestHandler(ListToolsRequestSchema, () => listing);
  server.setRequestHandler(CallToolRequestSchema, async (
    request: CallToolRequest,
    extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
  ): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    const parsed = tool.inputSchema.safeParse(request.params.arguments ?? {});
    if (!parsed.success) {
      return errorResult(`Invalid arguments for ${tool.name}: ${describeIssues(parsed.error)}`);
    }
    const token = request.params._meta?.progressToken;
    const send = token === undefined
      ? undefined
      : (progress: number, message: string) =>
        extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress, message },
        });
    const progress = new Progress(send, config.progressIntervalMs);
    try {
      return await tool.handler(parsed.data, { signal: extra.signal, progress });
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
      progress.stop();
      if (config.debug) {
        // With --v8-flags=--expose-gc (tests), this reports the live set rather than garbage.
        (globalThis as { gc?: () => void }).gc?.();
        const m = Deno.memoryUsage();
        const mb = (n: number) => Math.round(n / 1e5) / 10;
        log.debug(
          `memory: rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB, external ${mb(m.external)} MB`,
        );
      }
    }
  });
  return server;
}
