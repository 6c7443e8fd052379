/** The settings of `serve --http`, read from the environment (and the command line's flags). */

import { ConfigError, type HTTP_ENV_VARS } from "../config.ts";

/** The name of one variable the HTTP mode reads. */
export type HttpEnvName = typeof HTTP_ENV_VARS[number];

/** Reads one variable: undefined when unset or empty. */
export type HttpEnv = (name: HttpEnvName) => string | undefined;

/** Where access tokens come from and what they must say. */
export interface OAuthSettings {
  /** The authorization server's issuer identifier, exactly as its tokens carry it in `iss`. */
  issuer: string;
  /** This server's public URL: the resource tokens must be issued for (`aud`, RFC 8707). */
  audience: string;
  /** Scopes every token must carry (all of them). */
  scopes: string[];
}

/** A host an HTTP request may name in `Host` or `Origin`; no port means any port. */
export interface HostPattern {
  /** Lower case; IPv6 addresses in brackets, as in a URL. */
  hostname: string;
  port?: number;
}

/** Everything `serve --http` needs, validated. */
export interface HttpConfig {
  /** The address to bind: a name or an IP address (IPv6 without brackets). */
  host: string;
  /** The port to bind; 0 picks a free one. */
  port: number;
  /** The static bearer token (`GPT_IMAGE_2_HTTP_TOKEN`), when set. */
  token?: string;
  /** Hosts allowed besides the ones derived from the bind address and the OAuth audience. */
  allowedHosts: HostPattern[];
  /** The largest request body read, in bytes. */
  maxBodyBytes: number;
  oauth?: OAuthSettings;
  /** The most one principal may spend, in US dollars, when set. */
  principalBudgetUsd?: number;
}

/** Command-line flags that take precedence over the variables. */
export interface HttpFlags {
  host?: string;
  port?: string;
}

/** The default bind address: loopback only. */
export const DEFAULT_HOST = "127.0.0.1";
/** The default port. */
export const DEFAULT_PORT = 8787;
/** The default body cap: one 50 MB input image as a data URL, with room to spare. */
export const DEFAULT_MAX_BODY_BYTES = 96 * 1024 * 1024;
/** The shortest static token accepted: 32 characters, e.g. `openssl rand -hex 32` gives 64. */
export const MIN_TOKEN_LENGTH = 32;

/** Whether `host` (a name, an IPv4 address, or an IPv6 address with or without brackets) is this machine's loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return h === "::1" || h === "0:0:0:0:0:0:0:1" ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A bracketed IPv6 address, or dot-separated labels (underscores too: container names use them). */
const HOSTNAME =
  /^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*)$/;

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port` (what a `Host` header carries), or
 * returns undefined. Host names are lower-cased; a trailing dot is refused.
 */
export function parseHostPattern(value: string): HostPattern | undefined {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(value.trim().toLowerCase());
  if (!match || !HOSTNAME.test(match[1])) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && port > 65535) return undefined;
  return { hostname: match[1], port };
}

/** `host` as it appears in a URL: IPv6 addresses in brackets. */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host.toLowerCase();
}

function bindHost(raw: string, name: string): string {
  const host = raw.replace(/^\[(.*)\]$/, "$1");
  const wildcard = host === "0.0.0.0" || host === "::";
  if (!wildcard && !parseHostPattern(urlHost(host))) {
    throw new ConfigError(
      `${name} must be a host name or an IP address to listen on, got "${raw}".`,
    );
  }
  return host.toLowerCase();
}

function portOf(raw: string, name: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 65535) {
    throw new ConfigError(`${name} must be a port number from 0 to 65535, got "${raw}".`);
  }
  return value;
}

function allowedHosts(raw: string | undefined): HostPattern[] {
  if (!raw) return [];
  return raw.split(",").map((item) => item.trim()).filter(Boolean).map((item) => {
    const pattern = parseHostPattern(item);
    if (!pattern) {
      throw new ConfigError(
        `GPT_IMAGE_2_HTTP_ALLOWED_HOSTS must list host names or host:port pairs separated by ` +
          `commas (no scheme, no path), got "${item}".`,
      );
    }
    return pattern;
  });
}

function httpUrl(raw: string, name: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute https:// URL (${what}), got "${raw}".`);
  }
  const local = url.protocol === "http:" && isLoopbackHost(url.hostname);
  if (url.protocol !== "https:" && !local) {
    throw new ConfigError(
      `${name} must use https:// (http:// only for a loopback address), got "${raw}".`,
    );
  }
  if (url.hash || url.username || url.password) {
    throw new ConfigError(`${name} must not carry a fragment or credentials, got "${raw}".`);
  }
  return url;
}

