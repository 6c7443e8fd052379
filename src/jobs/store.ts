/**
 * Job records on disk beside the sessions, `<output root>/.jobs/<id>.json`, and each finished
 * job's tool result beside its record, so that any server process on the folder, including the
 * next one after a restart, finds what a job came to.
 *
 * @module
 */

import { join } from "node:path";
import { z } from "../deps.ts";
import { withFileLock } from "../file_lock.ts";
import { randomHex, replaceFileAtomic, tempPath } from "../fs_atomic.ts";
import { writeAll } from "../bytes.ts";
import type { Logger } from "../log.ts";
import type { CallToolResult } from "../deps.ts";
import { ToolError } from "../errors.ts";
import { describeIssues } from "../record_issues.ts";
import { RunLocks } from "./run_lock.ts";

/**
 * A job id. New ids carry 32 hex digits; the 8 of earlier versions are still read, so their jobs
 * are found, listed and swept, and an older server on the same folder is understood.
 */
const ID = String.raw`job-\d{1,13}-(?:[0-9a-f]{32}|[0-9a-f]{8})`;
const ID_PATTERN = new RegExp(`^${ID}$`);
const RECORD_NAME = new RegExp(`^(${ID})\\.json$`);
/** A job's other files: its result, and the lock its owner holds while it runs. */
const BESIDE_NAME = new RegExp(`^(${ID})\\.(result\\.json|run\\.lock)$`);

/** The server process that runs a job: its pid, and a random id that no later process shares. */
export const ownerSchema = z.object({ pid: z.number().int(), process: z.string().min(1) });

/** Who runs a job. */
export type Owner = z.infer<typeof ownerSchema>;

/** One job's record; the result of a completed job is a file of its own. */
export const jobRecordSchema = z.object({
  id: z.string().regex(ID_PATTERN),
  tool: z.string().min(1),
  status: z.enum(["running", "completed", "failed", "cancelled"]),
  created: z.iso.datetime(),
  /** Last heard from: the owner rewrites a running job's record as a heartbeat. */
  updated: z.iso.datetime(),
  finished: z.iso.datetime().optional(),
  owner: ownerSchema,
  /** The last progress message. */
  progress: z.string().optional(),
  /** A failed or cancelled job's error text, as the tool returned it. */
  error: z.string().optional(),
  /** The files a completed job saved, named even when its result file cannot be read. */
  files: z.array(z.string()).optional(),
  /** Set by a process that is not the owner; the owner aborts the job at its next heartbeat. */
  cancel_requested: z.boolean().optional(),
});

/** One job's record. */
export type JobRecord = z.infer<typeof jobRecordSchema>;

const contentBlockSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text"), text: z.string() }),
  z.looseObject({ type: z.literal("image"), data: z.string(), mimeType: z.string() }),
  z.looseObject({
    type: z.literal("resource_link"),
    uri: z.string(),
    name: z.string(),
    mimeType: z.string().optional(),
    size: z.number().optional(),
    description: z.string().optional(),
  }),
]);

/** A stored tool result: the content blocks the image tools return. */
export const storedResultSchema = z.looseObject({
  content: z.array(contentBlockSchema),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});

/** Where job records live and how long finished ones are kept. */
export interface JobStoreOptions {
  /** The output root; records go in its `.jobs` folder. */
  root: () => string;
  /** How long a record is kept after it was last updated (`GPT_IMAGE_2_SESSION_TTL_MS`). */
  ttlMs: number;
  log: Logger;
}

