/** The six tools, their shared services, and the listing built once from their schemas. */

import { z } from "npm:zod@4.6.7";
import { Ledger, spendRoot } from "../budget.ts";
import type { Config } from "../config.ts";
import {
  defaultOutputBase,
  defaultOutputDir,
  defaultProject,
  projectFolderName,
} from "../images/output.ts";
import type { Logger } from "../log.ts";
import type { Tool } from "../mcp_sdk.ts";
import { Api } from "../openai/api.ts";
import { EditRouter } from "../openai/edit_route.ts";
import { writeScopeProblem } from "../permissions.ts";
import { SessionStore } from "../sessions/store.ts";
import { editTools } from "./edit.ts";
import { generateTools } from "./generate.ts";
import { sessionTools } from "./sessions.ts";
import type { ToolContext, ToolDefinition } from "./tool.ts";

/** The tools by name, the `tools/list` answer, and argument checking. */
export interface Toolbox {
  byName: Map<string, ToolDefinition>;
  listing: { tools: Tool[] };
  /** The parsed arguments, or a message naming each bad input and its rule. */
  parseArguments(tool: ToolDefinition, args: unknown): { data: unknown } | { error: string };
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
    // One ledger at the output root, whichever folder a call writes to: every project there
    // shares the budget, and each has its line in it.
    ledger: new Ledger({
      config,
      log,
      project: project || await projectFolderName(config.cwd),
      root: () => spendRoot(config),
      legacy: () => config.outputDirOverride ? undefined : defaultOutputBase(config),
    }),
    sessions: new SessionStore(config, outputRoot, log),
    project,
  };
  const tools = [...generateTools(ctx), ...editTools(ctx), ...sessionTools(ctx)];
  return {
    byName: new Map(tools.map((t) => [t.name, t])),
    listing: { tools: tools.map(listingOf) },
    parseArguments: (tool, args) => {
      const parsed = tool.inputSchema.safeParse(args);
      return parsed.success
        ? { data: parsed.data }
        : { error: `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error)}` };
    },
  };
}
