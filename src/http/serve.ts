/**
 * `serve --http`: MCP over Streamable HTTP on `Deno.serve`, both protocol eras through the SDK's
 * web-standard handler. Every request passes the Host/Origin guard, then authentication, then
 * the body cap, before the handler sees it; each principal gets a toolbox of its own (output
 * folder, sessions, jobs, its line in the ledger).
 */

import { join } from "node:path";
import { spendRoot } from "../budget.ts";
import { type Config, ConfigError } from "../config.ts";
import { type AuthInfo, createMcpHandler, type McpRequestContext } from "../deps.ts";
import type { Logger } from "../log.ts";
import { type CallerScope, createServerFactory } from "../server.ts";
import { type Authenticator, createAuthenticator } from "./auth.ts";
import type { HttpConfig } from "./config.ts";
import { bufferBody, checkHeaders, guardPolicy } from "./guard.ts";
import { type Principal, principalRoot } from "./principal.ts";
import { refusal } from "./refusal.ts";

/** The path MCP is served at. */
export const MCP_PATH = "/mcp";

/** What `serveHttp` needs. */
export interface HttpServeOptions {
  config: Config | ConfigError;
  http: HttpConfig;
  log: Logger;
  version: string;
  /** Replaces the authenticator built from `http` (tests). */
  authenticator?: Authenticator;
  /** How long calls in flight get to finish when the server stops (default 5 s). */
  shutdownGraceMs?: number;
  /** How long a principal goes without requests before what the server holds for it goes. */
  principalIdleMs?: number;
}

/** A running HTTP server. */
export interface HttpServing {
  /** The address it listens on (the real port when 0 was asked for). */
  addr: Deno.NetAddr;
  /** The URL clients connect to. */
  url: string;
  /** Stops listening, aborts the calls in flight and waits (bounded) for their cleanup. */
  shutdown(): Promise<void>;
  /** Settles once the server has stopped. */
  finished: Promise<void>;
  /** How many principals the server holds a handler and toolbox for now. */
  heldPrincipals(): number;
}

/**
 * A principal idle this long loses its MCP handler and toolbox (they are rebuilt on its next
 * request), so that a server meeting many callers over weeks does not keep them all.
 */
const PRINCIPAL_IDLE_MS = 30 * 60_000;

/** What the server holds for one principal, and how it is in use. */
interface Held {
  handler: ReturnType<typeof createMcpHandler>;
  scope?: CallerScope;
  /** Stops telling the handler of the principal's saves. */
  stopWatching?: () => void;
  /** Requests whose response has not ended (an open event stream counts until it closes). */
  open: number;
  lastUsed: number;
}

/** The folder under the output root that holds one folder per principal. */
export const PRINCIPALS_FOLDER = "principals";

/** The scope of `principal`: its own folder, its line in the shared ledger, its budget. */
export function principalScope(
  config: Config,
  http: HttpConfig,
  principal: Principal,
): CallerScope {
  const base = spendRoot(config);
  if (!base) {
    throw new ConfigError(
      "No output directory: set GPT_IMAGE_2_OUTPUT_DIR, or HOME (XDG_CONFIG_HOME, APPDATA on Windows).",
    );
  }
  const root = principalRoot(join(base, PRINCIPALS_FOLDER), principal.id);
  return {
    key: principal.id,
    config: {
      ...config,
      cwd: root,
      outputDirOverride: root,
      confinedRoot: root,
      projectBudgetUsd: http.principalBudgetUsd,
      projectBudgetVariable: "GPT_IMAGE_2_PRINCIPAL_BUDGET_USD",
    },
    toolbox: { ledgerRoot: base, project: `principal ${principal.id}` },
  };
}

/**
 * `request` with an abort signal that fires only when the client goes away: before the response
 * is handed back, when Deno aborts the request's own signal; after that, only when Deno cancels
 * the response body (the client stopped reading a stream). Deno 2.9 also aborts `request.signal`
 * once a response has been sent successfully, which would cancel the call behind an SSE stream.
 */
function detachedSignal(request: Request): {
  request: Request;
  /** The response to send; `onEnd` is called once its body has ended, however it ends. */
  wrap(response: Response, onEnd: () => void): Response;
} {
  const controller = new AbortController();
  let answered = false;
  const onAbort = () => {
    if (!answered) controller.abort(request.signal.reason);
  };
  request.signal.addEventListener("abort", onAbort, { once: true });
  return {
    request: new Request(request, { signal: controller.signal }),
    wrap(response, onEnd) {
      answered = true;
      request.signal.removeEventListener("abort", onAbort);
      let ended = false;
      const end = () => {
        if (!ended) onEnd();
        ended = true;
      };
      if (!response.body) {
        end();
        return response;
      }
      const reader = response.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(stream) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              stream.close();
              end();
            } else stream.enqueue(value);
          } catch (error) {
            stream.error(error);
            end();
          }
        },
        cancel(reason) {
          end();
          controller.abort(reason);
          return reader.cancel(reason);
        },
      });
      return new Response(body, response);
    },
  };
}

