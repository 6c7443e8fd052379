/** A lock that holds across processes: an exclusive lock on a file, taken in turn within this one. */

import { dirname, resolve } from "node:path";

/**
 * The lock files this process holds or waits for, each with the tail of its queue. A second
 * `lock()` on another handle in the same process would wait on a blocking thread; the queue
 * keeps those waits in the event loop instead.
 */
const queues = new Map<string, Promise<unknown>>();

async function holdingLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  await Deno.mkdir(dirname(lockPath), { recursive: true });
  using file = await Deno.open(lockPath, { read: true, write: true, create: true });
  await file.lock(true);
  try {
    return await work();
  } finally {
    await file.unlock().catch(() => {}); // closing the handle releases it too
  }
}

/** Runs `work` while holding the lock on `lockPath` (created if missing), one holder at a time. */
export function withFileLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  const key = resolve(lockPath);
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(() => holdingLock(key, work));
  const settled = next.catch(() => {});
  queues.set(key, settled);
  settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return next;
}
