/**
 * Tool calls as jobs. A job owns its call's abort controller, its progress so far and its final
 * result; once it outlives the request that started it (a plain call that detaches, or a task),
 * it also owns a record on disk that it keeps current until the call ends and then completes
 * with the result. Every process on the folder reads those records; only the owner runs the job.
 *
 * @module
 */

import { randomHex } from "../fs_atomic.ts";
import type { Logger } from "../log.ts";
import type { CallToolResult } from "../deps.ts";
import { ToolError } from "../errors.ts";
import { errorResult, Job, type StartOptions } from "./job.ts";
import type { ProgressSender } from "../tools/progress.ts";
import type { JobRecord, JobStore, Owner } from "./store.ts";
import { settlesWithin, sleep } from "./wait.ts";

/** A job's state as readers see it: `lost` is a running record whose server is gone. */
export type JobStatus = JobRecord["status"] | "lost";

/** What a reader learns about a job. */
export interface JobView {
  id: string;
  tool: string;
  status: JobStatus;
  /** When the call started and when the job was last heard from (ISO 8601), as tasks report. */
  created: string;
  updated: string;
  /** Time from the start of the call to now, or to its end. */
  elapsedMs: number;
  progress?: string;
  /** Why it failed, was cancelled or was lost. */
  error?: string;
  /** Another process asked for the cancel; the owner has not acted on it yet. */
  cancelRequested?: boolean;
}

/** A job's view and, once it completed or failed, the tool result it came to. */
export interface JobOutcome {
  view: JobView;
  result?: CallToolResult;
}

/** A plain call: its answer, or a job's when it runs longer than `detachAfterMs`. */
export interface CallOptions extends StartOptions {
  signal: AbortSignal;
  /** 0: the call never detaches (calls made as tasks, quick tools). */
  detachAfterMs: number;
  /** The answer that tells the caller the call goes on as a job. */
  detached: (view: JobView) => CallToolResult;
}

/** How the runner keeps its records current and judges other processes' records. */
export interface JobRunnerOptions {
  store: JobStore;
  log: Logger;
  /** Progress heartbeat of each call (`GPT_IMAGE_2_PROGRESS_INTERVAL_MS`). */
  progressIntervalMs: number;
  /** How often a running job's record is rewritten (its heartbeat). */
  heartbeatMs?: number;
  /** A running record not rewritten for this long belongs to a server that is gone. */
  staleMs?: number;
  /** How often a wait re-reads a record another process owns. */
  pollMs?: number;
  /** This process as its records name it (default: its pid and a fresh random id). */
  owner?: Owner;
}

function textOf(result: CallToolResult): string {
  return result.content.flatMap((c) => c.type === "text" ? [c.text] : []).join("\n");
}

/** The result without its inline images, for when it cannot be kept whole. */
function withoutInlineImages(result: CallToolResult, why: string): CallToolResult {
  return {
    ...result,
    content: [
      ...result.content.filter((c) => c.type !== "image"),
      { type: "text", text: `Note: the inline image was not kept (${why}).` },
    ],
  };
}

function savedFiles(result: CallToolResult): string[] {
  const images = (result.structuredContent as Record<string, unknown> | undefined)?.images;
  if (!Array.isArray(images)) return [];
  return images.flatMap((i) => typeof i?.file_path === "string" ? [i.file_path] : []);
}

/** A record as judged by this process: `lost` says why its job is lost, if it is. */
interface Judged {
  record: JobRecord;
  lost?: string;
}

const SWEEP_EVERY_MS = 60_000;

/** Runs calls as jobs for one server process, and answers for any job on the folder. */
export class JobRunner {
  /** This process as its records name it. */
  readonly owner: Owner;
  /** Jobs of this process with a record, until the record holds their ending. */
  readonly #jobs = new Map<string, Job>();
  #heartbeat?: ReturnType<typeof setInterval>;
  #beating = false;
  #lastSweep = -Infinity;
  #sweeping: Promise<void> = Promise.resolve();
  readonly #heartbeatMs: number;
  readonly #staleMs: number;
  readonly #pollMs: number;

