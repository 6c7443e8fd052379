/** The OpenAI client, loaded on first use, and the retry policy every request goes through. */

import { loadOpenAI, type OpenAI } from "../deps.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { CancelledError, ToolError } from "../errors.ts";
import { netScopeProblem } from "../permissions.ts";
import { boundErrorBodies, retryAfterMs, toToolError } from "./errors.ts";

/** The longest `Retry-After` we will sit through before giving the error back instead. */
const MAX_RETRY_WAIT_MS = 60_000;

/** Options of one logical API call. */
export interface CallOptions {
  /** Aborts the request and any wait between attempts. */
  signal?: AbortSignal;
  /** Told before each retry, with the attempt about to run and the wait before it. */
  onRetry?: (info: { attempt: number; waitMs: number; reason: string }) => void;
}

function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; status?: number; code?: string | null };
  if (e?.name === "APIUserAbortError" || e?.name === "APIConnectionTimeoutError") return false;
  // APIConnectionError: no answer at all; TypeError: the connection broke while the body was read.
  if (e?.name === "APIConnectionError" || error instanceof TypeError) return true;
  if (e?.status === 429) return e.code !== "insufficient_quota";
  return e?.status !== undefined && e.status >= 500;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Days before an announced shutdown from which a call warns about it. */
export const SHUTDOWN_WARNING_DAYS = 30;

/** What `GET /v1/models/{id}` said about a model this process uses. */
export interface ModelProbe {
  /** The shutdown date the API announces, as YYYY-MM-DD. */
  shutdownDate?: string;
}

/** The warning for a shutdown the API announces within `SHUTDOWN_WARNING_DAYS`, if any. */
export function shutdownWarning(
  model: string,
  probe: ModelProbe,
  now = new Date(),
): string | undefined {
  if (!probe.shutdownDate) return undefined;
  const days = Math.ceil((Date.parse(probe.shutdownDate) - now.getTime()) / 86_400_000);
  if (!Number.isFinite(days) || days > SHUTDOWN_WARNING_DAYS) return undefined;
  return days < 0
    ? `model: the API announced that ${model} shuts down on ${probe.shutdownDate}, which has passed`
    : `model: the API announces that ${model} shuts down on ${probe.shutdownDate} (in ${days} ` +
      `day${days === 1 ? "" : "s"}); choose another model before then`;
}

/** `shutdown_date` of a model object (a Unix time or a date) as YYYY-MM-DD, if a valid one. */
export function shutdownDateOf(model: unknown): string | undefined {
  const value = (model as { shutdown_date?: unknown })?.shutdown_date;
  const date = typeof value === "number"
    ? new Date(value * 1000)
    : typeof value === "string"
    ? new Date(value)
    : undefined;
  return date && Number.isFinite(date.getTime()) ? date.toISOString().slice(0, 10) : undefined;
}

/**
 * Whether a 404 to `GET /v1/models/{id}` is the API saying the model is not there for this key
 * (`model_not_found`), rather than a gateway or proxy that has no such route.
 */
export function isModelNotFound(status: number | undefined, code: unknown): boolean {
  return status === 404 && code === "model_not_found";
}

/** The one-line fix for a refused `GET /v1/models/{id}`, or undefined when it says nothing. */
export function modelAccessProblem(
  answer: { status?: number; code?: unknown },
  model: string,
): string | undefined {
  const { status, code } = answer;
  if (status === 403) {
    return `model: this key may not use ${model} (403). GPT Image models need API Organization ` +
      "Verification: verify the organization at platform.openai.com > Settings > Organization " +
      "> General (access can take 15 minutes to arrive), and check the project allows the model";
  }
  if (isModelNotFound(status, code)) {
    return `model: ${model} is not available to this key (404): check the id for a typo, or ` +
      "pick a model this project can use (GET /v1/models lists them)";
  }
  return undefined;
}

/** Access to the OpenAI API for one server process. */
export class Api {
  #client?: Promise<OpenAI>;
  #models = new Map<string, Promise<ModelProbe>>();
  constructor(readonly config: Config, readonly log: Logger) {}

