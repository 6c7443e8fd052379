/** Downloads a remote input: https only, no internal addresses, bounded in time, size and redirects. */

import { concatBytes } from "../../bytes.ts";
import type { Config } from "../../config.ts";
import { canResolveDns, netScopeProblem } from "../../permissions.ts";
import { ToolError } from "../../errors.ts";
import { isInternalName, isIpLiteral, isPrivateAddress } from "./address.ts";

const MAX_REDIRECTS = 3;

async function resolveAll(hostname: string): Promise<string[]> {
  const lookups = await Promise.allSettled([
    Deno.resolveDns(hostname, "A"),
    Deno.resolveDns(hostname, "AAAA"),
  ]);
  return lookups.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
}

/** Refuses a URL whose host is internal, unless the host is on the allowlist. */
async function checkHost(url: URL, config: Config, label: string): Promise<void> {
  const host = url.host.toLowerCase();
  const hostname = url.hostname.toLowerCase();
  if (config.inputHostAllowlist.includes(host) || config.inputHostAllowlist.includes(hostname)) {
    return;
  }
  const refuse = (why: string) =>
    new ToolError(
      `${label}: ${url.origin} is refused: ${why}. Remote inputs may not reach loopback, private, ` +
        `link-local or cloud-metadata addresses (GPT_IMAGE_2_INPUT_HOST_ALLOWLIST exempts a host).`,
    );
  if (isInternalName(hostname)) throw refuse(`"${hostname}" names an internal host`);
  if (isIpLiteral(hostname)) {
    if (isPrivateAddress(hostname)) throw refuse(`${hostname} is an internal address`);
    return;
  }
  // DNS needs net access to the name server; under a host-scoped --allow-net, Deno's own scope
  // (which names this host explicitly) is the guard.
  if (!canResolveDns()) return;
  const internal = (await resolveAll(hostname)).find(isPrivateAddress);
  if (internal) throw refuse(`${hostname} resolves to the internal address ${internal}`);
}

async function readCapped(
  response: Response,
  maxBytes: number,
  label: string,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new ToolError(
      `${label}: the server declares ${declared} bytes, over the ${maxBytes}-byte limit.`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body!.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ToolError(
        `${label}: the download passed the ${maxBytes}-byte limit; stopped reading.`,
      );
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

/** Parses a URL, or refuses it with `problem`: never the runtime's bare "Invalid URL". */
function parseUrl(text: string, problem: string, base?: URL): URL {
  try {
    return new URL(text, base);
  } catch {
    throw new ToolError(problem);
  }
}

/** Fetches `source`, following at most three redirects, each checked like the first request. */
export async function fetchRemote(
  source: string,
  options: { config: Config; label: string; maxBytes: number; signal?: AbortSignal },
): Promise<Uint8Array> {
  const { config, label } = options;
  let url = parseUrl(source, `${label}: not a valid URL.`);
  const timeout = AbortSignal.timeout(config.inputTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  for (let hop = 0;; hop++) {
    if (url.protocol !== "https:" && !(url.protocol === "http:" && config.allowHttpInputs)) {
      throw new ToolError(
        `${label}: only https:// URLs are accepted${hop ? " (also after a redirect)" : ""}; ` +
          `set GPT_IMAGE_2_ALLOW_HTTP_INPUTS=1 to allow plain http://.`,
      );
    }
    await checkHost(url, config, label);
    const permission = netScopeProblem(url.host);
    if (permission) throw new ToolError(`${label}: ${permission}`);
    let response: Response;
    try {
      response = await fetch(url, { redirect: "manual", signal });
    } catch (error) {
      if (timeout.aborted) {
        throw new ToolError(
          `${label}: the download timed out after ${config.inputTimeoutMs} ms (GPT_IMAGE_2_INPUT_TIMEOUT_MS).`,
        );
      }
      throw new ToolError(`${label}: the download failed: ${(error as Error).message}`);
    }
    if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) {
        throw new ToolError(`${label}: more than ${MAX_REDIRECTS} redirects.`);
      }
      const location = response.headers.get("location")!;
      const shown = location.slice(0, 120);
      url = parseUrl(location, `${label}: it redirects to "${shown}", not a valid URL.`, url);
      continue;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new ToolError(`${label}: the server answered HTTP ${response.status}.`);
    }
    try {
      return await readCapped(response, options.maxBytes, label);
    } catch (error) {
      if (error instanceof ToolError) throw error;
      if (timeout.aborted) {
        throw new ToolError(
          `${label}: the download timed out after ${config.inputTimeoutMs} ms (GPT_IMAGE_2_INPUT_TIMEOUT_MS).`,
        );
      }
      throw new ToolError(`${label}: the download failed: ${(error as Error).message}`);
    }
  }
}
