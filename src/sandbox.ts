/**
 * Where the server may read and write, judged by real paths. Deno's `--allow-read` and
 * `--allow-write` check the path string, not where its symbolic links lead, and the release
 * binaries bake an unscoped `--allow-write`: these checks are what keeps a linked folder from
 * carrying a write (or an input read) into another place or a secret one.
 */

import { basename, dirname, join, resolve, sep } from "node:path";
import { readScopeProblem, writeScopeProblem } from "./permissions.ts";
import { ToolError } from "./errors.ts";

/** Whether this system's file names ignore case, as macOS's and Windows' do by default. */
export const CASE_INSENSITIVE = Deno.build.os === "darwin" || Deno.build.os === "windows";

function fold(path: string, caseInsensitive: boolean): string {
  return caseInsensitive ? path.toLowerCase() : path;
}

/** Whether the absolute `path` is `dir` or lies below it. */
export function isInside(
  path: string,
  dir: string,
  options: { caseInsensitive?: boolean } = {},
): boolean {
  const caseInsensitive = options.caseInsensitive ?? CASE_INSENSITIVE;
  const a = fold(path, caseInsensitive);
  const b = fold(dir, caseInsensitive);
  return a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
}

/** Whether two absolute paths name the same place, by this system's case rule. */
export function samePath(
  a: string,
  b: string,
  options: { caseInsensitive?: boolean } = {},
): boolean {
  const caseInsensitive = options.caseInsensitive ?? CASE_INSENSITIVE;
  return fold(a, caseInsensitive) === fold(b, caseInsensitive);
}

