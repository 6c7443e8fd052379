/** Turns whatever the OpenAI client throws into one short, actionable message. */

import { concatBytes } from "../bytes.ts";
import { describeFsError } from "../fs_atomic.ts";
import { redact } from "../log.ts";
import { ToolError } from "../errors.ts";

/** The parts of an OpenAI SDK error this module reads. */
interface ApiErrorLike {
  status?: number;
  code?: string | null;
  param?: string | null;
  message?: string;
  headers?: Headers;
  requestID?: string | null;
  error?: { message?: string };
  name?: string;
}

/**
 * Bytes of an error answer's body that are read; the rest is cancelled unread. An error page
 * can be any size (a gateway's 50 MB HTML 502), and only its first words are ever shown.
 */
export const ERROR_BODY_MAX_BYTES = 16 * 1024;

/** Characters of the API's own words that an error quotes. */
export const ERROR_TEXT_MAX = 300;

/** The first `max` bytes of `body`; the rest is cancelled. A body that breaks gives what came. */
async function readPrefix(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = body.getReader();
  const pieces: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { value, done } = await reader.read();
      if (done) break;
      pieces.push(value.subarray(0, max - size));
      size += pieces[pieces.length - 1].length;
    }
  } catch {
    // What arrived before the break is still the best account of the error.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return concatBytes(pieces);
}

/**
 * `fetcher`, with the body of every error answer (status 400 or above) cut to its first
 * `ERROR_BODY_MAX_BYTES` before the OpenAI client reads it whole; status and headers unchanged.
 */
