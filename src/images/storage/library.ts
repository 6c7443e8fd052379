/**
 * The saved images under one output root, as MCP resources: listed newest first in pages, read
 * by id, and named by `image://{id}` URIs, where the id is the file's path relative to the root.
 * An id never leads out of the root: no `..`, no absolute paths, no hidden files (session
 * records and temporary files), and no symbolic link whose target lies elsewhere.
 */

import { extname, join, relative, sep } from "node:path";
import { isInside, realPathOf } from "../../sandbox.ts";
import { ToolError } from "../../errors.ts";
import { sniffImage } from "../codecs/sniff.ts";

import { IMAGE_URI_PREFIX } from "./image_uri.ts";

/** The MIME type of each image file extension the library shows. */
const MIME_BY_EXTENSION: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
};

/** The MIME type of a file listed by this name; undefined for a hidden name or another type. */
export function listedMimeType(name: string): string | undefined {
  return name.startsWith(".") ? undefined : MIME_BY_EXTENSION[extname(name).toLowerCase()];
}

/** How deep below the root images are looked for. */
const MAX_DEPTH = 8;
/** The longest id accepted. */
const MAX_ID_LENGTH = 1024;
/** Page size when the caller names none, and the largest allowed. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** One saved image, as `resources/list` shows it. */
export interface LibraryImage {
  /** The path relative to the root, with `/` between folders. */
  id: string;
  /** `image://` and the id, each folder name percent-encoded. */
  uri: string;
  /** The file name. */
  name: string;
  mimeType: string;
  size: number;
  modified: Date;
}

/** One page of the list, and the cursor of the next when there is one. */
export interface ImagePage {
  images: LibraryImage[];
  nextCursor?: string;
}

/** No image has the id asked for (a well-formed id: the file is gone or never was). */
export class ImageNotFound extends ToolError {
  override name = "ImageNotFound";
}

/** The URI of the image with id `id`. */
export function imageUri(id: string): string {
  return IMAGE_URI_PREFIX + id.split("/").map(encodeURIComponent).join("/");
}

/** Why `id` is not an image id, or undefined when it is one. */
function idProblem(id: string): string | undefined {
  if (id.length === 0) return "it names no image";
  if (id.length > MAX_ID_LENGTH) return `it is longer than ${MAX_ID_LENGTH} characters`;
  if (/[\\\0:]/.test(id)) return "it holds a backslash, a colon or a NUL character";
  if (id.startsWith("/")) return "it is an absolute path";
  const segments = id.split("/");
  if (segments.length > MAX_DEPTH + 1) return `it is more than ${MAX_DEPTH} folders deep`;
  if (segments.some((s) => s === "" || s === "." || s === "..")) {
    return "it has an empty, . or .. path segment";
  }
  if (segments.some((s) => s.startsWith("."))) return "it names a hidden file or folder";
  if (!MIME_BY_EXTENSION[extname(id).toLowerCase()]) {
    return "it does not end in .png, .jpg, .jpeg or .webp";
  }
  return undefined;
}

/**
 * The id in an `image://{id}` URI, percent-decoded (a client expanding the template may encode
 * `/` as `%2F`). Throws a ToolError naming `label` and the rule when `uri` is not one.
 */