function oauthSettings(env: HttpEnv): OAuthSettings | undefined {
  const issuer = env("GPT_IMAGE_2_OAUTH_ISSUER");
  const audience = env("GPT_IMAGE_2_OAUTH_AUDIENCE");
  const scope = env("GPT_IMAGE_2_OAUTH_SCOPE");
  if (issuer === undefined && audience === undefined && scope === undefined) return undefined;
  const missing = [
    issuer === undefined && "GPT_IMAGE_2_OAUTH_ISSUER",
    audience === undefined && "GPT_IMAGE_2_OAUTH_AUDIENCE",
    scope === undefined && "GPT_IMAGE_2_OAUTH_SCOPE",
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new ConfigError(
      `OAuth needs GPT_IMAGE_2_OAUTH_ISSUER, GPT_IMAGE_2_OAUTH_AUDIENCE and ` +
        `GPT_IMAGE_2_OAUTH_SCOPE together; ${missing.join(" and ")} ${
          missing.length > 1 ? "are" : "is"
        } not set.`,
    );
  }
  httpUrl(issuer!, "GPT_IMAGE_2_OAUTH_ISSUER", "the authorization server's issuer");
  httpUrl(
    audience!,
    "GPT_IMAGE_2_OAUTH_AUDIENCE",
    "this server's public URL, e.g. https://mcp.example.com/mcp",
  );
  const scopes = scope!.split(/\s+/).filter(Boolean);
  if (scopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) {
    throw new ConfigError(
      `GPT_IMAGE_2_OAUTH_SCOPE must be scope names separated by spaces (printable ASCII, ` +
        `no quotes or backslashes), got "${scope}".`,
    );
  }
  return { issuer: issuer!, audience: audience!, scopes };
}

function dollars(env: HttpEnv, name: HttpEnvName): number | undefined {
  const raw = env(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive amount in US dollars, got "${raw}".`);
  }
  return value;
}

function bodyCap(env: HttpEnv): number {
  const raw = env("GPT_IMAGE_2_HTTP_MAX_BODY_BYTES");
  if (raw === undefined) return DEFAULT_MAX_BODY_BYTES;
  const value = Number(raw);
  const min = 64 * 1024;
  const max = 1024 * 1024 * 1024;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `GPT_IMAGE_2_HTTP_MAX_BODY_BYTES must be a whole number of bytes from ${min} to ${max}, ` +
        `got "${raw}".`,
    );
  }
  return value;
}

/**
 * Builds the HTTP settings; `flags` (`--host`, `--port`) win over the variables. A bind address
 * other than loopback needs `GPT_IMAGE_2_HTTP_TOKEN` or the OAuth settings: anyone who reaches
 * the port could otherwise spend the API key.
 */
export function loadHttpConfig(env: HttpEnv, flags: HttpFlags = {}): HttpConfig {
  const host = flags.host !== undefined
    ? bindHost(flags.host, "--host")
    : bindHost(env("GPT_IMAGE_2_HTTP_HOST") ?? DEFAULT_HOST, "GPT_IMAGE_2_HTTP_HOST");
  const rawPort = flags.port ?? env("GPT_IMAGE_2_HTTP_PORT");
  const port = rawPort === undefined
    ? DEFAULT_PORT
    : portOf(rawPort, flags.port !== undefined ? "--port" : "GPT_IMAGE_2_HTTP_PORT");
  const token = env("GPT_IMAGE_2_HTTP_TOKEN");
  // RFC 6750's token characters: what a client can send after `Bearer `.
  if (token !== undefined && !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw new ConfigError(
      `GPT_IMAGE_2_HTTP_TOKEN may hold only letters, digits and - . _ ~ + / (then = signs), ` +
        `e.g. the output of \`openssl rand -hex 32\`.`,
    );
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(
      `GPT_IMAGE_2_HTTP_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters long ` +
        `(e.g. the output of \`openssl rand -hex 32\`); the one given has ${token.length}.`,
    );
  }
  const oauth = oauthSettings(env);
  if (!isLoopbackHost(host) && token === undefined && oauth === undefined) {
    throw new ConfigError(
      `the HTTP server would listen on ${host}, which other machines can reach, without ` +
        `authentication: set GPT_IMAGE_2_HTTP_TOKEN or the GPT_IMAGE_2_OAUTH_* settings, ` +
        `or listen on 127.0.0.1.`,
    );
  }
  return {
    host,
    port,
    token,
    allowedHosts: allowedHosts(env("GPT_IMAGE_2_HTTP_ALLOWED_HOSTS")),
    maxBodyBytes: bodyCap(env),
    oauth,
    principalBudgetUsd: dollars(env, "GPT_IMAGE_2_PRINCIPAL_BUDGET_USD"),
  };
}
