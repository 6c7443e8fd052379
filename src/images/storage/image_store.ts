/**
 * Where the saved images of one caller live, behind one small interface: the tools save into a
 * folder, and `resources/list`, `resources/read` and `image://` inputs reach the images through
 * this. The local store reads the folder on this machine; a shared backend (object storage for
 * several instances) would be another implementation of the same interface.
 */

import { isAbsolute } from "node:path";
import {
  type ImageContent,
  imageIdOf,
  type ImagePage,
  imageUri,
  listImages,
  parseImageUri,
  readImage,
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
  /** Calls `listener` after each save; returns the function that stops it. */
  onChange(listener: () => void): () => void;
}

/** A small set of listeners, each called in turn; one that throws does not stop the others. */
function listeners() {
  const set = new Set<() => void>();
  return {
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

/** The images under the folder `root()` on this machine (resolved on first use). */
export function localImageStore(root: () => string): ImageStore {
  const changes = listeners();
  const store: ImageStore = {
    list: (options = {}) => listImages(root(), options),
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
    changed: () => changes.emit(),
    onChange: (listener) => changes.add(listener),
  };
  return store;
}