/** Starts the HTTP server; it listens once this returns (throws when it cannot bind). */
export function serveHttp(options: HttpServeOptions): HttpServing {
  const { config, http, log } = options;
  const authenticator = options.authenticator ?? createAuthenticator(http);
  const factory = createServerFactory(options);
  /**
   * One MCP handler per principal, built on its first request: each has its own event bus, so a
   * save's list_changed reaches only that principal's listening clients (the SDK's bus sends to
   * every open subscription it has).
   */
  const handlers = new Map<string, Held>();
  const handlerFor = (principal: Principal): Held => {
    const held = handlers.get(principal.id);
    if (held) return held;
    const scope = config instanceof ConfigError
      ? undefined
      : principalScope(config, http, principal);
    const handler = createMcpHandler(
      (ctx: McpRequestContext) => factory.create(ctx.era, { scope, perRequest: true }),
      {
        maxRequestBodySize: http.maxBodyBytes,
        onerror: (error) => log.debug(`http: ${error.message}`),
      },
    );
    // A save tells this principal's listening 2026 clients that the list changed.
    const stopWatching = scope
      ? factory.watchImages(scope, () => handler.notify.resourcesChanged())
      : undefined;
    const created: Held = { handler, scope, stopWatching, open: 0, lastUsed: Date.now() };
    handlers.set(principal.id, created);
    return created;
  };
  const idleMs = options.principalIdleMs ?? PRINCIPAL_IDLE_MS;
  let lastSweep = Date.now();
  /** Releases principals idle for `idleMs` with nothing open or running; at most every idleMs/4. */
  function sweepIdle(now: number): void {
    if (now - lastSweep < idleMs / 4) return;
    lastSweep = now;
    for (const [id, held] of handlers) {
      if (held.open > 0 || now - held.lastUsed < idleMs) continue;
      if (held.scope && !factory.release(held.scope)) continue;
      handlers.delete(id);
      held.stopWatching?.();
      held.handler.close().catch(() => {});
      log.debug(`http: released principal ${id} after ${Math.round(idleMs / 1000)} s idle`);
    }
  }

  async function handle(incoming: Request): Promise<Response> {
    const guarded = checkHeaders(incoming, policy);
    if (guarded) return guarded;
    const metadata = authenticator.metadataResponse(incoming);
    if (metadata) return metadata;
    const path = new URL(incoming.url).pathname;
    if (path !== MCP_PATH) {
      return refusal(404, `Nothing is served at ${path}; MCP is at ${MCP_PATH}.`);
    }
    const principal = await authenticator.authenticate(incoming);
    if (principal instanceof Response) return principal;
    const buffered = await bufferBody(incoming, policy);
    if (buffered instanceof Response) return buffered;
    const { request, wrap } = detachedSignal(buffered);
    // The token stays here: what the tools see is who the caller is, never its credential.
    const authInfo: AuthInfo = {
      token: "",
      clientId: principal.id,
      scopes: principal.scopes,
      extra: { principal },
    };
    const now = Date.now();
    sweepIdle(now);
    const held = handlerFor(principal);
    held.open++;
    held.lastUsed = now;
    let response: Response;
    try {
      response = wrap(await held.handler.fetch(request, { authInfo }), () => {
        held.open--;
        held.lastUsed = Date.now();
      });
    } catch (error) {
      held.open--;
      throw error;
    }
    return response;
  }

  let policy = guardPolicy(http, { port: http.port });
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: http.host,
    port: http.port,
    signal: controller.signal,
    onListen: () => {},
    onError: (error) => {
      log.error(`http: ${(error as Error)?.stack ?? error}`);
      return refusal(500, "The server failed on this request; see its log.");
    },
  }, (request) =>
    handle(request).catch((error) => {
      log.error(`http: ${(error as Error)?.stack ?? error}`);
      return refusal(500, "The server failed on this request; see its log.");
    }));
  const addr = server.addr;
  policy = guardPolicy(http, { port: addr.port });
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    addr,
    url: `http://${host}:${addr.port}${MCP_PATH}`,
    finished: server.finished,
    heldPrincipals: () => handlers.size,
    async shutdown() {
      controller.abort();
      for (const held of handlers.values()) held.stopWatching?.();
      await Promise.all([...handlers.values()].map((h) => h.handler.close()));
      await server.finished;
      if (factory.inflight.size === 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((done) => {
        timer = setTimeout(done, options.shutdownGraceMs ?? 5_000);
      });
      await Promise.race([Promise.allSettled([...factory.inflight]), grace]);
      clearTimeout(timer);
    },
  };
}
