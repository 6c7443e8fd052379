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
import { IMAGE_URI_PREFIX } from "../storage/library.ts";
import { describeBytes, type ImageInfo, sniffImage } from "../codecs/sniff.ts";

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
  try {
    stat = await Deno.stat(path);
    await vetReadPath(path, { label, home: options.home });
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
  return await Deno.readFile(path);
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

/** Loads the images and the optional mask of one edit, enforcing count, type, size and mask rules. */
export async function loadEditInputs(
  sources: { images: readonly string[]; mask?: string },
  options: LoadOptions,
): Promise<{ images: LoadedImage[]; mask?: LoadedImage }> {
  if (sources.images.length < 1 || sources.images.length > MAX_INPUTS) {
    throw new ToolError(`images: give 1 to ${MAX_INPUTS} images, got ${sources.images.length}.`);
  }
  const images = await Promise.all(
    sources.images.map((source, i) =>
      loadImage(source, { ...options, label: `images[${i}]`, maxBytes: MAX_INPUT_BYTES })
    ),
  );
  if (sources.mask === undefined) return { images };
  const mask = await loadImage(sources.mask, {
    ...options,
    label: "mask",
    maxBytes: MAX_MASK_BYTES,
  });
  if (mask.info.format !== "png") {
    throw new ToolError(`${mask.label}: the mask must be a PNG, not ${mask.info.format}.`);
  }
  if (!mask.info.hasAlpha) {
    throw new ToolError(
      `${mask.label}: the mask needs an alpha channel; fully transparent pixels mark the area to edit.`,
    );
  }
  const first = images[0].info;
  if (mask.info.width !== first.width || mask.info.height !== first.height) {
    throw new ToolError(
      `${mask.label}: the mask is ${mask.info.width}x${mask.info.height} but images[0] is ` +
        `${first.width}x${first.height}; they must match.`,
    );
  }
  return { images, mask };
}
