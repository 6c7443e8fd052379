/** Image inputs from paths, file URLs, https URLs and data URLs, vetted before anything is uploaded. */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../../config.ts";
import { readScopeProblem } from "../../permissions.ts";
import { isInside, realPathOf, vetReadPath } from "../../sandbox.ts";
import { ToolError } from "../../errors.ts";
import { MAX_INPUTS } from "./limits.ts";
import { tryDecodeBase64 } from "../codecs/base64.ts";
import { expandHome } from "../storage/output.ts";
import { fetchRemote } from "./remote.ts";
import type { ImageStore } from "../storage/image_store.ts";
import { IMAGE_URI_PREFIX } from "../storage/image_uri.ts";
import { describeBytes, type ImageInfo, sniffImage } from "../codecs/sniff.ts";
import { type MaskMarks, prepareMask, readMask } from "./mask.ts";

export const MAX_INPUT_BYTES = 50 * 1024 * 1024;
export const MAX_MASK_BYTES = 4 * 1024 * 1024;
export { MAX_INPUTS };

/** A vetted input image. */
export interface LoadedImage {
  bytes: Uint8Array;
  info: ImageInfo;
  /** How messages name it: `images[1] (./photo.png)`. */
  label: string;
}

/** Shortens a source for messages; data URLs are never echoed whole. */
export function describeSource(source: string): string {
  if (source.startsWith("data:")) return `${source.slice(0, 30)}...`;
  return source.length > 120 ? `${source.slice(0, 117)}...` : source;
}

function fromDataUrl(source: string, label: string, maxBytes: number): Uint8Array {
  const match = /^data:(image\/(?:png|jpeg|jpg|webp));base64,(.*)$/is.exec(source);
  if (!match) {
    throw new ToolError(
      `${label}: a data URL must look like data:image/png;base64,... (png, jpeg or webp).`,
    );
  }
  if (match[2].length * 0.75 > maxBytes + 3) {
    throw new ToolError(`${label}: the data URL holds more than ${maxBytes} bytes.`);
  }
  const bytes = tryDecodeBase64(match[2]);
  if (!bytes) throw new ToolError(`${label}: the data URL's payload is not valid base64.`);
  return bytes;
}

/** Whether `path` lies inside `root` once links are followed (a missing root holds nothing). */
function insideRoot(path: string, root: string): boolean {
  try {
    return isInside(realPathOf(path), realPathOf(root));
  } catch {
    return false;
  }
}

async function fromFile(
  path: string,
  label: string,
  options: { maxBytes: number; home?: string; confinedRoot?: string },
): Promise<Uint8Array> {
  if (options.confinedRoot !== undefined && !insideRoot(path, options.confinedRoot)) {
    throw new ToolError(
      `${label}: over HTTP an input is an image:// URI of your saved images, an https:// URL ` +
        `or a data: URL; paths on the server are not accepted.`,
    );
  }
  const permission = readScopeProblem(path);
  if (permission) throw new ToolError(`${label}: ${permission}`);
  let stat: Deno.FileInfo;
  let real: string;
  try {
    stat = await Deno.stat(path);
    real = await vetReadPath(path, { label, home: options.home });
  } catch (error) {
    if (error instanceof ToolError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      throw new ToolError(`${label}: no such file ${path}.`);
    }
    throw new ToolError(`${label}: cannot read ${path}: ${(error as Error).message}`);
  }
  if (!stat.isFile) throw new ToolError(`${label}: ${path} is not a file.`);
  if (stat.size > options.maxBytes) {
    throw new ToolError(
      `${label}: ${path} is ${stat.size} bytes, over the ${options.maxBytes}-byte limit.`,
    );
  }
  return await readVettedFile(path, real, label, options.maxBytes);
}

/** Whether two stats name one file (always, where the system gives no inode numbers). */
function sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.ino === null || b.ino === null || (a.dev === b.dev && a.ino === b.ino);
}

