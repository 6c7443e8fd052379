/**
 * The lock a job's owner holds on `<id>.run.lock` while the job runs. The system releases it when
 * the owner exits, however it exits, so another process tells a running job from one whose
 * server is gone by whether it can take the lock: no process table is needed, which Deno opens
 * only to `--allow-all`.
 *
 * @module
 */

import { settlesWithin } from "./wait.ts";

/** How long a first look waits for a lock that a gone owner left free (it is free at once). */
const FIRST_LOOK_MS = 200;

interface Watch {
  since: number;
  free: Promise<boolean | undefined>;
}

/** Takes run locks for this process's jobs and watches other processes' ones. */
export class RunLocks {
  readonly #watches = new Map<string, Watch>();

  constructor(readonly path: (id: string) => string) {}

  /** Takes the job's run lock; the returned function releases it and removes the file. */
  async hold(id: string): Promise<() => Promise<void>> {
    const path = this.path(id);
    const file = await Deno.open(path, { read: true, write: true, create: true });
    try {
      await file.lock(true);
    } catch (error) {
      file.close();
      throw error;
    }
    let held = true;
    return async () => {
      if (!held) return;
      held = false;
      // Removed first: a process that looks later finds no file, which reads as free as well.
      await Deno.remove(path).catch(() => {});
      await file.unlock().catch(() => {});
      file.close();
    };
  }

  /**
   * Whether no process holds the job's run lock: true (free, or no lock file), false (held), or
   * undefined where locks do not work. While held, one wait on the lock stays pending here, and
   * later looks answer false at once.
   */
  async free(id: string): Promise<boolean | undefined> {
    let watch = this.#watches.get(id);
    if (!watch) {
      const free = this.#watch(id);
      const started: Watch = { since: Date.now(), free };
      this.#watches.set(id, started);
      free.finally(() => this.#watches.delete(id));
      watch = started;
    }
    const left = FIRST_LOOK_MS - (Date.now() - watch.since);
    return await settlesWithin(watch.free, left) ? await watch.free : false;
  }

  async #watch(id: string): Promise<boolean | undefined> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path(id), { read: true });
    } catch (error) {
      return error instanceof Deno.errors.NotFound ? true : undefined;
    }
    try {
      await file.lock(true); // waits while the owner holds it
      await file.unlock();
      return true;
    } catch {
      return undefined;
    } finally {
      file.close();
    }
  }
}
