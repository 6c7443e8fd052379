/** Atomic file writes: a temporary name in the same folder, then a link or rename into place. */

import { dirname, join } from "node:path";
import { writeAll } from "./bytes.ts";

/** Four to eight random hex digits. */
export function randomHex(bytes = 3): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A fresh temporary file name in `dir`, hidden, which a finished file is moved from. */
export function tempPath(dir: string): string {
  return join(dir, `.${randomHex(4)}.tmp`);
}

/** Makes sure `path`'s folder exists and names a temporary file beside it. */
async function tempBeside(path: string): Promise<string> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true });
  return tempPath(dir);
}

/**
 * Writes `bytes` to a new file through its handle: `Deno.writeFile` copies the whole buffer
 * first, which for a 4K image is 17 MB more at the call's peak.
 */
async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  await writeAll(file, bytes);
}

/**
 * Moves the finished file `temp` (in `path`'s folder) to `path`, which must not exist: throws
 * `AlreadyExists` rather than replace it. When it throws, `temp` is left where it was.
 */
export async function placeFileAtomic(temp: string, path: string): Promise<void> {
  try {
    await Deno.link(temp, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) throw error;
    // Filesystems without hard links: fall back to a checked rename.
    if (await exists(path)) throw new Deno.errors.AlreadyExists(path);
    return await Deno.rename(temp, path);
  }
  await Deno.remove(temp).catch(() => {});
}

/** Writes a new file atomically; throws `AlreadyExists` rather than replace one. */
export async function createFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = await tempBeside(path);
  try {
    await writeNewFile(temp, bytes);
    await placeFileAtomic(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Replaces a small file atomically, so that readers see the old or the new content, never half. */
export async function replaceFileAtomic(path: string, text: string): Promise<void> {
  const temp = await tempBeside(path);
  try {
    await Deno.writeTextFile(temp, text, { createNew: true });
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Reads a JSON file, or undefined when it does not exist. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** A short, actionable description of a filesystem error. */
export function describeFsError(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `${(error as Error).message}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/no space left|ENOSPC|os error 28/i.test(message)) return "the disk is full.";
  return message;
}

/** The names `tempPath` gives. */
const TEMP_NAME = /^\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temporary files (`tempPath` names) below `root` last modified more than
 * `olderThanMs` ago: what a process that died mid-write left behind. Symbolic links are not
 * followed; what cannot be read or removed is left alone. Returns the paths removed.
 */
export async function removeStaleTempFiles(
  root: string,
  options: { olderThanMs: number; now?: number; maxDepth?: number },
): Promise<string[]> {
  const cutoff = (options.now ?? Date.now()) - options.olderThanMs;
  const removed: string[] = [];
  async function sweep(dir: string, depth: number): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory && depth > 0) await sweep(path, depth - 1);
      if (!entry.isFile || !TEMP_NAME.test(entry.name)) continue;
      try {
        const modified = (await Deno.lstat(path)).mtime?.getTime();
        if (modified === undefined || modified > cutoff) continue;
        await Deno.remove(path);
        removed.push(path);
      } catch {
        // Gone already, or not ours to remove.
      }
    }
  }
  await sweep(root, options.maxDepth ?? 4);
  return removed;
}
