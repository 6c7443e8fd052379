/** Edit sessions as small JSON records on disk, so that they survive a server restart. */

import { join } from "node:path";
import type { Config } from "../config.ts";
import { randomHex, readJson, replaceFileAtomic } from "../fs_atomic.ts";
import type { Logger } from "../log.ts";
import { vetWritePathSync } from "../sandbox.ts";
import { ToolError } from "../errors.ts";

/** Output settings a session keeps between turns. */
export interface SessionSettings {
  size: string;
  quality: "auto" | "low" | "medium" | "high";
  output_format: "png" | "jpeg" | "webp";
  background?: "auto" | "opaque";
  output_compression?: number;
  moderation?: "auto" | "low";
}

/** One session's record: the path of its last image, never the image itself. */
export interface SessionRecord {
  id: string;
  created: string;
  updated: string;
  turns: number;
  last_prompt: string;
  last_image: string;
  output_dir: string;
  filename_prefix?: string;
  settings: SessionSettings;
}

/** `1.5 s`, `30 min`, `24 h`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

const ID_PATTERN = /^edit-\d{1,13}-[0-9a-f]{8}$/;

/** Stores sessions under `<output root>/.sessions/`, with an idle TTL and a cap. */
export class SessionStore {
  #locks = new Map<string, Promise<unknown>>();

  constructor(readonly config: Config, readonly root: () => string, readonly log: Logger) {}

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

  #expired(record: SessionRecord, now = Date.now()): boolean {
    return now - Date.parse(record.updated) > this.config.sessionTtlMs;
  }

  /** Runs `work` for one session at a time, in call order. */
  withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => {});
    this.#locks.set(id, settled);
    settled.then(() => {
      if (this.#locks.get(id) === settled) this.#locks.delete(id);
    });
    return next;
  }

  /** Loads a live session or explains why there is none. */
  async get(id: string): Promise<SessionRecord> {
    const path = this.#path(id);
    const record = await readJson<SessionRecord>(path).catch(() => undefined);
    if (!record) {
      throw new ToolError(
        `Session ${id} does not exist or has ended. Start a new one with start_edit_session.`,
      );
    }
    if (this.#expired(record)) {
      await Deno.remove(path).catch(() => {});
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

  /** Makes room for one more session, ending the least recently used ones past the cap. */
  async makeRoom(): Promise<string[]> {
    const live = await this.list();
    const evicted: string[] = [];
    while (live.length >= this.config.sessionMax) {
      const oldest = live.pop()!;
      await Deno.remove(this.#path(oldest.id)).catch(() => {});
      evicted.push(oldest.id);
      this.log.notice(
        `session ${oldest.id} ended: GPT_IMAGE_2_SESSION_MAX=${this.config.sessionMax} reached`,
      );
    }
    return evicted;
  }

  /** Ends a session; the images it made stay on disk. */
  async end(id: string): Promise<SessionRecord> {
    const record = await this.get(id);
    await Deno.remove(this.#path(id));
    return record;
  }

  /** Live sessions, most recently used first; expired records are removed on the way. */
  async list(): Promise<SessionRecord[]> {
    const records: SessionRecord[] = [];
    try {
      for await (const entry of Deno.readDir(this.dir)) {
        const id = entry.name.replace(/\.json$/, "");
        if (!entry.isFile || !ID_PATTERN.test(id) || !entry.name.endsWith(".json")) continue;
        const record = await readJson<SessionRecord>(join(this.dir, entry.name)).catch(() =>
          undefined
        );
        if (!record) continue;
        if (this.#expired(record)) await Deno.remove(join(this.dir, entry.name)).catch(() => {});
        else records.push(record);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return records.sort((a, b) => b.updated.localeCompare(a.updated));
  }
}
