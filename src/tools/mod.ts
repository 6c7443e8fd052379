/** The tools' handlers and the services they share, built once, on the first call. */

import { Ledger, spendRoot } from "../budget.ts";
import type { Config } from "../config.ts";
import {
  defaultOutputBase,
  defaultOutputDir,
  defaultProject,
  projectFolderName,
} from "../images/storage/output.ts";
import { removeStaleTempFiles } from "../fs_atomic.ts";
import type { Logger } from "../log.ts";
import { Api } from "../openai/api.ts";
import { EditRouter } from "../openai/edit_route.ts";
import { writeScopeProblem } from "../permissions.ts";
import { SessionStore } from "../sessions/store.ts";
import { editImageTool } from "./edit.ts";
import { generateImageTool } from "./generate.ts";
import { sessionTools } from "./sessions.ts";
import { sessionImagesTool } from "../app/session_images.ts";
import { JobRunner } from "../jobs/runner.ts";
import { JobStore } from "../jobs/store.ts";
import { jobTools, type PlainCall, runPlainCall } from "./jobs.ts";
import type { ToolContext, ToolDefinition } from "./tool.ts";
import type { CallToolResult } from "../deps.ts";
import { type ImageStore, localImageStore } from "../images/storage/image_store.ts";

/** The tools by name, each with its handler, and the jobs of calls that outlive a client. */
export interface Toolbox {
  byName: Map<string, ToolDefinition>;
  /** Runs a plain call, which answers with a job when it outlives GPT_IMAGE_2_DETACH_AFTER_S. */
  runCall(tool: ToolDefinition, call: PlainCall): Promise<CallToolResult>;
  /** The jobs of detached calls. */
  jobs: JobRunner;
  /** The saved images (the output root's), as resources. */
  images: ImageStore;
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

/** Temporary files older than this are left from a process that died mid-write. */
const STALE_TEMP_MS = 3_600_000;

/**
 * Removes the temporary files a killed process left in the output root (every project's folder,
 * or `GPT_IMAGE_2_OUTPUT_DIR`). Runs in the background: no call waits for it.
 */
function sweepStaleTempFiles(root: string | undefined, log: Logger): void {
  if (!root) return;
  removeStaleTempFiles(root, { olderThanMs: STALE_TEMP_MS }).then((removed) => {
    if (removed.length) log.info(`removed ${removed.length} stale temporary file(s) in ${root}`);
  }).catch((error) => log.debug(`could not sweep ${root}: ${error}`));
}

/** Options of `createToolbox`. */
export interface ToolboxOptions {
  config: Config;
  log: Logger;
  /**
   * The folder of the spend ledger, when it is not the output root's (HTTP mode: every
   * principal's folder lies below it, and each principal is a line of its own).
   */
  ledgerRoot?: string;
  /** The ledger line of this toolbox's spending (HTTP mode: the principal). */
  project?: string;
}

/** Builds the services and the tools for one server (or one principal of an HTTP server). */
export async function createToolbox(options: ToolboxOptions): Promise<Toolbox> {
  const { config, log, ledgerRoot } = options;
  const project = await defaultProject(config);
  let root: string | undefined;
  const outputRoot = () => (root ??= defaultOutputDir(config, project));
  warnIfNotWritable(outputRoot, log);
  sweepStaleTempFiles(
    config.outputDirOverride ? defaultOutputDir(config, project) : defaultOutputBase(config),
    log,
  );
  const api = new Api(config, log);
  const images = localImageStore(outputRoot);
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
      project: options.project ?? (project || await projectFolderName(config.cwd)),
      root: () => ledgerRoot ?? spendRoot(config),
      legacy: () => ledgerRoot || config.outputDirOverride ? undefined : defaultOutputBase(config),
    }),
    sessions: new SessionStore(config, outputRoot, log),
    images,
    project,
  };
  const jobs = new JobRunner({
    store: new JobStore({ root: outputRoot, ttlMs: config.sessionTtlMs, log }),
    log,
    progressIntervalMs: config.progressIntervalMs,
  });
  const tools = [
    generateImageTool(ctx),
    editImageTool(ctx),
    ...sessionTools(ctx),
    ...jobTools({ config, runner: jobs }),
    sessionImagesTool(ctx),
  ];
  return {
    byName: new Map(tools.map((t) => [t.name, t])),
    runCall: (tool, call) => runPlainCall({ config, runner: jobs }, tool, call),
    jobs,
    images,
  };
}
