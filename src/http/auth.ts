/**
 * Who may call the HTTP server: the holder of the static token (`GPT_IMAGE_2_HTTP_TOKEN`), the
 * holder of an access token from the configured authorization server (OAuth 2.1 resource
 * server, with its protected resource metadata per RFC 9728), or, on a loopback server with
 * neither configured, anyone on this machine. Tokens are checked here and go nowhere else.
 */

import type { HttpConfig, OAuthSettings } from "./config.ts";
import {
  AuthServerUnavailable,
  createTokenVerifier,
  TokenRejected,
  type TokenVerifier,
  type TokenVerifierOptions,
} from "./oauth.ts";
import {
  LOCAL_PRINCIPAL_ID,
  type Principal,
  principalId,
  TOKEN_PRINCIPAL_ID,
} from "./principal.ts";
import { refusal } from "./refusal.ts";

/** The name resource metadata and challenges give this server. */
const RESOURCE_NAME = "gpt-image-2-mcp";

/** The well-known path of protected resource metadata (RFC 9728 §3). */
export const METADATA_PATH = "/.well-known/oauth-protected-resource";

/** The URL of the metadata for `audience`: the well-known path before the resource's own path. */
export function resourceMetadataUrl(audience: string): string {
  const url = new URL(audience);
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.origin}${METADATA_PATH}${path}`;
}

/** The protected resource metadata document (RFC 9728 §2) for `settings`. */
export function resourceMetadata(settings: OAuthSettings): Record<string, unknown> {
  return {
    resource: settings.audience,
    authorization_servers: [settings.issuer],
    scopes_supported: settings.scopes,
    bearer_methods_supported: ["header"],
    resource_name: RESOURCE_NAME,
  };
}

/** Compares two strings in time that depends on neither their content nor their lengths. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [x, y] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  const p = new Uint8Array(x);
  const q = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < p.length; i++) diff |= p[i] ^ q[i];
  return diff === 0;
}

/** A value safe inside a quoted `WWW-Authenticate` parameter (RFC 6750 §3). */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "")}"`;
}

/** Decides for each request who it acts for, or answers it with the refusal. */
export interface Authenticator {
  /**
   * The protected resource metadata when `request` asks for it (GET at the well-known path or
   * that path followed by the resource's own path); undefined for every other request.
   */
  metadataResponse(request: Request): Response | undefined;
  /** The request's principal, or a 401/403/503 response saying why not. */
  authenticate(request: Request): Promise<Principal | Response>;
}

/** Options of `createAuthenticator`. */
export interface AuthenticatorOptions extends TokenVerifierOptions {
  /** A verifier to use instead of one built from `config.oauth`. */
  verifier?: TokenVerifier;
}

/** The authenticator `config` asks for. */
export function createAuthenticator(
  config: HttpConfig,
  options: AuthenticatorOptions = {},
): Authenticator {
  const oauth = config.oauth;
  const verifier = oauth ? options.verifier ?? createTokenVerifier(oauth, options) : undefined;
  const metadataUrl = oauth ? resourceMetadataUrl(oauth.audience) : undefined;
  const metadataPaths = oauth
    ? new Set([METADATA_PATH, new URL(metadataUrl!).pathname])
    : new Set<string>();

  /** `Bearer` with the resource metadata (OAuth) or a realm (static token only), plus `extra`. */
  const challenge = (extra: Record<string, string> = {}): string => {
    const params: Record<string, string> = oauth
      ? { resource_metadata: metadataUrl!, scope: oauth.scopes.join(" "), ...extra }
      : { realm: RESOURCE_NAME, ...extra };
    return `Bearer ${Object.entries(params).map(([k, v]) => `${k}=${quoted(v)}`).join(", ")}`;
  };

  const refuse = (
    status: 401 | 403,
    message: string,
    code?: "invalid_token" | "insufficient_scope",
  ): Response =>
    refusal(status, message, {
      "www-authenticate": challenge(code ? { error: code, error_description: message } : {}),
    });

  return {
    metadataResponse(request) {
      const path = new URL(request.url).pathname;
      if (!oauth || !metadataPaths.has(path)) return undefined;
      const cors = { "access-control-allow-origin": "*" };
      if (request.method === "OPTIONS") {
        return new Response(null, {
          status: 204,
          headers: { ...cors, "access-control-allow-methods": "GET, OPTIONS" },
        });
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        return refusal(405, `${path} answers GET only.`, { allow: "GET, HEAD, OPTIONS", ...cors });
      }
      return Response.json(resourceMetadata(oauth), {
        headers: { ...cors, "cache-control": "max-age=3600" },
      });
    },

    async authenticate(request) {
      if (!config.token && !oauth) return { id: LOCAL_PRINCIPAL_ID, scopes: [], kind: "local" };
      const header = request.headers.get("authorization") ?? "";
      const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
      if (!match) {
        const what = header
          ? "an Authorization header that is not a Bearer token"
          : "no access token";
        const fix = oauth
          ? "a token from the authorization server this server's resource metadata names"
          : "the token set as GPT_IMAGE_2_HTTP_TOKEN on the server";
        return refuse(401, `The request carries ${what}; send Authorization: Bearer with ${fix}.`);
      }
      const token = match[1];
      if (config.token && await constantTimeEqual(token, config.token)) {
        return { id: TOKEN_PRINCIPAL_ID, scopes: [], kind: "token" };
      }
      if (!verifier || !oauth) {
        return refuse(401, "The bearer token is not this server's token.", "invalid_token");
      }
      try {
        const verified = await verifier.verify(token);
        return {
          id: await principalId({ issuer: oauth.issuer, subject: verified.subject }),
          scopes: verified.scopes,
          kind: "oauth",
        };
      } catch (error) {
        if (error instanceof TokenRejected) {
          return refuse(error.code === "insufficient_scope" ? 403 : 401, error.message, error.code);
        }
        if (error instanceof AuthServerUnavailable) {
          return refusal(
            503,
            `Access tokens cannot be checked right now: ${error.message}.`,
            { "retry-after": "10" },
          );
        }
        throw error;
      }
    },
  };
}
