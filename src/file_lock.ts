/** An exclusive lock on a file, held across processes and within this one. */

import { dirname, resolve } from "node:path";
import { writeAll } from "./bytes.ts";
import { randomHex } from "./fs_atomic.ts";

/** This process as lock files and ledger reservations name it: the pid, and a random id. */
export const PROCESS = Object.freeze({ pid: Deno.pid, id: randomHex(6) });

/** How long to wait for a lock, and what may stop the wait. */
export interface FileLockOptions {
  /** The longest wait for the lock, in ms (default 10 s). */
  timeoutMs?: number;
  /** Stops waiting when aborted; the error is the signal's reason. */
  signal?: AbortSignal;
}

/** The lock was not free within the wait: another holder kept it. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";

  constructor(
    readonly lockPath: string,
    readonly waitedMs: number,
    /** What the lock file says about its holder (`pid 123 since <time>`), when it says anything. */
    readonly holder?: string,
  ) {
    super(
      `timed out after ${Number((waitedMs / 1000).toFixed(1))} s waiting for the lock ${lockPath}` +
        (holder ? ` (held by ${holder})` : ""),
    );
  }
}

/**
 * Waiters per lock path in this process. `Deno.FsFile.lock` is `flock` on Unix and `LockFileEx`
 * on Windows: both lock per open file, so two opens in one process already exclude each other,
 * but each waiter would then hold a blocking thread; and where locks are per process (`fcntl`)
 * they would not exclude at all. This queue makes the in-process order explicit on every platform.
 */
/** A lock file that is a symbolic link: taking it would write through the link. */
export class LockFileLinkError extends Error {
  override name = "LockFileLinkError";

  constructor(readonly lockPath: string) {
    super(`the lock file ${lockPath} is a symbolic link; remove it (the server recreates it)`);
  }
}

const local = new Map<string, { waiters: (() => void)[] }>();

/** Takes this process's turn for `path`; resolves to its release. */
function acquireLocal(path: string, deadline: number, signal?: AbortSignal): Promise<() => void> {
  const release = () => {
    const entry = local.get(path)!;
    const next = entry.waiters.shift();
    if (next) next();
    else local.delete(path);
  };
  const entry = local.get(path);
  if (!entry) {
    local.set(path, { waiters: [] });
    return Promise.resolve(release);
  }
  return new Promise((resolvePromise, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const turn = () => {
      cleanup();
      resolvePromise(release);
    };
    const leave = (error: unknown) => {
      cleanup();
      entry.waiters.splice(entry.waiters.indexOf(turn), 1);
      reject(error);
    };
    const onAbort = () => leave(signal!.reason);
    const startedAt = Date.now();
    const timer = setTimeout(
      () =>
        leave(new LockTimeoutError(path, Date.now() - startedAt, `this process (${PROCESS.pid})`)),
      Math.max(0, deadline - startedAt),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    entry.waiters.push(turn);
  });
}

/** What the lock file says about its holder, if anything. */
async function holderOf(path: string): Promise<string | undefined> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    const { pid, since } = JSON.parse(text);
    return Number.isInteger(pid) && typeof since === "string"
      ? `process ${pid} since ${since}`
      : undefined;
  } catch {
    return undefined;
  }
}

/** Waits for the OS lock on `file`, at most until `deadline`; on giving up the file is closed. */
async function lockFile(
  file: Deno.FsFile,
  path: string,
  deadline: number,
  signal?: AbortSignal,
): Promise<void> {
  const startedAt = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      reject(new LockTimeoutError(path, Date.now() - startedAt, await holderOf(path)));
    }, Math.max(0, deadline - Date.now()));
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([file.lock(true), gaveUp]);
  } catch (error) {
    // The lock request still waits in its thread: closing the file makes it release the lock the
    // moment it gets it.
    file.close();
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort!);
  }
}

/**
 * Runs `work` while holding an exclusive lock on `lockPath`, a file beside the state it guards
 * (created, with its folder, when missing; never removed, since a removed lock file splits the
 * waiters between two files). The lock excludes other processes and other callers in this one,
 * and is released when `work` settles or the process dies. Waits at most `timeoutMs` (then
 * `LockTimeoutError`), or until `signal` aborts.
 */
export async function withFileLock<T>(
  lockPath: string,
  work: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const path = resolve(lockPath);
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  options.signal?.throwIfAborted();
  const releaseLocal = await acquireLocal(path, deadline, options.signal);
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    // The lock file is written (its holder) and emptied: through a link, that would be another
    // file's content. Deno opens through links, so a link is refused before the open.
    const linked = await Deno.lstat(path).then((info) => info.isSymlink, () => false);
    if (linked) throw new LockFileLinkError(path);
    const file = await Deno.open(path, { read: true, write: true, create: true });
    // A link swapped in between the check and the open: the handle is then not the file the
    // path names without following links.
    const [opened, named] = await Promise.all([file.stat(), Deno.lstat(path).catch(() => null)]);
    if (!named || named.isSymlink || (opened.ino !== null && opened.ino !== named.ino)) {
      file.close();
      throw new LockFileLinkError(path);
    }
    await lockFile(file, path, deadline, options.signal);
    try {
      // Who holds it, for the message of whoever times out waiting.
      await file.truncate(0);
      await writeAll(
        file,
        new TextEncoder().encode(
          JSON.stringify({
            pid: PROCESS.pid,
            process: PROCESS.id,
            since: new Date().toISOString(),
          }),
        ),
      );
      return await work();
    } finally {
      await file.truncate(0).catch(() => {});
      file.close(); // closing releases the lock
    }
  } finally {
    releaseLocal();
  }
}