function symlinkTarget(path: string): string | undefined {
  try {
    return Deno.lstatSync(path).isSymlink ? Deno.readLinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/** Links followed before a path counts as a loop, as Linux's own limit. */
const MAX_LINKS = 40;

/**
 * Where `path` really leads: every symbolic link in its existing part resolved (a dangling one
 * too, since a write through it lands at its target), and the part that does not exist yet
 * appended. Throws what the file system throws for a loop or a folder it may not read.
 */
export function realPathOf(path: string): string {
  let pending = resolve(path);
  for (let links = 0; links <= MAX_LINKS; links++) {
    const rest: string[] = [];
    let existing = pending;
    while (true) {
      try {
        return join(Deno.realPathSync(existing), ...rest);
      } catch (error) {
        const missing = error instanceof Deno.errors.NotFound ||
          error instanceof Deno.errors.NotADirectory;
        if (!missing) throw error;
      }
      const target = symlinkTarget(existing);
      if (target !== undefined) {
        pending = join(resolve(Deno.realPathSync(dirname(existing)), target), ...rest);
        break;
      }
      const parent = dirname(existing);
      if (parent === existing) return join(existing, ...rest);
      rest.unshift(basename(existing));
      existing = parent;
    }
  }
  throw new Deno.errors.FilesystemLoop(`more than ${MAX_LINKS} symbolic links in ${path}`);
}

/** Folders under the user's home that hold keys and credentials. */
const SECRET_FOLDERS = [
  ".ssh",
  ".gnupg",
  ".aws",
  ".azure",
  ".kube",
  ".docker",
  ".config/gcloud",
  ".config/gh",
  ".password-store",
  "Library/Keychains",
];

/**
 * Folders no call may write into (system folders and the user's secret folders), or read an
 * input from (the secret folders and the system's configuration and process files), whatever
 * Deno's scope allows.
 */
export function sensitiveFolders(home: string | undefined, access: "read" | "write"): string[] {
  const windows = Deno.build.os === "windows";
  const system = windows
    ? (access === "write"
      ? ["C:\\Windows", "C:\\Program Files", "C:\\Program Files (x86)", "C:\\ProgramData"]
      : [])
    : access === "write"
    ? ["/etc", "/bin", "/sbin", "/usr", "/boot", "/dev", "/proc", "/sys", "/lib", "/var/lib"]
      .concat(["/System", "/Library", "/private/etc"])
    : ["/etc", "/private/etc", "/proc", "/sys", "/dev"];
  const user = home ? SECRET_FOLDERS.map((p) => join(home, p)) : [];
  return [...system, ...user];
}

/** The sensitive folder `literal` or `real` lies in (by its own name or its real path). */
function sensitiveFolderOf(
  literal: string,
  real: string,
  options: { home?: string; access: "read" | "write" },
): string | undefined {
  return sensitiveFolders(options.home, options.access).find((folder) => {
    if (isInside(literal, folder) || isInside(real, folder)) return true;
    try {
      return isInside(real, realPathOf(folder));
    } catch {
      return false; // a folder whose real path cannot be read holds nothing this server reached
    }
  });
}

function scopeProblem(access: "read" | "write", path: string): string | undefined {
  return access === "write" ? writeScopeProblem(path) : readScopeProblem(path);
}

/**
 * The outermost folder at or above the absolute `path` that the `read` or `write` permission
 * covers: the granted folder `path` lies in (`/` when the flag has no scope), or undefined.
 */
export function grantedRoot(access: "read" | "write", path: string): string | undefined {
  let root: string | undefined;
  for (let dir = path; !scopeProblem(access, dir); dir = dirname(dir)) {
    root = dir;
    if (dirname(dir) === dir) break;
  }
  return root;
}

/** Whether `real` lies inside the scope `literal` was granted under, or is granted itself. */
function realInScope(access: "read" | "write", literal: string, real: string): boolean {
  if (!scopeProblem(access, real)) return true;
  const root = grantedRoot(access, literal);
  if (root === undefined) return false;
  try {
    return isInside(real, realPathOf(root));
  } catch {
    return false;
  }
}

/** How a message names a path and, when links lead elsewhere, where it really leads. */
function named(label: string, literal: string, real: string): string {
  return real === literal ? `${label} "${literal}"` : `${label} "${literal}" (really ${real})`;
}

/** Options of `vetWritePath`. */
export interface WritePathOptions {
  /** How messages name the path: `output_dir`, `session folder`, `ledger`. */
  label: string;
  /** The user's home folder, whose secret folders are refused. */
  home?: string;
  /** A folder the real path must stay inside: state files keep to the output folder. */
  within?: string;
}

/**
 * Checks that writing at `path` (a folder or a file, existing or not) stays where it may: not
 * `/` or home, no sensitive folder, inside `within`, inside the write scope, each judged by the
 * path and by its real path. Returns the real path; write through `path` itself, since that is
 * the string Deno's permission checks. Throws a ToolError naming the input, the rule and the fix.
 */
export function vetWritePathSync(path: string, options: WritePathOptions): string {
  const { label, home } = options;
  const literal = resolve(path);
  const realOf = (p: string) => {
    try {
      return realPathOf(p);
    } catch (error) {
      const fix = error instanceof Deno.errors.NotCapable
        ? " The server needs --allow-read to follow folder links."
        : "";
      throw new ToolError(
        `${label} "${literal}" is refused: the real path of ${p} cannot be resolved ` +
          `(${(error as Error).message}).${fix}`,
      );
    }
  };
  const real = realOf(literal);
  const name = named(label, literal, real);
  const homes = home ? [resolve(home), realOf(home)] : [];
  if ([literal, real].some((p) => p === resolve("/") || homes.some((h) => samePath(p, h)))) {
    throw new ToolError(`${name} is refused: pick a dedicated folder, not / or home.`);
  }
  const denied = sensitiveFolderOf(literal, real, { home, access: "write" });
  if (denied) {
    throw new ToolError(
      `${name} is refused: it lies in ${denied}, a sensitive system or user folder. ` +
        `No flag allows writing there; pick another folder.`,
    );
  }
  if (options.within && !isInside(real, realOf(options.within))) {
    throw new ToolError(
      `${name} is refused: a symbolic link leads it out of ${options.within}, where the server ` +
        `keeps its state. Remove the link.`,
    );
  }
  const problem = writeScopeProblem(literal);
  if (problem) throw new ToolError(`${label} "${literal}": ${problem}`);
  if (!realInScope("write", literal, real)) {
    throw new ToolError(
      `${name} is refused: a symbolic link leads it outside the server's write scope. ` +
        `Add --allow-write=${real} (or a parent folder) to the server's command line, ` +
        `or choose a folder inside the granted scope.`,
    );
  }
  return real;
}

/** `vetWritePathSync` for callers that await: the same checks, refusals as rejections. */
export function vetWritePath(path: string, options: WritePathOptions): Promise<string> {
  try {
    return Promise.resolve(vetWritePathSync(path, options));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Checks that an input file at `path`, which exists, may be read: not in a sensitive folder and
 * inside the read scope, judged by the path and by its real path. Returns the real path; read
 * through `path` itself. Throws a ToolError naming the input (`label`) and the rule.
 */
export async function vetReadPath(
  path: string,
  options: { label: string; home?: string },
): Promise<string> {
  const { label, home } = options;
  const literal = resolve(path);
  const real = await Deno.realPath(literal);
  const denied = sensitiveFolderOf(literal, real, { home, access: "read" });
  const shown = real === literal ? literal : `${literal} (really ${real})`;
  if (denied) {
    throw new ToolError(
      `${label}: ${shown} is refused: it lies in ${denied}, a folder of keys and credentials ` +
        `or system files, which inputs may not come from.`,
    );
  }
  const problem = readScopeProblem(literal);
  if (problem) throw new ToolError(`${label}: ${problem}`);
  if (!realInScope("read", literal, real)) {
    throw new ToolError(
      `${label}: ${shown} is refused: a symbolic link leads it outside the server's read scope. ` +
        `Add --allow-read=${real} to the server's command line.`,
    );
  }
  return real;
}
