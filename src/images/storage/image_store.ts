/**
 * Where the saved images of one caller live, behind one small interface: the tools save into a
 * folder, and `resources/list`, `resources/read` and `image://` inputs reach the images through
 * this. The local store reads the folder on this machine; a shared backend (object storage for
 * several instances) would be another implementation of the same interface.
 */

import { basename, isAbsolute } from "node:path";
import {
  type ImageContent,
  imageIdOf,
  type ImagePage,
  imageUri,
  type LibraryImage,
  listedMimeType,
  pageOf,
  parseImageUri,
  readImage,
  walkImages,
} from "./library.ts";

/** The most bytes one `resources/read` or `image://` input reads whole. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

/** One caller's saved images, addressed by `image://{id}`. */
export interface ImageStore {
  /** One page of the images, newest first; `cursor` is the `nextCursor` of the page before. */
  list(options?: { cursor?: string; limit?: number }): Promise<ImagePage>;
  /** The image with id `id`; ImageNotFound when there is none, ToolError for a bad id. */
  read(id: string): Promise<ImageContent>;
  /** The image behind an `image://` URI; `label` names the argument in errors. */
  readUri(uri: string, options?: { label?: string }): Promise<ImageContent>;
  /** The `image://` URI of a file the tools just saved, or undefined when the store does not hold it. */
  uriOf(path: string): string | undefined;
  /** Says that images were saved: every listener hears of it. */
  changed(): void;
  /**
   * Calls `listener` after each save, this process's or, where the store can see them, another's
   * in the same folder; returns the function that stops it.
   */
  onChange(listener: () => void): () => void;
}

/** A small set of listeners, each called in turn; one that throws does not stop the others. */
function listeners() {
  const set = new Set<() => void>();
  return {
    get size() {
      return set.size;
    },
    emit() {
      for (const listener of [...set]) {
        try {
          listener();
        } catch {
          // A listener's failure (a closed connection) is its own business.
        }
      }
    },
    add(listener: () => void) {
      set.add(listener);
      return () => void set.delete(listener);
    },
  };
}

/** How long file events are gathered into one change. */
const SETTLE_MS = 150;
/** After this process's own save, file events this long are taken as that save's. */
const OWN_SAVE_MS = 1_000;
/**
 * How long one walk of the folder serves the pages after it: a client paging through thousands
 * of images walks the folder once, not once per page. Any save this store hears of ends it sooner.
 */
const WALK_REUSE_MS = 2_000;
/** How often a folder that does not exist yet is looked for again, while anyone listens. */
const FOLDER_RETRY_MS = 5_000;

/**
 * Watches the folder `dir` for images saved by other processes while there are listeners: one
 * `emit` per burst of events. A folder that does not exist yet, or cannot be watched, is not.
 * Only the folder itself, where the tools save by default: a recursive watch of an output folder
 * set to a large tree (~/Pictures) would add a watch per subfolder, up to the system's limit.
 */
function folderWatch(dir: string, emit: () => void, ownSaveUntil: () => number): () => void {
  let watcher: Deno.FsWatcher;
  try {
    watcher = Deno.watchFs(dir, { recursive: false });
  } catch {
    return () => {};
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  (async () => {
    for await (const event of watcher) {
      if (event.kind === "access" || Date.now() < ownSaveUntil()) continue;
      // The watch is not recursive: every path is a file of `dir` itself.
      if (!event.paths.some((path) => listedMimeType(basename(path)))) continue;
      clearTimeout(timer);
      timer = setTimeout(emit, SETTLE_MS);
    }
  })().catch(() => {});
  return () => {
    clearTimeout(timer);
    try {
      watcher.close();
    } catch {
      // closed already
    }
  };
}

/** The images under the folder `root()` on this machine (resolved on first use). */
export function localImageStore(root: () => string): ImageStore {
  const changes = listeners();
  let walked: { at: number; images: Promise<LibraryImage[]> } | undefined;
  /** The images a change makes stale are walked again; then listeners hear of it. */
  const changedOnDisk = () => {
    walked = undefined;
    changes.emit();
  };
  let ownSaveUntil = 0;
  let stopWatching: (() => void) | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  /** Starts watching the folder once it exists (looked for again now and then), while anyone listens. */
  const watch = () => {
    const looked = retry !== undefined;
    clearTimeout(retry);
    retry = undefined;
    if (stopWatching || changes.size === 0) return;
    let dir: string;
    try {
      dir = Deno.realPathSync(root());
    } catch {
      // No folder yet: another process's first save will make it.
      const timer = setTimeout(watch, FOLDER_RETRY_MS);
      Deno.unrefTimer(timer);
      retry = timer;
      return;
    }
    stopWatching = folderWatch(dir, changedOnDisk, () => ownSaveUntil);
    // A folder that appeared while this process was not looking holds what another one saved.
    if (looked && Date.now() >= ownSaveUntil) changedOnDisk();
  };
  const store: ImageStore = {
    async list(options = {}) {
      const now = Date.now();
      if (!walked || now - walked.at > WALK_REUSE_MS) {
        walked = { at: now, images: walkImages(root()) };
      }
      const current = walked;
      try {
        return pageOf(await current.images, options);
      } catch (error) {
        if (walked === current) walked = undefined;
        throw error;
      }
    },
    read: (id) => readImage(root(), id, { maxBytes: MAX_READ_BYTES }),
    readUri: (uri, options = {}) => store.read(parseImageUri(uri, options)),
    uriOf(path) {
      if (!isAbsolute(path)) return undefined;
      let base: string;
      try {
        base = root();
      } catch {
        return undefined;
      }
      const id = imageIdOf(base, path);
      return id === undefined ? undefined : imageUri(id);
    },
    changed() {
      ownSaveUntil = Date.now() + OWN_SAVE_MS;
      changedOnDisk();
      watch();
    },
    onChange(listener) {
      const remove = changes.add(listener);
      watch();
      return () => {
        remove();
        if (changes.size > 0) return;
        clearTimeout(retry);
        stopWatching?.();
        stopWatching = undefined;
      };
    },
  };
  return store;
}
