/** The eight tools, their shared services, and the listing built once from their schemas. */

import { z } from "npm:zod@4.6.7";
import { Ledger } from "../budget.ts";
import type { Config } from "../config.ts";
import { defaultOutputDir, defaultProject } from "../images/output.ts";
import type { Logger } from "../log.ts";
import type { Tool } from "../mcp_sdk.ts";
import { Api } from "../openai/api.ts";
import { EditRouter } from "../openai/edit_route.ts";
import { writeScopeProblem } from "../permissions.ts";
import { JobRunner } from "../jobs/runner.ts";
import { JobStore } from "../jobs/store.ts";
import { SessionStore } from "../sessions/store.ts";
import { editTools } from "./edit.ts";
import { generateTools } from "./generate.ts";
import { jobTools, listedOutputSchema, type PlainCall, runPlainCall } from "./jobs.ts";
import { sessionTools } from "./sessions.ts";
import type { ToolContext, ToolDefinition } from "./tool.ts";
import type { CallToolResult } from "../mcp_sdk.ts";

/** The tools by name, the `tools/list` answer, and argument checking. */
export interface Toolbox {
  byName: Map<string, ToolDefinition>;
  listing: { tools: Tool[] };
  /** The parsed arguments, or a message naming each bad input and its rule. */
  parseArguments(tool: ToolDefinition, args: unknown): { data: unknown } | { error: string };
  /** Runs a plain call, which answers with a job when it outlives GPT_IMAGE_2_DETACH_AFTER_S. */
  runCall(tool: ToolDefinition, call: PlainCall): Promise<CallToolResult>;
  /** The jobs of detached calls (and, later, of tasks). */
  jobs: JobRunner;
}

function listingOf(tool: ToolDefinition, config: Config): Tool {
  const outputSchema = listedOutputSchema(tool, config);
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: z.toJSONSchema(tool.inputSchema, { io: "input" }) as Tool["inputSchema"],
    ...(outputSchema
      ? {
        outputSchema: {
          type: "object",
          ...z.toJSONSchema(outputSchema, { io: "output" }),
        } as Tool["outputSchema"],
      }
      : {}),
    ...(tool.annotations ? { annotations: tool.annotations } : {}),
  };
}

/** Formats schema failures as "input: rule" lines. */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join(".") : "arguments";
    return `${path}: ${issue.message}`;
  }).join("; ");
}

/** Says once, when the tools load, that the default output folder is outside the write scope. */
function warnIfNotWritable(outputRoot: () => string, log: Logger): void {
  try {
    const problem = writeScopeProblem(outputRoot());
    if (problem) log.warning(`default output directory ${outputRoot()}: ${problem}`);
  } catch (error) {
    log.warning((error as Error).message); // no folder at all: every call will say so too
  }
}

/** Builds the services and the tools for one server. */
export async function createToolbox(
  options: { config: Config; log: Logger },
): Promise<Toolbox> {
  const { config, log } = options;
  const project = await defaultProject(config);
  let root: string | undefined;
  const outputRoot = () => (root ??= defaultOutputDir(config, project));
  warnIfNotWritable(outputRoot, log);
  const api = new Api(config, log);
  const ctx: ToolContext = {
    config,
    log,
    api,
    router: new EditRouter(api, config.editRoute),
    ledger: new Ledger(config, outputRoot, log),
    sessions: new SessionStore(config, outputRoot, log),
    project,
  };
  const jobs = new JobRunner({
    store: new JobStore({ root: outputRoot, ttlMs: config.sessionTtlMs, log }),
    log,
    progressIntervalMs: config.progressIntervalMs,
  });
  const tools = [
    ...generateTools(ctx),
    ...editTools(ctx),
    ...sessionTools(ctx),
    ...jobTools({ config, runner: jobs }),
  ];
  return {
    byName: new Map(tools.map((t) => [t.name, t])),
    listing: { tools: tools.map((t) => listingOf(t, config)) },
    runCall: (tool, call) => runPlainCall({ config, runner: jobs }, tool, call),
    jobs,
    parseArguments: (tool, args) => {
      const parsed = tool.inputSchema.safeParse(args);
      return parsed.success
        ? { data: parsed.data }
        : { error: `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error)}` };
    },
  };
}
