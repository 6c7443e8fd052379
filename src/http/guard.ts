/**
 * What every HTTP request passes before the MCP handler sees it: DNS-rebinding protection
 * (`Host` and `Origin` against an allow list) and a cap on the body. A web page the user opens
 * can make the browser send requests to `127.0.0.1`, and a host name it controls can resolve
 * there; only the `Host` and `Origin` headers tell such a request apart.
 */

import {
  type HostPattern,
  type HttpConfig,
  isLoopbackHost,
  parseHostPattern,
  urlHost,
} from "./config.ts";
import { refusal } from "./refusal.ts";

/** The checks' settings, fixed once the server knows the port it listens on. */
export interface GuardPolicy {
  /** Hosts a request may name, in `Host` and in `Origin`. */
  allowedHosts: HostPattern[];
  maxBodyBytes: number;
}

/** The names and addresses that reach this machine's loopback. */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The allow list for a server bound as `config` says, on `port` (the real one, when the
 * configured port was 0): the loopback names and the bind address with that port, the OAuth
 * audience's host, and `GPT_IMAGE_2_HTTP_ALLOWED_HOSTS`.
 */
export function guardPolicy(config: HttpConfig, options: { port: number }): GuardPolicy {
  const hosts: HostPattern[] = LOOPBACK_NAMES.map((hostname) => ({ hostname, port: options.port }));
  const wildcard = config.host === "0.0.0.0" || config.host === "::";
  if (!wildcard && !isLoopbackHost(config.host)) {
    hosts.push({ hostname: urlHost(config.host), port: options.port });
  }
  if (config.oauth) {
    const audience = new URL(config.oauth.audience);
    hosts.push({
      hostname: audience.hostname,
      port: audience.port ? Number(audience.port) : undefined,
    });
  }
  hosts.push(...config.allowedHosts);
  return { allowedHosts: hosts, maxBodyBytes: config.maxBodyBytes };
}

function allowed(policy: GuardPolicy, hostname: string, ports: readonly number[]): boolean {
  return policy.allowedHosts.some((pattern) =>
    pattern.hostname === hostname &&
    (pattern.port === undefined || ports.includes(pattern.port))
  );
}

const FIX = "add it to GPT_IMAGE_2_HTTP_ALLOWED_HOSTS if this server is meant to answer to it";

/**
 * Refuses a request whose `Host` or `Origin` names a host off the allow list (403), or whose
 * `Host` is missing or malformed (400); undefined when the request may go on. A request
 * without `Origin` passes that check: only browsers send one, and they always do cross-site.
 */
export function checkHeaders(request: Request, policy: GuardPolicy): Response | undefined {
  const hostHeader = request.headers.get("host");
  if (hostHeader === null) {
    return refusal(400, "The request has no Host header, which this server requires.");
  }
  const host = parseHostPattern(hostHeader);
  if (!host) {
    return refusal(
      400,
      `The Host header "${hostHeader}" is not a host name with an optional port.`,
    );
  }
  // Without a port, the client used the scheme's default one.
  if (!allowed(policy, host.hostname, host.port === undefined ? [80, 443] : [host.port])) {
    return refusal(
      403,
      `Host "${hostHeader}" is not one this server answers to (DNS-rebinding protection); ${FIX}.`,
    );
  }
  const origin = request.headers.get("origin");
  if (origin === null) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return refusal(
      403,
      `Origin "${origin}" is refused: only http(s) pages on allowed hosts may call this server.`,
    );
  }
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  if (!allowed(policy, url.hostname, [port])) {
    return refusal(
      403,
      `Origin "${origin}" is not one this server answers to (DNS-rebinding protection); ${FIX}.`,
    );
  }
  return undefined;
}

function tooLarge(policy: GuardPolicy): Response {
  return refusal(
    413,
    `The request body is over this server's limit of ${policy.maxBodyBytes} bytes ` +
      `(GPT_IMAGE_2_HTTP_MAX_BODY_BYTES).`,
  );
}

/**
 * Reads the body into memory, refusing one over `policy.maxBodyBytes` with 413 as soon as it is
 * declared or has streamed past the limit, and returns the request with the body in hand (its
 * method, headers and abort signal kept). A request without a body comes back as it was.
 */
export async function bufferBody(
  request: Request,
  policy: GuardPolicy,
): Promise<Request | Response> {
  if (request.body === null) return request;
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (!/^\d+$/.test(declared.trim())) {
      return refusal(400, `The Content-Length header "${declared}" is not a number of bytes.`);
    }
    if (Number(declared) > policy.maxBodyBytes) {
      await request.body.cancel().catch(() => {});
      return tooLarge(policy);
    }
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > policy.maxBodyBytes) {
        await reader.cancel().catch(() => {});
        return tooLarge(policy);
      }
      chunks.push(value);
    }
  } catch {
    return refusal(400, "The request body could not be read: the client closed the connection.");
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new Request(request, { body });
}
