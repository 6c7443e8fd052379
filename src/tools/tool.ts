/** What a tool is: a name, its schemas, and a handler beside them. */

import type { z } from "npm:zod@4.6.7";
import type { CallToolResult } from "../mcp_sdk.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Api } from "../openai/api.ts";
import type { EditRouter } from "../openai/edit_route.ts";
import type { Ledger } from "../budget.ts";
import type { SessionStore } from "../sessions/store.ts";
import type { Progress } from "./progress.ts";

/** Long-lived services a tool handler may use, built once per server. */
export interface ToolContext {
  config: Config;
  log: Logger;
  api: Api;
  router: EditRouter;
  ledger: Ledger;
  sessions: SessionStore;
  /** The per-project part of the default output folder (see `defaultProject`). */
  project: string;
}

/** Per-call facilities: cancellation and progress. */
export interface CallContext {
  signal: AbortSignal;
  progress: Progress;
}

/** One MCP tool with its schemas next to its handler. */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema?: z.ZodObject;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; openWorldHint?: boolean };
  handler: (args: z.infer<I>, call: CallContext) => Promise<CallToolResult>;
}

/** Declares a tool, inferring the handler's argument type from its input schema. */
export function defineTool<I extends z.ZodObject>(tool: ToolDefinition<I>): ToolDefinition {
  return tool as unknown as ToolDefinition;
}

/** A tool result with a single text block. */
export function textResult(text: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text }],
    ...(structured ? { structuredContent: structured } : {}),
  };
}
