/** Edit sessions as small JSON records on disk, so that they survive a server restart. */

import { join } from "node:path";
import { z } from "../deps.ts";
import type { Config } from "../config.ts";
import { LockTimeoutError, withFileLock } from "../file_lock.ts";
import { placeFileAtomic, randomHex, replaceFileAtomic } from "../fs_atomic.ts";
import type { Logger } from "../log.ts";
import { vetWritePathSync } from "../sandbox.ts";
import { ToolError } from "../errors.ts";
import {
  BACKGROUNDS,
  COMPLEXITIES,
  GIF_FRAMES,
  MODERATIONS,
  OUTPUT_FORMATS,
  QUALITIES,
} from "../models.ts";
import { describeIssues } from "../record_issues.ts";

const ID_PATTERN = /^edit-\d{1,13}-[0-9a-f]{8}$/;

const settingsSchema = z.object({
  /** Absent in records written before sessions kept a model: GPT_IMAGE_2_MODEL then applies. */
  model: z.string().min(1).max(100).optional(),
  size: z.string().min(1),
  quality: z.enum(QUALITIES),
  output_format: z.enum(OUTPUT_FORMATS),
  background: z.enum(BACKGROUNDS).optional(),
  output_compression: z.number().int().min(0).max(100).optional(),
  moderation: z.enum(MODERATIONS).optional(),
  complexity: z.enum(COMPLEXITIES).optional(),
  frame_count: z.number().int().min(GIF_FRAMES.count.min).max(GIF_FRAMES.count.max).optional(),
  frame_duration_ms: z.number().int().min(GIF_FRAMES.durationMs.min)
    .max(GIF_FRAMES.durationMs.max).optional(),
});

/** What a session record on disk must hold. */
export const sessionRecordSchema = z.object({
  id: z.string().regex(ID_PATTERN),
  created: z.iso.datetime(),
  updated: z.iso.datetime(),
  turns: z.number().int().min(1),
  last_prompt: z.string(),
  last_image: z.string().min(1),
  output_dir: z.string().min(1),
  filename_prefix: z.string().optional(),
  settings: settingsSchema,
});

/** Output settings a session keeps between turns. */
export type SessionSettings = z.infer<typeof settingsSchema>;

/** The names of those settings. */
export const SESSION_SETTING_KEYS = settingsSchema.keyof().options;

/** One session's record: the path of its last image, never the image itself. */
export type SessionRecord = z.infer<typeof sessionRecordSchema>;

/** `1.5 s`, `30 min`, `24 h`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

/** How long to wait for a session that is busy before giving up on removing it. */
const REMOVE_WAIT_MS = 500;

/**
 * Stores sessions under `<output root>/.sessions/`, with an idle TTL and a cap. Each record has a
 * lock file beside it (`<id>.lock`): a turn holds it from reading the record to saving the next
 * one, in whichever process runs the turn, so turns of one session form one chain.
 */
export class SessionStore {
  constructor(
    readonly config: Config,
    readonly root: () => string,
    readonly log: Logger,
    /** The longest wait for a busy session (default: the longest a turn can run). */
    readonly options: { turnWaitMs?: number } = {},
  ) {}

  /** The folder holding the records; refused when a link leads it out of the output root. */
  get dir(): string {
    const dir = join(this.root(), ".sessions");
    vetWritePathSync(dir, {
      label: "session folder",
      home: this.config.homeDir,
      within: this.root(),
    });
    return dir;
  }

  /** A fresh session id such as `edit-1761149123-a1b2c3d4`. */
  newId(): string {
    return `edit-${Math.floor(Date.now() / 1000)}-${randomHex(4)}`;
  }