export function boundErrorBodies(fetcher: typeof fetch): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetcher(input, init);
    if (response.status < 400 || !response.body) return response;
    const head = await readPrefix(response.body, ERROR_BODY_MAX_BYTES);
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    return new Response(head, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, name: string) => {
    if (name[0] !== "#") return ENTITIES[name.toLowerCase()] ?? whole;
    const code = name[1] === "x" || name[1] === "X"
      ? parseInt(name.slice(2), 16)
      : parseInt(name.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** The text of an HTML page or fragment: scripts, styles, comments and tags gone. */
export function stripMarkup(html: string): string {
  return decodeEntities(
    html.replace(/<(script|style)\b[^]*?(<\/\1\s*>|$)/gi, " ")
      .replace(/<!--[^]*?(-->|$)/g, " ")
      .replace(/<\/?[a-z!][^>]*(>|$)/gi, " "),
  );
}

/**
 * Words the API (or a gateway before it) sent, fit to quote in a result: markup stripped,
 * control characters and runs of spaces folded, secrets redacted, at most `ERROR_TEXT_MAX`
 * characters. Redacted before the cut, so a key cut in half cannot slip past the redactor.
 */
export function quotableText(text: string, secrets: readonly (string | undefined)[] = []): string {
  const plain = /<\/?[a-z!][^>]*>/i.test(text) ? stripMarkup(text) : text;
  // deno-lint-ignore no-control-regex
  const folded = plain.replace(/[\u0000-\u001f\u007f\s]+/g, " ").trim();
  const clean = redact(folded, secrets);
  return clean.length > ERROR_TEXT_MAX ? `${clean.slice(0, ERROR_TEXT_MAX - 1)}…` : clean;
}

/** The API's own message, without the SDK's status prefix, fit to quote (see `quotableText`). */
export function apiMessage(
  error: ApiErrorLike,
  secrets: readonly (string | undefined)[] = [],
): string {
  const raw = error.error?.message ?? error.message?.replace(/^\d{3}\s+/, "");
  return raw ? quotableText(String(raw), secrets) || "no message" : "no message";
}

/** The `x-request-id` of an error answer, when it has a plausible one. */
function requestId(error: ApiErrorLike): string | undefined {
  const id = error.requestID ?? error.headers?.get?.("x-request-id");
  return id && /^[\w.:-]{1,128}$/.test(id) ? id : undefined;
}

/** Errors of this process's own files and folders: never the API's doing. */
const LOCAL_ERRORS = [
  Deno.errors.NotFound,
  Deno.errors.PermissionDenied,
  Deno.errors.NotCapable,
  Deno.errors.AlreadyExists,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
  Deno.errors.FilesystemLoop,
  Deno.errors.WriteZero,
];

/** Whether `error` is a local file error (or a disk-full one), not an error from the API. */
export function isLocalError(error: unknown): boolean {
  if (LOCAL_ERRORS.some((kind) => error instanceof kind)) return true;
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" &&
    /^E(NOSPC|ROFS|DQUOT|MFILE|NFILE|IO|NOENT|ACCES|EXIST)$/.test(code);
}

/** Seconds the API asked us to wait, from `retry-after-ms` or `retry-after`. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Whether the launch-time answer of `/v1/images/edits` rejected the model itself. */
export function isModelRejectedByEdits(error: unknown, model: string): boolean {
  const e = error as ApiErrorLike;
  if (e?.status !== 400) return false;
  const message = apiMessage(e);
  return e.param === "model" || message.includes(`'${model}'`) ||
    /must be 'dall-e-2'/.test(message);
}

/** What an error description needs: the limits it names, and the secrets it must not quote. */
export interface ErrorContext {
  timeoutMs: number;
  attempts: number;
  secrets?: readonly (string | undefined)[];
}

/** Maps an error from an API call to the ToolError the model sees; the original stays as `cause`. */
export function toToolError(error: unknown, context: ErrorContext): ToolError {
  if (error instanceof ToolError) return error;
  return new ToolError(describeApiError(error, context), { cause: error });
}

function describeStatus(e: ApiErrorLike, context: ErrorContext): string | undefined {
  const { attempts } = context;
  const message = apiMessage(e, context.secrets);
  switch (e.status) {
    case 400:
      if (e.code === "moderation_blocked" || /safety system|content policy/i.test(message)) {
        return `OpenAI refused this request under its content policy (moderation_blocked): ` +
          `${message} What was refused: the prompt and any input images, before any image was ` +
          `made; it was not retried and nothing was billed. Fix: rephrase the prompt (describe ` +
          `the scene without the flagged subject, e.g. no real people, gore or explicit detail) ` +
          `or change the input images; for a borderline request, moderation: "low" applies ` +
          `less strict filtering.`;
      }
      return e.param
        ? `OpenAI rejected the parameter "${e.param}" (400): ${message}`
        : `OpenAI rejected the request (400): ${message}`;
    case 401:
      return `OpenAI rejected the API key (401): ${message} Check OPENAI_API_KEY in the server's environment.`;
    case 403:
      if (/verif/i.test(message)) {
        return `OpenAI denied access (403): ${message} Fix: GPT Image models need API Organization ` +
          `Verification: verify at platform.openai.com > Settings > Organization > General ` +
          `(access can take 15 minutes to arrive).`;
      }
      if (/access to|not allowed|permission/i.test(message) || e.code === "model_not_found") {
        return `OpenAI denied access (403): ${message} Fix: this key's project may not use the ` +
          `model or feature; allow it in the project's settings, or choose another model.`;
      }
      return `OpenAI denied access (403): ${message} GPT Image models need API Organization Verification ` +
        `(platform.openai.com, Settings > Organization > General), and the key's project must allow the model.`;
    case 404:
      if (e.code === "model_not_found" || /model/i.test(message)) {
        return `OpenAI does not offer this model to this key (404): ${message} Fix: check the ` +
          `model id (argument model or GPT_IMAGE_2_MODEL), or choose one this project can use.`;
      }
      break;
    case 429: {
      if (e.code === "insufficient_quota" || /quota|billing/i.test(message)) {
        return `OpenAI says the account is out of quota (429): ${message} Check billing and ` +
          `usage limits: add credit or raise the monthly limit at platform.openai.com > ` +
          `Settings > Billing (not retried: waiting does not restore quota).`;
      }
      const wait = retryAfterMs(e.headers);
      const asked = wait !== undefined ? ` (the API asked for ${Math.ceil(wait / 1000)} s)` : "";
      return `OpenAI rate limit reached (429) after ${attempts} attempt(s): ${message} ` +
        `Lower n, space the calls out${asked}, or raise your tier's images-per-minute limit.`;
    }
  }
  if (e.status !== undefined && e.status >= 500) {
    return `OpenAI server error (${e.status}) after ${attempts} attempt(s): ${message} Try again shortly.`;
  }
  return e.status !== undefined ? `OpenAI error (${e.status}): ${message}` : undefined;
}

/** One short, actionable sentence for an error from an API call; an HTTP error keeps its request id. */
export function describeApiError(error: unknown, context: ErrorContext): string {
  const e = (error ?? {}) as ApiErrorLike;
  if (isLocalError(error)) {
    return `A local file operation failed during the call, not the OpenAI API: ${
      quotableText(describeFsError(error), context.secrets)
    }`;
  }
  const status = describeStatus(e, context);
  if (status !== undefined) {
    const id = requestId(e);
    return id ? `${status} (request id ${id})` : status;
  }
  if (e.name === "APIConnectionTimeoutError") {
    return `The OpenAI request timed out after ${Math.round(context.timeoutMs / 1000)} s ` +
      `(GPT_IMAGE_2_TIMEOUT_MS=${context.timeoutMs}). Try a smaller size or lower quality, or raise the limit.`;
  }
  if (e.name === "APIConnectionError") {
    return `Could not reach the OpenAI API after ${context.attempts} attempt(s): ${
      quotableText(String(e.message), context.secrets)
    }. ` +
      `Check the network and OPENAI_BASE_URL.`;
  }
  if (error instanceof SyntaxError) {
    return `OpenAI returned a malformed answer (${
      quotableText(error.message, context.secrets)
    }); nothing was saved. Try again.`;
  }
  if (error instanceof TypeError) {
    return `The connection to the OpenAI API broke after ${context.attempts} attempt(s) (${
      quotableText(error.message, context.secrets)
    }). Try again.`;
  }
  return `OpenAI call failed: ${
    quotableText(error instanceof Error ? error.message : String(error), context.secrets)
  }`;
}
