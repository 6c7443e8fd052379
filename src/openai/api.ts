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

/** Access to the OpenAI API for one server process. */
export class Api {
  #client?: Promise<OpenAI>;
  constructor(readonly config: Config, readonly log: Logger) {}

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
