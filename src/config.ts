/** Runtime configuration, read from the environment once at start and passed everywhere. */

import { redact } from "./log.ts";

export type EditRoute = "auto" | "direct" | "responses";
export type InlineMode = "preview" | "full" | "none";

/** Everything the server reads from its environment, validated. */
export interface Config {
  apiKey?: string;
  baseURL: string;
  organization?: string;
  project?: string;
  model: string;
  responsesEditModel: string;
  editRoute: EditRoute;
  /** The working directory at start-up: relative paths in the configuration resolve against it. */
  cwd: string;
  /** `GPT_IMAGE_2_OUTPUT_DIR` as given, if set; `defaultOutputDir` resolves it against `cwd`. */
  outputDirOverride?: string;
  debug: boolean;
  sessionTtlMs: number;
  sessionMax: number;
  partialImages: number;
  inline: InlineMode;
  inlineMaxBytes: number;
  maxCostPerCallUsd?: number;
  budgetUsd?: number;
  /** A budget for this project's share of the output root's spend, on top of `budgetUsd`. */
  projectBudgetUsd?: number;
  /** The variable `projectBudgetUsd` came from, as refusals name it (HTTP mode: the principal's). */
  projectBudgetVariable?: "GPT_IMAGE_2_PROJECT_BUDGET_USD" | "GPT_IMAGE_2_PRINCIPAL_BUDGET_USD";
  maxRetries: number;
  retryBaseMs: number;
  timeoutMs: number;
  inputTimeoutMs: number;
  progressIntervalMs: number;
  /** A plain image call still running after this long answers with a job instead; 0: never. */
  detachAfterMs: number;
  allowHttpInputs: boolean;
  /** Hosts (`host` or `host:port`) exempt from the private-address rule for remote inputs. */
  inputHostAllowlist: string[];
  /**
   * HTTP mode: the caller's own folder. Output folders and input paths must lie inside it (a
   * remote caller names its images by `image://`, never by a path on this machine).
   */
  confinedRoot?: string;
  /** Home and per-user config directory, from the environment (no `--allow-sys`). */
  homeDir?: string;
  configDir?: string;
}

/** A configuration problem worth a one-line message, never a stack trace. */
export class ConfigError extends Error {}

/**
 * V8 settings every documented launch passes (`--v8-flags=...`); the server works without them.
 * `--optimize-for-size` keeps the heap close to what is live, collects more often and shrinks the
 * young generation, which also frees what V8 barely counts: each edit's upload copies (Blob parts,
 * fetch's copy of the body) that otherwise pile up until some later collection. Its measured
 * effect and cost are in docs/performance.md.
 */
export const V8_FLAGS = ["--optimize-for-size"] as const;

/** Every variable the HTTP mode (`serve --http`) reads, for a scoped `--allow-env`. */
export const HTTP_ENV_VARS = [
  "GPT_IMAGE_2_HTTP_HOST",
  "GPT_IMAGE_2_HTTP_PORT",
  "GPT_IMAGE_2_HTTP_TOKEN",
  "GPT_IMAGE_2_HTTP_ALLOWED_HOSTS",
  "GPT_IMAGE_2_HTTP_MAX_BODY_BYTES",
  "GPT_IMAGE_2_OAUTH_ISSUER",
  "GPT_IMAGE_2_OAUTH_AUDIENCE",
  "GPT_IMAGE_2_OAUTH_SCOPE",
  "GPT_IMAGE_2_PRINCIPAL_BUDGET_USD",
] as const;

