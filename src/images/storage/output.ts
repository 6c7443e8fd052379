/** Where images are written, what they are called, and how they reach the disk safely. */

import { basename, dirname, join, resolve } from "node:path";
import type { Config } from "../../config.ts";
import { isInside, vetWritePathSync } from "../../sandbox.ts";
import { ToolError } from "../../errors.ts";
import { describeFsError, randomHex } from "../../fs_atomic.ts";
import type { ImagePayload } from "./received.ts";

/** Finds the nearest directory at or above `start` holding `.git`, without a subprocess. */
export function findGitRoot(start: string): string | undefined {
  let dir = resolve(start);
  while (true) {
    try {
      Deno.statSync(join(dir, ".git"));
      return dir;
    } catch {
      // Not here (or not readable): keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The per-user root that holds every project's default output folder. */
export function defaultOutputBase(config: Config): string | undefined {
  return config.configDir ? join(config.configDir, "gpt-image-2-mcp", "output") : undefined;
}

/**
 * The per-project part of the default folder: the git root's (else the working directory's) name
 * and the first 8 hex digits of the SHA-256 of its path, so two checkouts named alike stay apart.
 */
export async function projectFolderName(cwd: string): Promise<string> {
  const project = findGitRoot(cwd) ?? resolve(cwd);
  // WebCrypto, not node:crypto: loading that module costs every cold start ~10 ms.
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(project));
  const hash = Array.from(new Uint8Array(digest, 0, 4), (b) => b.toString(16).padStart(2, "0"));
  const name = (basename(project) || "root").replace(/[^A-Za-z0-9._-]+/g, "-");
  return `${name}-${hash.join("")}`;
}

/** The project part of the default folder; "" when `GPT_IMAGE_2_OUTPUT_DIR` replaces that folder. */
export async function defaultProject(config: Config): Promise<string> {
  return config.outputDirOverride ? "" : await projectFolderName(config.cwd);
}

/** The folder a call writes to when it names none: the override, else the project's own folder. */
export function defaultOutputDir(config: Config, project: string): string {
  if (config.outputDirOverride) return resolve(config.cwd, config.outputDirOverride);
  const base = defaultOutputBase(config);
  if (!base) {
    throw new ToolError(
      "No output directory: set GPT_IMAGE_2_OUTPUT_DIR, or HOME (XDG_CONFIG_HOME, APPDATA on Windows).",
    );
  }
  return join(base, project);
}

/** `~` or `~/...` with the home folder put in, as a shell would. */
export function expandHome(path: string, home: string | undefined): string {
  return home ? path.replace(/^~(?=$|[\\/])/, home) : path;
}

/**
 * Resolves and vets the folder one call writes to, by its path and by where its links really
 * lead (see `vetWritePathSync`). Returns the path as asked for, which is what Deno checks.
 */
export function resolveOutputDir(
  config: Config,
  options: { project: string; outputDir?: string },
): string {
  const dir = options.outputDir
    ? resolve(config.cwd, expandHome(options.outputDir, config.homeDir))
    : defaultOutputDir(config, options.project);
  // Name what the user set: a bad default folder is GPT_IMAGE_2_OUTPUT_DIR's fault, not output_dir's.
  const label = options.outputDir
    ? "output_dir"
    : config.outputDirOverride
    ? "GPT_IMAGE_2_OUTPUT_DIR"
    : "the default output folder";
  if (
    options.outputDir && config.confinedRoot !== undefined &&
    !isInside(resolve(dir), resolve(config.confinedRoot))
  ) {
    throw new ToolError(
      `output_dir: over HTTP images go to your own folder on the server; leave output_dir ` +
        `out, or name a folder inside it.`,
    );
  }
  // Over HTTP, a link inside the caller's folder must not lead out of it either.
  vetWritePathSync(dir, { label, home: config.homeDir, within: config.confinedRoot });
  return dir;
}

/** Keeps a filename prefix to letters, digits, dot, dash and underscore, so it cannot leave the folder. */
export function sanitizePrefix(prefix: string | undefined): string {
  if (!prefix) return "";
  return prefix.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/\.{2,}/g, ".")
    .replace(/^[-.]+|[-.]+$/g, "").slice(0, 64);
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** A timestamp like `20260422-150301`, local time. */
export function timestamp(date = new Date()): string {
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** `image-YYYYMMDD-HHMMSS-xxxxxx[-prefix].ext`, or a caller-chosen stem in the same shape. */
export function imageFilename(
  options: { ext: string; prefix?: string; stem?: string; date?: Date },
): string {
  const stem = options.stem ?? `image-${timestamp(options.date)}-${randomHex()}`;
  const prefix = sanitizePrefix(options.prefix);
  return `${stem}${prefix ? `-${prefix}` : ""}.${options.ext}`;
}

/** A file as written, in the shape the tool result reports. */
export interface SavedFile {
  file_path: string;
  filename: string;
  size_bytes: number;
  mime_type: string;
}

/** Saves each image under a fresh name; all or nothing: on failure none of them is left. */
export async function saveImages(
  dir: string,
  images: readonly { image: ImagePayload; mimeType: string; ext: string; stem?: string }[],
  prefix?: string,
): Promise<SavedFile[]> {
  const saved: SavedFile[] = [];
  try {
    for (const image of images) {
      let path: string | undefined;
      for (let attempt = 0; !path; attempt++) {
        const name = imageFilename({
          ext: image.ext,
          prefix,
          stem: image.stem && attempt > 0 ? `${image.stem}-${randomHex()}` : image.stem,
        });
        try {
          await image.image.place(join(dir, name));
          path = join(dir, name);
        } catch (error) {
          if (!(error instanceof Deno.errors.AlreadyExists) || attempt >= 5) throw error;
        }
      }
      saved.push({
        file_path: path,
        filename: basename(path),
        size_bytes: image.image.size,
        mime_type: image.mimeType,
      });
    }
    return saved;
  } catch (error) {
    await Promise.all(saved.map((f) => Deno.remove(f.file_path).catch(() => {})));
    throw new ToolError(`Could not save the image in ${dir}: ${describeFsError(error)}`);
  }
}
