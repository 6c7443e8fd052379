/** Turns whatever the OpenAI client throws into one short, actionable message. */

import { ToolError } from "../errors.ts";

/** The parts of an OpenAI SDK error this module reads. */
interface ApiErrorLike {
  status?: number;
  code?: string | null;
  param?: string | null;
  message?: string;
  headers?: Headers;
  error?: { message?: string };
  name?: string;
}

/** The API's own message, without the SDK's status prefix. */
export function apiMessage(error: ApiErrorLike): string {
  return error.error?.message ?? error.message?.replace(/^\d{3}\s+/, "") ?? "no message";
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

/** Maps an error from an API call to the ToolError the model sees; the original stays as `cause`. */
export function toToolError(
  error: unknown,
  context: { timeoutMs: number; attempts: number },
): ToolError {
  if (error instanceof ToolError) return error;
  return new ToolError(describeApiError(error, context), { cause: error });
}

function describeStatus(e: ApiErrorLike, attempts: number): string | undefined {
  const message = apiMessage(e);
  switch (e.status) {
    case 400:
      if (e.code === "moderation_blocked" || /safety system|content policy/i.test(message)) {
        return `OpenAI refused this request under its content policy (moderation_blocked): ${message} ` +
          `Rephrase the prompt or change the input images.`;
      }
      return e.param
        ? `OpenAI rejected the parameter "${e.param}" (400): ${message}`
        : `OpenAI rejected the request (400): ${message}`;
    case 401:
      return `OpenAI rejected the API key (401): ${message} Check OPENAI_API_KEY in the server's environment.`;
    case 403:
      return `OpenAI denied access (403): ${message} GPT Image models need API Organization Verification ` +
        `(platform.openai.com, Settings > Organization > General), and the key's project must allow the model.`;
    case 429: {
      if (e.code === "insufficient_quota" || /quota|billing/i.test(message)) {
        return `OpenAI says the account is out of quota (429): ${message} Check billing and usage limits.`;
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

/** One short, actionable sentence for an error from an API call. */
export function describeApiError(
  error: unknown,
  context: { timeoutMs: number; attempts: number },
): string {
  const e = (error ?? {}) as ApiErrorLike;
  if (e.name === "APIConnectionTimeoutError") {
    return `The OpenAI request timed out after ${Math.round(context.timeoutMs / 1000)} s ` +
      `(GPT_IMAGE_2_TIMEOUT_MS=${context.timeoutMs}). Try a smaller size or lower quality, or raise the limit.`;
  }
  if (e.name === "APIConnectionError") {
    return `Could not reach the OpenAI API after ${context.attempts} attempt(s): ${e.message}. ` +
      `Check the network and OPENAI_BASE_URL.`;
  }
  if (error instanceof SyntaxError) {
    return `OpenAI returned a malformed answer (${error.message}); nothing was saved. Try again.`;
  }
  if (error instanceof TypeError) {
    return `The connection to the OpenAI API broke after ${context.attempts} attempt(s) (${error.message}). Try again.`;
  }
  return describeStatus(e, context.attempts) ??
    `OpenAI call failed: ${error instanceof Error ? error.message : String(error)}`;
}