  constructor(readonly options: JobRunnerOptions) {
    this.owner = options.owner ?? { pid: Deno.pid, process: randomHex(8) };
    this.#heartbeatMs = options.heartbeatMs ?? 10_000;
    this.#staleMs = options.staleMs ?? 60_000;
    this.#pollMs = options.pollMs ?? 250;
  }

  /** Whether a job of this process is still running or writing its ending. */
  get busy(): boolean {
    return this.#jobs.size > 0;
  }

  get #store(): JobStore {
    return this.options.store;
  }

  /** Starts a call as a job of this process, without a record (see `record`). */
  start(options: StartOptions, id = this.#store.newId()): Job {
    return new Job(id, {
      ...options,
      log: this.options.log,
      progressIntervalMs: this.options.progressIntervalMs,
    });
  }

  /**
   * Gives a running job its record, keeps the record current while the job runs, and completes
   * it with the job's ending. A job whose record cannot be written is served from this process.
   */
  async record(job: Job): Promise<void> {
    this.#jobs.set(job.id, job);
    const written = this.#store.create({
      id: job.id,
      tool: job.tool,
      status: "running",
      created: job.created.toISOString(),
      updated: new Date().toISOString(),
      owner: this.owner,
      ...(job.lastProgress ? { progress: job.lastProgress } : {}),
    }).then((release) => {
      job.releaseRunLock = release;
      return true;
    }, (error: Error) => {
      this.options.log.warning(
        `job ${job.id}: its record cannot be written (${error.message}); ` +
          `only this server process can answer for it`,
      );
      return false;
    });
    job.settled = Promise.all([job.finished, written])
      .then(([result]) => this.#end(job, result))
      .catch((error: Error) => {
        this.options.log.error(`job ${job.id}: ${error.stack ?? error}`);
        job.ending = { status: "failed", finished: new Date(), error: String(error) };
      });
    job.recorded = await written;
    this.#startHeartbeat();
    this.#sweepNowAndThen();
  }

  /**
   * Starts a call made as an MCP task: it runs under its own signal, never the request's (the
   * request is answered at once), and has its record before this resolves, so the task can be
   * read from then on.
   */
  async startTask(
    options: Omit<StartOptions, "signal" | "send"> & {
      /** The task's progress channel, given its id (its notifications name the task). */
      send?: (taskId: string) => ProgressSender;
    },
  ): Promise<JobView> {
    const id = this.#store.newId();
    const job = this.start({ ...options, send: options.send?.(id) }, id);
    await this.record(job);
    return this.#localView(job);
  }

  /**
   * Runs a plain call. When it is still running after `detachAfterMs`, it answers with
   * `detached` instead and goes on as a job with a record; otherwise it answers as the call did.
   */
  async call(options: CallOptions): Promise<CallToolResult> {
    const job = this.start(options);
    if (
      options.detachAfterMs <= 0 ||
      await settlesWithin(job.finished, options.detachAfterMs) ||
      options.signal.aborted
    ) {
      return await job.finished;
    }
    job.detach();
    await this.record(job);
    this.options.log.notice(
      `${job.tool} still running after ${options.detachAfterMs} ms: it goes on as job ${job.id}`,
    );
    return options.detached(this.#localView(job));
  }

  /**
   * The job's state and, once it completed or failed, its result. A running job is waited for
   * up to `waitMs` or until `signal` aborts: through its promise when this process runs it, by
   * re-reading its record when another does.
   */
  async get(
    id: string,
    options: { waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<JobOutcome> {
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      const outcome = await this.#peek(id);
      const left = deadline - Date.now();
      if (outcome.view.status !== "running" || left <= 0 || options.signal?.aborted) {
        return outcome;
      }
      const local = this.#jobs.get(id);
      if (local) await settlesWithin(local.settled, left, options.signal);
      else await sleep(Math.min(this.#pollMs, left), options.signal);
    }
  }

  /**
   * Cancels a running job and waits up to `waitMs` for it to end. Another process's job is
   * marked on its record; that process aborts it at its next heartbeat. `alreadyEnded` says the
   * job had ended before.
   */
  async cancel(
    id: string,
    options: { waitMs?: number } = {},
  ): Promise<{ view: JobView; alreadyEnded: boolean }> {
    const waitMs = options.waitMs ?? 10_000;
    const local = this.#jobs.get(id);
    if (local && !local.ending) {
      local.abort();
      await settlesWithin(local.settled, waitMs);
      return { view: (await this.#peek(id)).view, alreadyEnded: false };
    }
    const { view } = await this.#peek(id);
    if (view.status !== "running") return { view, alreadyEnded: true };
    await this.#store.update(
      id,
      (r) => r.status === "running" ? { ...r, cancel_requested: true } : r,
    );
    return { view: (await this.get(id, { waitMs })).view, alreadyEnded: false };
  }

  /** Every job on the folder, newest first. */
  async list(): Promise<JobView[]> {
    const records = await this.#store.list();
    return await Promise.all(records.map(async (r) => {
      const local = this.#jobs.get(r.id);
      return local ? this.#localView(local) : this.#recordView(await this.#judge(r));
    }));
  }

  /** Resolves once every job this process gave a record has ended and its ending is stored. */
  async settled(): Promise<void> {
    for (;;) {
      const jobs = [...this.#jobs.values()];
      await Promise.all([...jobs.map((j) => j.settled), this.#sweeping]);
      if ([...this.#jobs.values()].every((j) => jobs.includes(j))) return;
    }
  }

  async #end(job: Job, result: CallToolResult): Promise<void> {
    const status = !result.isError ? "completed" : job.signal.aborted ? "cancelled" : "failed";
    const finished = new Date();
    const error = status === "completed" ? undefined : textOf(result);
    const { log } = this.options;
    let kept = status === "cancelled" ? undefined : result;
    let stored = job.recorded;
    if (status === "completed" && stored) {
      try {
        await this.#store.saveResult(job.id, result); // uses up the inline images' strings
      } catch (saveError) {
        const why = `the result could not be stored: ${(saveError as Error).message}`;
        log.warning(`job ${job.id}: ${why}`);
        kept = withoutInlineImages(result, why);
        stored = await this.#store.saveResult(job.id, kept).then(() => true, () => false);
      }
    } else if (status === "completed") {
      // Held for readers that may come more than once: only plain strings can be sent twice.
      kept = withoutInlineImages(result, "this server could not write the job's record");
    }
    if (stored) {
      const record = await this.#store.update(job.id, (r) => ({
        ...r,
        status,
        updated: finished.toISOString(),
        finished: finished.toISOString(),
        ...(job.lastProgress ? { progress: job.lastProgress } : {}),
        ...(error !== undefined ? { error } : {}),
        ...(status === "completed" ? { files: savedFiles(result) } : {}),
      })).catch((updateError: Error) => {
        log.warning(`job ${job.id}: its ending cannot be recorded: ${updateError.message}`);
        return undefined;
      });
      stored = record !== undefined;
    }
    log.info(`job ${job.id} (${job.tool}) ${status}`);
    job.ending = { status, finished, error, ...(stored ? {} : { result: kept }) };
    if (stored) {
      // Held until the record says how the job ended: readers take a free lock for a gone owner.
      await job.releaseRunLock();
      this.#jobs.delete(job.id);
    }
    if ([...this.#jobs.values()].every((j) => j.ending)) this.#stopHeartbeat();
  }

  /** The job as things stand: from this process while it holds the job, else from its record. */
  async #peek(id: string): Promise<JobOutcome> {
    const local = this.#jobs.get(id);
    // A job that ended and stored its result is read from its record: between storing it and
    // leaving this process's list, the job holds no result of its own.
    if (local && (!local.ending || local.ending.result || !local.recorded)) {
      return { view: this.#localView(local), result: local.ending?.result };
    }
    const read = await this.#store.read(id);
    let judged = read && await this.#judge(read);
    const over = judged && (judged.record.status !== "running" || judged.lost !== undefined);
    if (judged && over && this.#store.expired(judged.record)) {
      await this.#store.locked(() => this.#store.remove(id)).catch(() => {});
      judged = undefined;
    }
    if (!judged) {
      throw new ToolError(
        `Job ${id} does not exist or has expired (jobs are kept for GPT_IMAGE_2_SESSION_TTL_MS ` +
          `after they end). Run the call again.`,
      );
    }
    const { record } = judged;
    const view = this.#recordView(judged);
    if (view.status === "failed") return { view, result: errorResult(record.error ?? "") };
    if (view.status !== "completed") return { view };
    const result = await this.#store.readResult(id).catch((error: Error) => error);
    if (result instanceof Error || !result) {
      const why = result instanceof Error ? result.message : "its result file is missing";
      const files = record.files?.length ? ` Its images are saved: ${record.files.join(", ")}` : "";
      return { view, result: errorResult(`Job ${id} completed, but ${why}.${files}`) };
    }
    return { view, result };
  }

  #localView(job: Job): JobView {
    const end = job.ending;
    return {
      id: job.id,
      tool: job.tool,
      status: end?.status ?? "running",
      created: job.created.toISOString(),
      updated: (end?.finished ?? new Date()).toISOString(),
      elapsedMs: (end?.finished.getTime() ?? Date.now()) - job.created.getTime(),
      ...(job.lastProgress ? { progress: job.lastProgress } : {}),
      ...(end?.error !== undefined ? { error: end.error } : {}),
    };
  }

  #recordView({ record, lost }: Judged): JobView {
    const end = record.finished ? Date.parse(record.finished) : Date.now();
    return {
      id: record.id,
      tool: record.tool,
      status: lost ? "lost" : record.status,
      created: record.created,
      updated: record.updated,
      elapsedMs: end - Date.parse(record.created),
      ...(record.progress ? { progress: record.progress } : {}),
      ...(lost ? { error: lost } : record.error !== undefined ? { error: record.error } : {}),
      ...(record.cancel_requested && !lost && record.status === "running"
        ? { cancelRequested: true }
        : {}),
    };
  }

  /**
   * A record, read again if need be, and why its job is lost when it is: a running record whose
   * owner no longer holds the job's run lock (or, where locks do not work, has not written it
   * for `staleMs`).
   */
  async #judge(record: JobRecord): Promise<Judged> {
    if (record.status !== "running" || this.#jobs.has(record.id)) return { record };
    const { pid, process } = record.owner;
    const stopped =
      `the server stopped while it ran (pid ${pid}, last heard from ${record.updated})`;
    // Not among this process's jobs, so not running here; and no other live process has its pid.
    if (process === this.owner.process || pid === this.owner.pid) return { record, lost: stopped };
    const free = await this.#store.runLocks.free(record.id);
    if (free === false) return { record };
    if (free === undefined && Date.now() - Date.parse(record.updated) <= this.#staleMs) {
      return { record };
    }
    // The owner may have ended the job just now and let go: its record says so by then.
    const again = await this.#store.read(record.id);
    if (!again) return { record };
    return again.status === "running" ? { record: again, lost: stopped } : { record: again };
  }

  #startHeartbeat(): void {
    if (this.#heartbeat || [...this.#jobs.values()].every((j) => j.ending)) return;
    this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs);
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** Rewrites each running job's record, and aborts those another process asked to cancel. */
  async #beat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    try {
      for (const job of this.#jobs.values()) {
        if (job.ending || !job.recorded) continue;
        const record = await this.#store.update(
          job.id,
          (r) =>
            r.status === "running"
              ? {
                ...r,
                updated: new Date().toISOString(),
                ...(job.lastProgress ? { progress: job.lastProgress } : {}),
              }
              : r,
        ).catch((error: Error) => {
          this.options.log.warning(`job ${job.id}: heartbeat not written: ${error.message}`);
          return undefined;
        });
        if (record?.status === "running" && record.cancel_requested) {
          this.options.log.notice(`job ${job.id}: cancelled from another server process`);
          job.abort();
        }
      }
    } finally {
      this.#beating = false;
    }
  }

  #sweepNowAndThen(): void {
    if (Date.now() - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = Date.now();
    this.#sweeping = this.#store.sweep(async (r) =>
      r.status === "running" && (await this.#judge(r)).lost === undefined
    )
      .then((ids) => {
        if (ids.length) this.options.log.info(`expired jobs removed: ${ids.join(", ")}`);
      })
      .catch((error: Error) => this.options.log.warning(`job sweep failed: ${error.message}`));
  }
}