  #path(id: string): string {
    if (!ID_PATTERN.test(id)) {
      throw new ToolError(
        `session_id "${
          id.slice(0, 80)
        }" is not a session id (expected edit-<seconds>-<8 hex digits>). ` +
          `Use list_edit_sessions to see the open ones, or start_edit_session to begin one.`,
      );
    }
    return join(this.dir, `${id}.json`);
  }

  #lockPath(id: string): string {
    return join(this.dir, `${id}.lock`);
  }

  #expired(record: SessionRecord, now = Date.now()): boolean {
    return now - Date.parse(record.updated) > this.config.sessionTtlMs;
  }

  /** The longest a turn can run: every attempt timing out, with the longest waits between. */
  get #turnMs(): number {
    return this.options.turnWaitMs ??
      (this.config.timeoutMs + 60_000) * (this.config.maxRetries + 1) + 60_000;
  }

  /**
   * Runs `work` for one session at a time, in this process and across processes: `work`
   * re-reads the record under the lock and saves the next one before it ends.
   */
  async withLock<T>(
    id: string,
    work: () => Promise<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const path = this.#path(id);
    // No record, nothing to guard: `work` finds none, and no lock file is left behind for it.
    if (!await Deno.lstat(path).then(() => true, () => false)) return await work();
    try {
      return await withFileLock(this.#lockPath(id), async () => {
        try {
          return await work();
        } finally {
          // Ended while this caller waited (or by `work`): its lock file goes with the record.
          if (!await Deno.lstat(path).then(() => true, () => false)) {
            await Deno.remove(this.#lockPath(id)).catch(() => {});
          }
        }
      }, { timeoutMs: this.#turnMs, signal: options.signal });
    } catch (error) {
      if (!(error instanceof LockTimeoutError)) throw error;
      throw new ToolError(
        `Session ${id} is busy: another turn has held it for ${formatDuration(error.waitedMs)}${
          error.holder ? ` (${error.holder})` : ""
        }. Try again when that turn has finished.`,
      );
    }
  }

  /** Reads and checks a record; undefined when there is none. A broken one is moved aside. */
  async #read(path: string, id: string): Promise<SessionRecord | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw new ToolError(`Session ${id}: its record ${path} cannot be read: ${error}`);
    }
    let detail: string;
    try {
      const parsed = sessionRecordSchema.safeParse(JSON.parse(text));
      if (parsed.success && parsed.data.id === id) return parsed.data;
      detail = parsed.success
        ? `it holds session ${parsed.data.id}`
        : describeIssues(parsed.error, "record");
    } catch (error) {
      detail = `not JSON: ${(error as Error).message.slice(0, 120)}`;
    }
    const aside = join(
      this.dir,
      `${id}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
    );
    await placeFileAtomic(path, aside).catch((error) => {
      throw new ToolError(
        `Session ${id}: its record ${path} is broken (${detail}) and could not be moved ` +
          `aside: ${error}. Start a new session with start_edit_session.`,
      );
    });
    throw new ToolError(
      `Session ${id}: its record ${path} is broken (${detail}); it is moved to ${aside}, ` +
        `unchanged. Start a new session with start_edit_session.`,
    );
  }

  /** Loads a live session or explains why there is none. Call it under `withLock`. */
  async get(id: string): Promise<SessionRecord> {
    const path = this.#path(id);
    const record = await this.#read(path, id);
    if (!record) {
      throw new ToolError(
        `Session ${id} does not exist or has ended. Start a new one with start_edit_session.`,
      );
    }
    if (this.#expired(record)) {
      await this.#remove(id);
      throw new ToolError(
        `Session ${id} expired after ${formatDuration(this.config.sessionTtlMs)} idle ` +
          `(GPT_IMAGE_2_SESSION_TTL_MS). Start a new one with start_edit_session.`,
      );
    }
    return record;
  }

  /** Writes a record atomically. */
  async save(record: SessionRecord): Promise<void> {
    await replaceFileAtomic(this.#path(record.id), JSON.stringify(record, null, 2) + "\n");
  }

  /**
   * Removes a record and its lock file; only under the session's lock, so no turn is running.
   * Ids are never reused, so a waiter left on the removed lock file finds no record and stops.
   */
  async #remove(id: string): Promise<void> {
    await Deno.remove(this.#path(id)).catch(() => {});
    await Deno.remove(this.#lockPath(id)).catch(() => {});
  }

  /** Removes a session unless a turn holds it now; says whether it did. */
  async #removeIdle(id: string, still: (record: SessionRecord) => boolean): Promise<boolean> {
    try {
      return await withFileLock(this.#lockPath(id), async () => {
        const record = await this.#read(this.#path(id), id).catch(() => undefined);
        if (record && !still(record)) return false;
        await this.#remove(id);
        return true;
      }, { timeoutMs: REMOVE_WAIT_MS });
    } catch (error) {
      if (error instanceof LockTimeoutError) return false;
      throw error;
    }
  }

  /** Makes room for one more session, ending the least recently used idle ones past the cap. */
  async makeRoom(): Promise<string[]> {
    const live = await this.list();
    const evicted: string[] = [];
    while (live.length >= this.config.sessionMax) {
      const oldest = live.pop()!;
      // A session that is in a turn right now is not the least recently used: it stays.
      if (!await this.#removeIdle(oldest.id, (r) => r.updated === oldest.updated)) continue;
      evicted.push(oldest.id);
      this.log.notice(
        `session ${oldest.id} ended: GPT_IMAGE_2_SESSION_MAX=${this.config.sessionMax} reached`,
      );
    }
    return evicted;
  }

  /** Ends a session; the images it made stay on disk. Call it under `withLock`. */
  async end(id: string): Promise<SessionRecord> {
    const record = await this.get(id);
    await Deno.remove(this.#path(id));
    await Deno.remove(this.#lockPath(id)).catch(() => {});
    return record;
  }

  /** Live sessions, most recently used first; expired and broken records are removed on the way. */
  async list(): Promise<SessionRecord[]> {
    const records: SessionRecord[] = [];
    try {
      for await (const entry of Deno.readDir(this.dir)) {
        const id = entry.name.replace(/\.json$/, "");
        if (!entry.isFile || !ID_PATTERN.test(id) || !entry.name.endsWith(".json")) continue;
        const record = await this.#read(join(this.dir, entry.name), id).catch((error) => {
          this.log.warning((error as Error).message);
          return undefined;
        });
        if (!record) continue;
        if (!this.#expired(record)) records.push(record);
        else await this.#removeIdle(id, (r) => this.#expired(r));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return records.sort((a, b) => b.updated.localeCompare(a.updated));
  }
}