  /**
   * Reads `GET /v1/models/{model}` on a model's first call in this process: a ToolError when the
   * key cannot use it (nothing else is sent), else what the API announces about it. A probe
   * that fails otherwise (network, server error, a gateway without the route) is not held
   * against the call; it is tried again on the next call, unless the route was missing.
   */
  async probeModel(model: string, signal?: AbortSignal): Promise<ModelProbe> {
    if (signal?.aborted) throw new CancelledError();
    let probe = this.#models.get(model);
    if (!probe) {
      // Shared by every call of the model meanwhile, so it follows no one call's cancel.
      probe = this.#probe(model);
      this.#models.set(model, probe);
      probe.catch(() => this.#models.delete(model));
    }
    if (!signal) return await probe;
    const waiting = probe;
    return await new Promise<ModelProbe>((resolve, reject) => {
      const cancelled = () => reject(new CancelledError());
      signal.addEventListener("abort", cancelled, { once: true });
      waiting.then(resolve, reject).finally(() => signal.removeEventListener("abort", cancelled));
    });
  }

  async #probe(model: string): Promise<ModelProbe> {
    const client = await this.ready();
    try {
      const answer = await client.models.retrieve(model, { timeout: 15_000 });
      return { shutdownDate: shutdownDateOf(answer) };
    } catch (error) {
      const { status, code, message } = error as {
        status?: number;
        code?: unknown;
        message?: string;
      };
      // A restricted key may lack the model-read scope and still draw: that 403 decides nothing.
      // Nor does a 404 from a gateway without this route: the image call's own answer will.
      const scopes = /missing scopes|insufficient permissions/i.test(message ?? "");
      const problem = scopes ? undefined : modelAccessProblem({ status, code }, model);
      if (problem) throw new ToolError(problem);
      this.log.debug(`GET /models/${model} failed (${(error as Error).message}); going ahead`);
      // A route the host lacks stays lacking: asked again only after other failures.
      if (status !== 404) this.#models.delete(model);
      return {};
    }
  }

  /** Checks the key and loads the SDK on first use, so that start-up does not load it. */
  ready(): Promise<OpenAI> {
    const host = new URL(this.config.baseURL).host;
    const permission = netScopeProblem(host);
    if (permission) {
      return Promise.reject(new ToolError(`OPENAI_BASE_URL (${host}): ${permission}`));
    }
    if (!this.config.apiKey) {
      return Promise.reject(
        new ToolError(
          "OPENAI_API_KEY is not set. Add it to the env block of this server in your MCP client configuration.",
        ),
      );
    }
    this.#client ??= loadOpenAI().then(({ default: OpenAIClient }) =>
      new OpenAIClient({
        apiKey: this.config.apiKey,
        baseURL: this.config.baseURL,
        organization: this.config.organization ?? null,
        project: this.config.project ?? null,
        maxRetries: 0,
        timeout: this.config.timeoutMs,
        logLevel: "off",
        fetch: boundErrorBodies(fetch),
      })
    );
    return this.#client;
  }

  /** Runs `request`, retrying rate limits, server errors and dropped connections with backoff. */
  async call<T>(
    label: string,
    request: (client: OpenAI, signal?: AbortSignal) => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    const client = await this.ready();
    const attempts = this.config.maxRetries + 1;
    for (let attempt = 1;; attempt++) {
      if (options.signal?.aborted) throw new CancelledError();
      // The SDK's own timeout ends at the response headers; this one covers the whole body too.
      const timeout = AbortSignal.timeout(this.config.timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      try {
        this.log.debug(`${label}: attempt ${attempt} of ${attempts}`);
        return await request(client, signal);
      } catch (error) {
        if (options.signal?.aborted) throw new CancelledError();
        if (timeout.aborted) {
          throw new ToolError(
            `The OpenAI request timed out after ${Math.round(this.config.timeoutMs / 1000)} s ` +
              `(GPT_IMAGE_2_TIMEOUT_MS=${this.config.timeoutMs}). Try a smaller size or lower quality, or raise the limit.`,
          );
        }
        const headers = (error as { headers?: Headers }).headers;
        const asked = retryAfterMs(headers);
        if (attempt >= attempts || !isRetryable(error) || (asked ?? 0) > MAX_RETRY_WAIT_MS) {
          throw toToolError(error, {
            timeoutMs: this.config.timeoutMs,
            attempts: attempt,
            secrets: [this.config.apiKey],
          });
        }
        const backoff = this.config.retryBaseMs * 2 ** (attempt - 1);
        const waitMs = asked ?? Math.round(backoff / 2 + Math.random() * backoff / 2);
        const reason = (error as { status?: number }).status
          ? `HTTP ${(error as { status?: number }).status}`
          : "connection dropped";
        this.log.warning(
          `${label}: ${reason}; retrying in ${waitMs} ms (attempt ${attempt + 1} of ${attempts})`,
        );
        options.onRetry?.({ attempt: attempt + 1, waitMs, reason });
        try {
          await sleep(waitMs, options.signal);
        } catch {
          throw new CancelledError();
        }
      }
    }
  }
}
