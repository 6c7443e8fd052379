/** What a tool is: its spec (name, schemas, hints) and a handler beside them. */

import type { CallToolResult, ToolAnnotations, z } from "../deps.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Api } from "../openai/api.ts";
import type { EditRouter } from "../openai/edit_route.ts";
import type { Ledger } from "../budget.ts";
import type { SessionStore } from "../sessions/store.ts";
import type { ImageStore } from "../images/storage/image_store.ts";
import type { Progress } from "./progress.ts";

/** Long-lived services a tool handler may use, built once per server. */
export interface ToolContext {
  config: Config;
  log: Logger;
  api: Api;
  router: EditRouter;
  ledger: Ledger;
  sessions: SessionStore;
  /** The saved images, as `image://` resources and inputs. */
  images: ImageStore;
  /** The per-project part of the default output folder (see `defaultProject`). */
  project: string;
}

/** Per-call facilities: cancellation, progress, and log lines that belong to this call. */
export interface CallContext {
  signal: AbortSignal;
  progress: Progress;
  /** Logs to stderr and to the client as part of this call (its level, its request). */
  log: Logger;
}

/** A tool as clients see it: what `tools/list` gives and what each call is checked against. */
export interface ToolSpec<I extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema?: z.ZodObject;
  annotations?: ToolAnnotations;
  /** Extensions' metadata, e.g. the MCP Apps viewer that shows the tool's results. */
  _meta?: Record<string, unknown>;
}

/** One MCP tool: its spec and the handler of its calls, given arguments its schema accepted. */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject> extends ToolSpec<I> {
  handler: (args: z.output<I>, call: CallContext) => Promise<CallToolResult>;
}

/**
 * Declares a tool, inferring the handler's argument type from its input schema. The server
 * parses every call's arguments with `inputSchema` before the handler runs, which is what makes
 * them the schema's output here.
 */
export function defineTool<I extends z.ZodObject>(tool: ToolDefinition<I>): ToolDefinition {
  return { ...tool, handler: (args, call) => tool.handler(args as z.output<I>, call) };
}

/** A tool result with a single text block. */
export function textResult(text: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text }],
    ...(structured ? { structuredContent: structured } : {}),
  };
}