export function parseImageUri(uri: string, options: { label?: string } = {}): string {
  const label = options.label ?? "uri";
  const refuse = (why: string) =>
    new ToolError(`${label}: "${uri}" is not an image URI of this server: ${why}.`);
  if (!uri.toLowerCase().startsWith(IMAGE_URI_PREFIX)) {
    throw refuse(`it does not start with ${IMAGE_URI_PREFIX}`);
  }
  const rest = uri.slice(IMAGE_URI_PREFIX.length);
  if (/[?#]/.test(rest)) throw refuse("it carries a query or a fragment");
  let id: string;
  try {
    id = decodeURIComponent(rest);
  } catch {
    throw refuse("its percent-encoding is malformed");
  }
  const problem = idProblem(id);
  if (problem) throw refuse(problem);
  return id;
}

/** The root's real path, or undefined when the root does not exist yet (no image saved). */
async function realRoot(root: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(root);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The id of the saved file at `path` under `root`, or undefined when it is not a library image. */
export function imageIdOf(root: string, path: string): string | undefined {
  let real: string;
  let base: string;
  try {
    real = realPathOf(path);
    base = realPathOf(root);
  } catch {
    return undefined;
  }
  if (!isInside(real, base) || real === base) return undefined;
  const id = relative(base, real).split(sep).join("/");
  return idProblem(id) ? undefined : id;
}

/** How many files of one folder are looked at (lstat) at once. */
const STAT_BATCH = 128;

async function collect(
  dir: string,
  prefix: string,
  depth: number,
  out: LibraryImage[],
): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return; // removed while listing
    throw error;
  }
  const files: { entry: Deno.DirEntry; id: string; mimeType: string }[] = [];
  for (const entry of entries) {
    // Links are not followed: one could lead out of the root, or into a loop.
    if (entry.name.startsWith(".") || entry.isSymlink) continue;
    const id = prefix + entry.name;
    if (entry.isDirectory) {
      if (depth < MAX_DEPTH) await collect(join(dir, entry.name), `${id}/`, depth + 1, out);
      continue;
    }
    const mimeType = listedMimeType(entry.name);
    if (!entry.isFile || !mimeType || idProblem(id)) continue;
    files.push({ entry, id, mimeType });
  }
  for (let at = 0; at < files.length; at += STAT_BATCH) {
    const batch = files.slice(at, at + STAT_BATCH);
    const infos = await Promise.all(
      batch.map(({ entry }) => Deno.lstat(join(dir, entry.name)).catch(() => undefined)),
    );
    batch.forEach(({ entry, id, mimeType }, i) => {
      const info = infos[i];
      if (!info) return; // removed while listing
      out.push({
        id,
        uri: imageUri(id),
        name: entry.name,
        mimeType,
        size: info.size,
        modified: info.mtime ?? new Date(0),
      });
    });
  }
}

/** Newest first; among images saved in the same millisecond, by id. */
function newerFirst(a: { modified: Date; id: string }, b: { modified: Date; id: string }): number {
  return b.modified.getTime() - a.modified.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function encodeCursor(image: LibraryImage): string {
  const json = JSON.stringify([image.modified.getTime(), image.id]);
  return btoa(String.fromCharCode(...new TextEncoder().encode(json)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): { modified: Date; id: string } {
  const refuse = () =>
    new ToolError(
      `cursor: "${cursor.slice(0, 80)}" is not a cursor this server gave out; ` +
        `list again from the start.`,
    );
  let parsed: unknown;
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    parsed = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    throw refuse();
  }
  if (
    !Array.isArray(parsed) || parsed.length !== 2 || !Number.isFinite(parsed[0]) ||
    typeof parsed[1] !== "string"
  ) {
    throw refuse();
  }
  return { modified: new Date(parsed[0]), id: parsed[1] };
}

/** Every image under `root`, newest first; none when the root does not exist yet. */
export async function walkImages(root: string): Promise<LibraryImage[]> {
  const base = await realRoot(root);
  if (base === undefined) return [];
  const all: LibraryImage[] = [];
  await collect(base, "", 0, all);
  return all.sort(newerFirst);
}

/**
 * One page of `all` (newest first, as `walkImages` gives it). `cursor` is the `nextCursor` of the
 * page before; images saved since then come before it, so paging on never repeats or skips one.
 */
export function pageOf(
  all: readonly LibraryImage[],
  options: { cursor?: string; limit?: number } = {},
): ImagePage {
  const limit = options.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ToolError(`limit: give a whole number from 1 to ${MAX_PAGE_SIZE}, got ${limit}.`);
  }
  const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const start = after ? all.findIndex((image) => newerFirst(image, after) > 0) : 0;
  if (start < 0) return { images: [] };
  const images = all.slice(start, start + limit);
  const more = start + limit < all.length;
  return more ? { images, nextCursor: encodeCursor(images[images.length - 1]) } : { images };
}

/** An image's bytes and what the list says of it. */
export interface ImageContent {
  image: LibraryImage;
  bytes: Uint8Array;
}

/**
 * Reads the image with id `id` under `root`, with the MIME type its bytes show. Throws a
 * ToolError naming the id and the rule for an id that would leave the root, ImageNotFound for
 * one that names no image file.
 */
export async function readImage(
  root: string,
  id: string,
  options: { maxBytes?: number } = {},
): Promise<ImageContent> {
  const uri = imageUri(id);
  const problem = idProblem(id);
  if (problem) throw new ToolError(`"${uri}" is not an image URI of this server: ${problem}.`);
  const notFound = () => new ImageNotFound(`${uri}: no saved image has this id.`);
  const base = await realRoot(root);
  if (base === undefined) throw notFound();
  const path = join(base, ...id.split("/"));
  let real: string;
  try {
    real = realPathOf(path);
  } catch {
    throw notFound();
  }
  if (!isInside(real, base) || real === base) {
    throw new ToolError(`${uri} is refused: a symbolic link leads it out of the image folder.`);
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(real);
  } catch {
    throw notFound();
  }
  if (!info.isFile) throw notFound();
  if (options.maxBytes !== undefined && info.size > options.maxBytes) {
    throw new ToolError(
      `${uri} is ${info.size} bytes, over the ${options.maxBytes}-byte limit for reading it whole.`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(real);
  } catch {
    throw notFound();
  }
  const sniffed = sniffImage(bytes);
  if (!sniffed) {
    throw new ToolError(`${uri} is refused: the file's bytes are not a PNG, JPEG or WebP image.`);
  }
  const name = id.split("/").at(-1)!;
  return {
    image: {
      id,
      uri,
      name,
      mimeType: sniffed.mimeType,
      size: bytes.length,
      modified: info.mtime ?? new Date(0),
    },
    bytes,
  };
}
