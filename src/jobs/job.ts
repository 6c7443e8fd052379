/** One tool call in this process: its abort controller, its progress and its result. */

import type { Logger } from "../log.ts";
import type { CallToolResult } from "../deps.ts";
import { Progress, type ProgressSender } from "../tools/progress.ts";
import type { CallContext } from "../tools/tool.ts";
import { ToolError } from "../errors.ts";

/** One call to run as a job. */
export interface StartOptions {
  /** The tool's name, for the record. */
  tool: string;
  /** Runs the call; tool errors come back as error results (it may still throw). */
  run: (call: Omit<CallContext, "log">) => Promise<CallToolResult>;
  /** The request's progress channel, used until the job outlives the request. */
  send?: ProgressSender;
  /** The request's cancel signal, followed until the job outlives the request. */
  signal?: AbortSignal;
}

/** A tool error result with one text block. */
export function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** How a job ended. */
export interface JobEnding {
  status: "completed" | "failed" | "cancelled";
  finished: Date;
  error?: string;
  /** The result, held here only when the job's record could not take it. */
  result?: CallToolResult;
}

/** One call in this process: its abort controller, its progress, its result. */
export class Job {
  readonly created = new Date();
  readonly tool: string;
  readonly progress: Progress;
  /** The call's result; never rejects. */
  readonly finished: Promise<CallToolResult>;
  /** Resolves once the job ended and, for a job with a record, the record says so. */
  settled: Promise<void>;
  /** The last progress message. */
  lastProgress?: string;
  /** Set once the job ended and its ending is stored (or could not be). */
  ending?: JobEnding;
  /** Whether the job's record was written. */
  recorded = false;
  /** Releases the run lock its record's readers watch. */
  releaseRunLock: () => Promise<void> = () => Promise.resolve();
  readonly #controller = new AbortController();
  #send?: ProgressSender;
  #unfollow?: () => void;

  constructor(
    readonly id: string,
    options: StartOptions & { log: Logger; progressIntervalMs: number },
  ) {
    this.tool = options.tool;
    this.#send = options.send;
    this.progress = new Progress((progress, message) => {
      this.lastProgress = message;
      return this.#send?.(progress, message) ?? Promise.resolve();
    }, options.progressIntervalMs);
    const request = options.signal;
    if (request?.aborted) this.abort();
    else if (request) {
      const abort = () => this.abort();
      request.addEventListener("abort", abort, { once: true });
      this.#unfollow = () => request.removeEventListener("abort", abort);
    }
    this.finished = this.#run(options);
    this.settled = this.finished.then(() => {});
  }

  /** The signal the call runs under. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Aborts the call, as a cancel of its request does. */
  abort(): void {
    this.#controller.abort();
  }

  /** Stops following the request that started it: its progress channel and its cancel. */
  detach(): void {
    this.#send = undefined;
    this.#unfollow?.();
    this.#unfollow = undefined;
  }

  async #run(options: StartOptions & { log: Logger }): Promise<CallToolResult> {
    try {
      return await options.run({ signal: this.signal, progress: this.progress });
    } catch (error) {
      if (error instanceof ToolError) return errorResult(error.message);
      options.log.error(`${this.tool} crashed: ${(error as Error)?.stack ?? error}`);
      return errorResult(
        options.log.redact(
          `${this.tool} failed unexpectedly: ${(error as Error)?.message ?? error}`,
        ),
      );
    } finally {
      this.progress.stop();
      this.detach();
    }
  }
}
