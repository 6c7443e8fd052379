/** The MCP server: answers `initialize` at once, then serves the tools, loaded on first use. */

import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type RequestHandlerExtra,
  type ServerNotification,
  type ServerRequest,
} from "./mcp_sdk.ts";
import { releaseUnsent } from "./json_frame.ts";
import { McpServer } from "./mcp_server.ts";
import type { Toolbox } from "./tools/mod.ts";
import { ToolError } from "./tools/tool_error.ts";

/** What `createServer` needs. */
export interface ServerOptions {
  config: Config;
  log: Logger;
  version: string;
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** Builds the server; the tools and their listing are built once, on first need. */
export function createServer(options: ServerOptions): McpServer {
  const { config, log } = options;
  const server = new McpServer(
    { name: "gpt-image-2-mcp", version: options.version },
    { tools: {}, logging: {} },
  );
  let toolbox: Promise<Toolbox> | undefined;
  const tools = () => toolbox ??= import("./tools/mod.ts").then((m) => m.createToolbox(options));

  server.oninitialized = () => {
    // Only now: before it the client has had no chance to choose a log level.
    log.attach((level, data) => {
      server.sendLoggingMessage({ level, logger: "gpt-image-2-mcp", data }).catch(() => {});
    });
    tools().catch((error) => log.error(`could not load the tools: ${error}`));
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => (await tools()).listing);
  server.setRequestHandler(CallToolRequestSchema, async (
    request: CallToolRequest,
    extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
  ): Promise<CallToolResult> => {
    const { byName, parseArguments, runCall } = await tools();
    const tool = byName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    const parsed = parseArguments(tool, request.params.arguments ?? {});
    if ("error" in parsed) return errorResult(parsed.error);
    const token = request.params._meta?.progressToken;
    const send = token === undefined
      ? undefined
      : (progress: number, message: string) =>
        extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress, message },
        });
    // A long call of an image tool answers with a job and goes on (src/tools/jobs.ts).
    const result = await runCall(tool, {
      signal: extra.signal,
      send,
      run: async ({ signal, progress }) => {
        try {
          return await tool.handler(parsed.data as never, { signal, progress });
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
          if (config.debug) {
            // With --v8-flags=--expose-gc (tests), this reports the live set rather than garbage.
            (globalThis as { gc?: () => void }).gc?.();
            const m = Deno.memoryUsage();
            const mb = (n: number) => Math.round(n / 1e5) / 10;
            log.debug(
              `memory: rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB, external ${
                mb(m.external)
              } MB`,
            );
          }
        }
      },
    });
    if (extra.signal.aborted) releaseUnsent(result); // the SDK sends no answer to a cancel
    return result;
  });
  return server;
}