/**
 * Reads the file at `path` whose real path `real` was vetted: through a handle opened after the
 * check, which must be that file, so a link moved between the check and the read reads nothing.
 */
async function readVettedFile(
  path: string,
  real: string,
  label: string,
  maxBytes: number,
): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const [opened, vetted] = await Promise.all([file.stat(), Deno.stat(real)]);
  if (!opened.isFile || !sameFile(opened, vetted)) {
    throw new ToolError(
      `${label}: ${path} changed while it was being read (a link now leads elsewhere); ` +
        `nothing was sent. Check the file and try again.`,
    );
  }
  if (opened.size > maxBytes) {
    throw new ToolError(
      `${label}: ${path} is ${opened.size} bytes, over the ${maxBytes}-byte limit.`,
    );
  }
  // The file as long as it was when opened: what is appended meanwhile is not read.
  const bytes = new Uint8Array(opened.size);
  let at = 0;
  while (at < bytes.length) {
    const n = await file.read(bytes.subarray(at));
    if (n === null) break;
    at += n;
  }
  return at === bytes.length ? bytes : bytes.subarray(0, at);
}

/** An `image://` input: a saved image of this caller, read through the store. */
async function fromStore(
  uri: string,
  label: string,
  options: { maxBytes: number; images?: ImageStore },
): Promise<Uint8Array> {
  if (!options.images) throw new ToolError(`${label}: image:// URIs are not served here.`);
  let bytes: Uint8Array;
  try {
    ({ bytes } = await options.images.readUri(uri, { label }));
  } catch (error) {
    if (!(error instanceof ToolError) || error.message.startsWith(label)) throw error;
    throw new ToolError(`${label}: ${error.message}`);
  }
  if (bytes.length > options.maxBytes) {
    throw new ToolError(
      `${label}: the image is ${bytes.length} bytes, over the ${options.maxBytes}-byte limit.`,
    );
  }
  return bytes;
}

/** Options of `loadImage` and `loadEditInputs`. */
export interface LoadOptions {
  config: Config;
  signal?: AbortSignal;
  /** The caller's saved images, which `image://` inputs name. */
  images?: ImageStore;
}

/** Loads one input from any supported source and checks that it is a PNG, JPEG or WebP image. */
export async function loadImage(
  source: string,
  options: LoadOptions & { label: string; maxBytes: number },
): Promise<LoadedImage> {
  const label = `${options.label} (${describeSource(source)})`;
  const home = options.config.homeDir;
  const confinedRoot = options.config.confinedRoot;
  let bytes: Uint8Array;
  if (/^data:/i.test(source)) bytes = fromDataUrl(source, label, options.maxBytes);
  else if (source.toLowerCase().startsWith(IMAGE_URI_PREFIX)) {
    bytes = await fromStore(source, label, options);
  } else if (/^https?:\/\//i.test(source)) {
    bytes = await fetchRemote(source, { ...options, label });
  } else if (/^file:/i.test(source)) {
    let path: string;
    try {
      path = fileURLToPath(source);
    } catch {
      throw new ToolError(`${label}: not a valid file:// URL.`);
    }
    bytes = await fromFile(path, label, { maxBytes: options.maxBytes, home, confinedRoot });
  } else if (/^[a-z][a-z0-9+.-]+:\/\//i.test(source)) {
    throw new ToolError(
      `${label}: unsupported scheme; use a path, file://, https://, image:// or a data: URL.`,
    );
  } else {
    const path = resolve(options.config.cwd, expandHome(source, home));
    bytes = await fromFile(path, label, { maxBytes: options.maxBytes, home, confinedRoot });
  }
  const info = sniffImage(bytes);
  if (!info) {
    throw new ToolError(`${label}: not a PNG, JPEG or WebP image (${describeBytes(bytes)}).`);
  }
  return { bytes, info, label };
}

/** The inputs of one edit, vetted; `notes` say what was done to them (a converted mask). */
export interface EditInputs {
  images: LoadedImage[];
  mask?: LoadedImage;
  markup?: LoadedImage;
  notes: string[];
}