/** Every variable the server reads: the list for a scoped `--allow-env`. */
export const ENV_VARS = [
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "OPENAI_ORG_ID",
  "OPENAI_PROJECT_ID",
  "OPENAI_RESPONSES_EDIT_MODEL",
  "GPT_IMAGE_2_MODEL",
  "GPT_IMAGE_2_OUTPUT_DIR",
  "GPT_IMAGE_2_MCP_DEBUG",
  "GPT_IMAGE_2_EDIT_ROUTE",
  "GPT_IMAGE_2_SESSION_TTL_MS",
  "GPT_IMAGE_2_SESSION_MAX",
  "GPT_IMAGE_2_PARTIAL_IMAGES",
  "GPT_IMAGE_2_INLINE",
  "GPT_IMAGE_2_INLINE_MAX_BYTES",
  "GPT_IMAGE_2_MAX_COST_PER_CALL_USD",
  "GPT_IMAGE_2_BUDGET_USD",
  "GPT_IMAGE_2_PROJECT_BUDGET_USD",
  "GPT_IMAGE_2_MAX_RETRIES",
  "GPT_IMAGE_2_RETRY_BASE_MS",
  "GPT_IMAGE_2_TIMEOUT_MS",
  "GPT_IMAGE_2_INPUT_TIMEOUT_MS",
  "GPT_IMAGE_2_PROGRESS_INTERVAL_MS",
  "GPT_IMAGE_2_DETACH_AFTER_S",
  "GPT_IMAGE_2_ALLOW_HTTP_INPUTS",
  "GPT_IMAGE_2_INPUT_HOST_ALLOWLIST",
  ...HTTP_ENV_VARS,
  "HOME",
  "USERPROFILE",
  "XDG_CONFIG_HOME",
  "APPDATA",
] as const;

type EnvName = typeof ENV_VARS[number];
type Env = (name: EnvName) => string | undefined;

/**
 * A value a bundle host passed through unsubstituted: Claude Desktop hands an optional MCPB
 * setting the user left empty to the server as the literal `${user_config.name}`.
 */
const UNFILLED_SETTING = /^\$\{user_config\.[A-Za-z0-9_]+\}$/;

/**
 * A raw value as a configuration error shows it: quoted, unless it may be a secret (the API key
 * pasted into the wrong variable, or anything shaped like a key), which is never echoed.
 */
function shown(env: Env, raw: string): string {
  const key = env("OPENAI_API_KEY");
  const tokenLike = raw.length >= 20 && /^[\w.+/=:-]+$/.test(raw) && /\d/.test(raw) &&
    /[a-z]/i.test(raw);
  if (tokenLike || redact(raw, [key]) !== raw) {
    return "a value that looks like a secret (not shown)";
  }
  return `"${raw}"`;
}

/** Reads one variable; one outside the granted `--allow-env`, empty or unfilled reads as unset. */
export function readEnv(name: EnvName): string | undefined {
  try {
    const value = Deno.env.get(name)?.trim();
    return value && !UNFILLED_SETTING.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function integer(env: Env, name: EnvName, fallback: number, min: number, max: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be a whole number from ${min} to ${max}, got ${shown(env, raw)}.`,
    );
  }
  return value;
}

function dollars(env: Env, name: EnvName): number | undefined {
  const raw = env(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(
      `${name} must be a positive amount in US dollars, got ${shown(env, raw)}.`,
    );
  }
  return value;
}

/** Seconds as milliseconds; fractions allowed (tests detach within a second). */
function seconds(env: Env, name: EnvName, fallback: number, max: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new ConfigError(`${name} must be a number of seconds from 0 to ${max}, got "${raw}".`);
  }
  return Math.round(value * 1000);
}

function flag(env: Env, name: EnvName): boolean {
  const given = env(name);
  const raw = given?.toLowerCase();
  if (raw === undefined || raw === "0" || raw === "false" || raw === "no") return false;
  if (raw === "1" || raw === "true" || raw === "yes") return true;
  throw new ConfigError(`${name} must be 1 or 0, got ${shown(env, given!)}.`);
}

function choice<T extends string>(env: Env, name: EnvName, options: readonly T[], fallback: T): T {
  const raw = env(name);
  if (raw === undefined) return fallback;
  if ((options as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${name} must be one of ${options.join(", ")}, got ${shown(env, raw)}.`);
}

function baseURL(env: Env): string {
  const raw = env("OPENAI_BASE_URL") ?? "https://api.openai.com/v1";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const value = /@/.test(raw) ? "a value with an @ (not shown)" : shown(env, raw);
    throw new ConfigError(`OPENAI_BASE_URL must be an absolute http(s) URL, got ${value}.`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`OPENAI_BASE_URL must use https:// or http://, got "${url.protocol}".`);
  }
  if (url.username || url.password) {
    // The URL reaches logs and error messages; a password in it would go with it.
    throw new ConfigError(
      "OPENAI_BASE_URL must not contain credentials (user:password@); the server sends " +
        "OPENAI_API_KEY as its credential. Remove them from the URL.",
    );
  }
  return raw.replace(/\/+$/, "");
}