async function removeIfThere(path: string): Promise<void> {
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** Job records under `<output root>/.jobs/`, written atomically, validated when read. */
export class JobStore {
  /** The locks owners hold on their running jobs, which tell other processes they still run. */
  readonly runLocks: RunLocks = new RunLocks((id) => this.runLockPath(id));

  constructor(readonly options: JobStoreOptions) {}

  /** The folder holding the records. */
  get dir(): string {
    return join(this.options.root(), ".jobs");
  }

  /**
   * A fresh job id such as `job-1761149123-` and 32 hex digits: 128 random bits, since over
   * stdio the id is all that guards a job (and a task) from other clients on the folder.
   */
  newId(): string {
    return `job-${Math.floor(Date.now() / 1000)}-${randomHex(16)}`;
  }

  /** The record's path; a malformed id is the caller's error. */
  path(id: string): string {
    if (!ID_PATTERN.test(id)) {
      throw new ToolError(
        `job_id "${id.slice(0, 80)}" is not a job id (expected job-<seconds>-<32 hex digits>, ` +
          `as a detached call returned it).`,
      );
    }
    return join(this.dir, `${id}.json`);
  }

  /** The path of a completed job's result. */
  resultPath(id: string): string {
    return this.path(id).replace(/\.json$/, ".result.json");
  }

  /** The path of the lock a job's owner holds while the job runs. */
  runLockPath(id: string): string {
    return this.path(id).replace(/\.json$/, ".run.lock");
  }

  /** Runs `work` holding the jobs folder's lock, which every process on the folder shares. */
  locked<T>(work: () => Promise<T>): Promise<T> {
    return withFileLock(join(this.dir, ".lock"), work);
  }

  /** Whether a record has outlived the TTL since it was last updated. */
  expired(record: JobRecord, now = Date.now()): boolean {
    return now - Date.parse(record.updated) > this.options.ttlMs;
  }

  /** The record, or undefined when there is none; a record that does not parse is an error. */
  async read(id: string): Promise<JobRecord | undefined> {
    const path = this.path(id);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw new ToolError(`Job ${id}: its record ${path} cannot be read: ${error}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new ToolError(`Job ${id}: its record ${path} is not JSON: ${error}`);
    }
    const parsed = jobRecordSchema.safeParse(data);
    if (!parsed.success || parsed.data.id !== id) {
      throw new ToolError(
        `Job ${id}: its record ${path} is not a job record (${
          parsed.success ? `it names ${parsed.data.id}` : describeIssues(parsed.error, "record")
        }).`,
      );
    }
    return parsed.data;
  }

  /** Writes a record atomically: readers see the old record or the new one. */
  async write(record: JobRecord): Promise<void> {
    const checked = jobRecordSchema.parse(record);
    await replaceFileAtomic(this.path(checked.id), JSON.stringify(checked, null, 2) + "\n");
  }

  /**
   * Writes a running job's first record, holding its run lock from before the record exists
   * (and under the folder's lock, so that no sweep sees the lock file without its record).
   * Returns the release of the run lock.
   */
  create(record: JobRecord): Promise<() => Promise<void>> {
    return this.locked(async () => {
      const release = await this.runLocks.hold(record.id);
      try {
        await this.write(record);
      } catch (error) {
        await release();
        throw error;
      }
      return release;
    });
  }

  /** Reads, changes and writes a record under the lock; undefined when there is no record. */
  update(id: string, change: (record: JobRecord) => JobRecord): Promise<JobRecord | undefined> {
    return this.locked(async () => {
      const record = await this.read(id);
      if (!record) return undefined;
      const next = change(record);
      if (next !== record) await this.write(next);
      return next;
    });
  }

  /**
   * Writes a finished call's result beside its record. The result's large strings (inline
   * images) go to the file as the bytes they are, the way the transport writes them, and are
   * used up: the result cannot be sent afterwards.
   */
  async saveResult(id: string, result: CallToolResult): Promise<void> {
    const path = this.resultPath(id);
    await Deno.mkdir(this.dir, { recursive: true });
    const temp = tempPath(this.dir);
    try {
      {
        using file = await Deno.open(temp, { write: true, createNew: true });
        await writeAll(file, new TextEncoder().encode(JSON.stringify(result)));
      }
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
  }

  /** A completed job's result; undefined when its file is missing. */
  async readResult(id: string): Promise<CallToolResult | undefined> {
    const path = this.resultPath(id);
    let data: unknown;
    try {
      data = JSON.parse(await Deno.readTextFile(path));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw new ToolError(`Job ${id}: its result ${path} cannot be read: ${error}`);
    }
    const parsed = storedResultSchema.safeParse(data);
    if (!parsed.success) {
      throw new ToolError(
        `Job ${id}: its result ${path} is not a tool result (${
          describeIssues(parsed.error, "record")
        }).`,
      );
    }
    return parsed.data;
  }

  /** Removes a job's result and run lock, then its record. */
  async remove(id: string): Promise<void> {
    await removeIfThere(this.resultPath(id));
    await removeIfThere(this.runLockPath(id));
    await removeIfThere(this.path(id));
  }

  /** Every readable record, newest first; unreadable ones are logged and skipped. */
  async list(): Promise<JobRecord[]> {
    const records: JobRecord[] = [];
    for (const name of await this.#names()) {
      const id = RECORD_NAME.exec(name)?.[1];
      if (!id) continue;
      try {
        const record = await this.read(id);
        if (record) records.push(record);
      } catch (error) {
        this.options.log.warning((error as Error).message);
      }
    }
    return records.sort((a, b) => b.created.localeCompare(a.created));
  }

  /**
   * Removes expired records with their files, and files whose record is gone. `keep` spares
   * records that must stay however old (a job still running somewhere). Returns the removed ids.
   */
  sweep(keep: (record: JobRecord) => Promise<boolean>): Promise<string[]> {
    return this.locked(async () => {
      const names = await this.#names();
      const removed: string[] = [];
      const now = Date.now();
      for (const record of await this.list()) {
        if (!this.expired(record, now) || await keep(record)) continue;
        await this.remove(record.id);
        removed.push(record.id);
      }
      const records = new Set(names.flatMap((n) => RECORD_NAME.exec(n)?.[1] ?? []));
      for (const name of names) {
        const id = BESIDE_NAME.exec(name)?.[1];
        if (id && !records.has(id)) await removeIfThere(join(this.dir, name));
      }
      return removed;
    });
  }

  async #names(): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.dir)) if (entry.isFile) names.push(entry.name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return names;
  }
}