function sameSize(input: LoadedImage, first: LoadedImage, what: string): void {
  if (input.info.width !== first.info.width || input.info.height !== first.info.height) {
    throw new ToolError(
      `${input.label}: the ${what} is ${input.info.width}x${input.info.height} but images[0] is ` +
        `${first.info.width}x${first.info.height}; they must match.`,
    );
  }
}

/**
 * The mask to upload: a PNG whose transparent pixels mark the area to edit, or, with
 * `marks`, a black-and-white PNG or JPEG converted to one (and a note saying so).
 */
async function loadMask(
  source: string,
  marks: MaskMarks | undefined,
  first: LoadedImage,
  options: LoadOptions,
): Promise<{ mask: LoadedImage; note?: string }> {
  const loaded = await loadImage(source, { ...options, label: "mask", maxBytes: MAX_MASK_BYTES });
  sameSize(loaded, first, "mask");
  if (loaded.info.format !== "png" && !(marks && loaded.info.format === "jpeg")) {
    throw new ToolError(
      `${loaded.label}: the mask must be a PNG${
        marks ? " or JPEG" : ""
      }, not ${loaded.info.format}.`,
    );
  }
  const prepared = await prepareMask(loaded.bytes, { marks, label: loaded.label });
  if (!prepared.converted) return { mask: loaded };
  const info = sniffImage(prepared.png)!;
  return { mask: { bytes: prepared.png, info, label: loaded.label }, note: prepared.note };
}

/** A markup image: a PNG with fully transparent pixels (where the image stays as it is). */
async function loadMarkup(
  source: string,
  first: LoadedImage,
  options: LoadOptions,
): Promise<LoadedImage> {
  const markup = await loadImage(source, {
    ...options,
    label: "markup",
    maxBytes: MAX_MASK_BYTES,
  });
  sameSize(markup, first, "markup image");
  if (markup.info.format !== "png") {
    throw new ToolError(
      `${markup.label}: the markup image must be a PNG, not ${markup.info.format}.`,
    );
  }
  const pixels = await readMask(markup.bytes, { label: markup.label });
  if (pixels.transparentPixels === 0) {
    throw new ToolError(
      `${markup.label}: the markup image must be a transparent PNG (drawn marks on fully ` +
        "transparent pixels, which leave the image as it is); this one has no transparent pixel.",
    );
  }
  return markup;
}

/**
 * Loads the images, the optional mask and the optional markup image of one edit, enforcing
 * count, type, size and mask rules; a black-and-white mask is converted when `maskMarks` says
 * which colour marks the area to edit.
 */
export async function loadEditInputs(
  sources: { images: readonly string[]; mask?: string; markup?: string; maskMarks?: MaskMarks },
  options: LoadOptions,
): Promise<EditInputs> {
  if (sources.images.length < 1 || sources.images.length > MAX_INPUTS) {
    throw new ToolError(`images: give 1 to ${MAX_INPUTS} images, got ${sources.images.length}.`);
  }
  if (sources.mask !== undefined && sources.markup !== undefined) {
    throw new ToolError("markup: cannot be combined with mask; send one of them.");
  }
  if (sources.maskMarks !== undefined && sources.mask === undefined) {
    throw new ToolError("mask_marks: applies only with a mask; give mask or leave mask_marks out.");
  }
  const images = await Promise.all(
    sources.images.map((source, i) =>
      loadImage(source, { ...options, label: `images[${i}]`, maxBytes: MAX_INPUT_BYTES })
    ),
  );
  const notes: string[] = [];
  if (sources.mask !== undefined) {
    const { mask, note } = await loadMask(sources.mask, sources.maskMarks, images[0], options);
    if (note) notes.push(note);
    return { images, mask, notes };
  }
  if (sources.markup !== undefined) {
    const markup = await loadMarkup(sources.markup, images[0], options);
    return { images, markup, notes };
  }
  return { images, notes };
}