function configDir(env: Env, home: string | undefined): string | undefined {
  if (Deno.build.os === "windows") return env("APPDATA");
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg) return xdg;
  return home ? `${home}/.config` : undefined;
}

/**
 * Builds the configuration; `cwd` is where a relative `GPT_IMAGE_2_OUTPUT_DIR` points. No path
 * module here: loading `node:path` costs start-up ~5 ms, and only tool calls need it.
 */
export function loadConfig(options: { env?: Env; cwd: string }): Config {
  const env = options.env ?? readEnv;
  const home = env("HOME") ?? env("USERPROFILE");
  const outputDir = env("GPT_IMAGE_2_OUTPUT_DIR");
  const allowlist = env("GPT_IMAGE_2_INPUT_HOST_ALLOWLIST");
  return {
    apiKey: env("OPENAI_API_KEY"),
    baseURL: baseURL(env),
    organization: env("OPENAI_ORG_ID"),
    project: env("OPENAI_PROJECT_ID"),
    model: env("GPT_IMAGE_2_MODEL") ?? "gpt-image-2",
    responsesEditModel: env("OPENAI_RESPONSES_EDIT_MODEL") ?? "gpt-4.1-mini",
    editRoute: choice(env, "GPT_IMAGE_2_EDIT_ROUTE", ["auto", "direct", "responses"], "auto"),
    cwd: options.cwd,
    outputDirOverride: outputDir || undefined,
    debug: flag(env, "GPT_IMAGE_2_MCP_DEBUG"),
    sessionTtlMs: integer(env, "GPT_IMAGE_2_SESSION_TTL_MS", 24 * 3_600_000, 1_000, 2 ** 31),
    sessionMax: integer(env, "GPT_IMAGE_2_SESSION_MAX", 50, 1, 10_000),
    partialImages: integer(env, "GPT_IMAGE_2_PARTIAL_IMAGES", 0, 0, 3),
    inline: choice(env, "GPT_IMAGE_2_INLINE", ["preview", "full", "none"], "preview"),
    inlineMaxBytes: integer(env, "GPT_IMAGE_2_INLINE_MAX_BYTES", 600_000, 10_000, 50_000_000),
    maxCostPerCallUsd: dollars(env, "GPT_IMAGE_2_MAX_COST_PER_CALL_USD"),
    budgetUsd: dollars(env, "GPT_IMAGE_2_BUDGET_USD"),
    projectBudgetUsd: dollars(env, "GPT_IMAGE_2_PROJECT_BUDGET_USD"),
    maxRetries: integer(env, "GPT_IMAGE_2_MAX_RETRIES", 2, 0, 10),
    retryBaseMs: integer(env, "GPT_IMAGE_2_RETRY_BASE_MS", 1_000, 1, 60_000),
    timeoutMs: integer(env, "GPT_IMAGE_2_TIMEOUT_MS", 600_000, 1_000, 3_600_000),
    inputTimeoutMs: integer(env, "GPT_IMAGE_2_INPUT_TIMEOUT_MS", 30_000, 100, 600_000),
    progressIntervalMs: integer(env, "GPT_IMAGE_2_PROGRESS_INTERVAL_MS", 5_000, 50, 10_000),
    detachAfterMs: seconds(env, "GPT_IMAGE_2_DETACH_AFTER_S", 50, 3_600),
    allowHttpInputs: flag(env, "GPT_IMAGE_2_ALLOW_HTTP_INPUTS"),
    inputHostAllowlist: allowlist ? allowlist.split(",").map((h) => h.trim().toLowerCase()) : [],
    homeDir: home,
    configDir: configDir(env, home),
  };
}
