/**
 * Detached calls: a plain image call that outlives `GPT_IMAGE_2_DETACH_AFTER_S` answers with a
 * job, and `get_image_job` / `cancel_image_job` follow it up. Clients cut calls at about a
 * minute; the API takes minutes for large images; the job carries the result across.
 *
 * @module
 */

import type { Config } from "../config.ts";
import type { JobRunner, JobView } from "../jobs/runner.ts";
import { formatDuration } from "../sessions/store.ts";
import type { CallToolResult, z } from "../deps.ts";
import type { ProgressSender } from "./progress.ts";
import {
  cancelImageJobSpec,
  detaches,
  getImageJobSpec,
  type jobStatusSchema,
  MAX_WAIT_S,
} from "./specs.ts";
import { type CallContext, defineTool, type ToolDefinition } from "./tool.ts";

/** How long one `get_image_job` call waits: never longer than a call may run before detaching. */
function maxWaitMs(config: Config): number {
  const cap = MAX_WAIT_S * 1000;
  return config.detachAfterMs > 0 ? Math.min(cap, config.detachAfterMs) : cap;
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/** A job's status as tools report it. */
export type JobStatusContent = z.infer<typeof jobStatusSchema>;

function statusOf(view: JobView): JobStatusContent {
  return {
    job_id: view.id,
    tool: view.tool,
    status: view.status,
    elapsed_s: seconds(view.elapsedMs),
    ...(view.progress ? { progress: view.progress } : {}),
    ...(view.error !== undefined ? { error: view.error } : {}),
    ...(view.cancelRequested ? { cancel_requested: true } : {}),
  };
}

function statusResult(view: JobView, text: string, isError = false): CallToolResult {
  return {
    content: [{ type: "text", text }],
    structuredContent: statusOf(view),
    ...(isError ? { isError } : {}),
  };
}

function nextStep(view: JobView, config: Config): string {
  return `Call get_image_job with {"job_id": "${view.id}"}: it waits up to ` +
    `${formatDuration(maxWaitMs(config))} and returns the result exactly as ${view.tool} ` +
    `would have, or the progress so far; call it again while the status is "running". ` +
    `cancel_image_job with the same job_id stops the job.`;
}

/** The answer of a plain call that goes on as a job. */
export function detachedResult(view: JobView, config: Config): CallToolResult {
  const progress = view.progress ? ` Progress so far: ${view.progress}.` : "";
  return statusResult(
    view,
    `${view.tool} is still running after ${formatDuration(view.elapsedMs)}, so it goes on ` +
      `as job ${view.id}. Nothing is lost: the image is saved when OpenAI answers.${progress}\n` +
      nextStep(view, config),
  );
}

/** What `get_image_job` says of a job that has no result (yet). */
function viewResult(view: JobView, config: Config): CallToolResult {
  const name = `Job ${view.id} (${view.tool})`;
  const after = formatDuration(view.elapsedMs);
  switch (view.status) {
    case "running":
      return statusResult(
        view,
        `${name} is still running after ${after}${view.progress ? `: ${view.progress}` : ""}.\n${
          nextStep(view, config)
        }`,
      );
    case "cancelled":
      return statusResult(view, `${name} was cancelled after ${after}: ${view.error}`);
    case "lost":
      return statusResult(
        view,
        `${name} is lost: ${view.error}. No result was recorded; run the call again.`,
        true,
      );
    case "failed":
      return statusResult(view, `${name} failed after ${after}: ${view.error}`, true);
    case "completed":
      return statusResult(view, `${name} completed after ${after}.`);
  }
}

/** The two job tools. */
export function jobTools(options: { config: Config; runner: JobRunner }): ToolDefinition[] {
  const { config, runner } = options;
  return [
    defineTool({
      ...getImageJobSpec,
      handler: async (args, call) => {
        const cap = maxWaitMs(config);
        const waitMs = args.wait_s === undefined ? cap : Math.min(args.wait_s * 1000, cap);
        const { view, result } = await runner.get(args.job_id, { waitMs, signal: call.signal });
        return view.status === "completed" && result ? result : viewResult(view, config);
      },
    }),
    defineTool({
      ...cancelImageJobSpec,
      handler: async (args) => {
        const { view, alreadyEnded } = await runner.cancel(args.job_id);
        const name = `Job ${view.id} (${view.tool})`;
        if (alreadyEnded && view.status !== "completed") {
          return statusResult(view, `${name} had already ended (${view.status}): ${view.error}`);
        }
        switch (view.status) {
          case "cancelled":
            return statusResult(view, `Cancelled ${name}: ${view.error}`);
          case "running":
            return statusResult(
              view,
              view.cancelRequested
                ? `${name} runs in another server process, which was asked to cancel it and ` +
                  `does so within seconds. get_image_job tells when it has.`
                : `${name} is being cancelled; get_image_job tells when it has ended.`,
            );
          case "completed":
            return statusResult(
              view,
              `${name} had already completed; nothing was cancelled. get_image_job returns ` +
                `its result.`,
            );
          default:
            return statusResult(view, `${name} had already ended (${view.status}): ${view.error}`);
        }
      },
    }),
  ];
}

/** One plain `tools/call` as the server hands it over. */
export interface PlainCall {
  /** The request's cancel signal. */
  signal: AbortSignal;
  /** The request's progress channel, when the client asked for progress. */
  send?: ProgressSender;
  /** Runs the tool, with tool errors as error results; the call's own log is the caller's. */
  run: (call: Omit<CallContext, "log">) => Promise<CallToolResult>;
}

/** Runs a plain call; a long one of a detaching tool answers with a job instead. */
export function runPlainCall(
  options: { config: Config; runner: JobRunner },
  tool: ToolDefinition,
  call: PlainCall,
): Promise<CallToolResult> {
  const { config, runner } = options;
  return runner.call({
    tool: tool.name,
    ...call,
    detachAfterMs: detaches(tool) ? config.detachAfterMs : 0,
    detached: (view) => detachedResult(view, config),
  });
}
