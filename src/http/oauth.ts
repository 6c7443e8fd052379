/**
 * Access tokens as an OAuth 2.1 resource server checks them: JWTs signed by a key of the
 * authorization server (found through its metadata, RFC 8414 or OpenID Connect discovery),
 * issued by it, for this server (RFC 8707 audience), unexpired, with the required scopes.
 */

import { type JWTPayload, type JWTVerifyGetKey, loadJose } from "../deps.ts";
import type { OAuthSettings } from "./config.ts";
import { isLoopbackHost } from "./config.ts";

/** Why a token was refused: `invalid_token` (401) or `insufficient_scope` (403), as RFC 6750 names them. */
export class TokenRejected extends Error {
  override name = "TokenRejected";
  constructor(readonly code: "invalid_token" | "insufficient_scope", message: string) {
    super(message);
  }
}

/** The authorization server's metadata or keys could not be had: no token can be checked now. */
export class AuthServerUnavailable extends Error {
  override name = "AuthServerUnavailable";
}

/** What a verified token says about its holder. */
export interface VerifiedToken {
  subject: string;
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt: number;
  clientId?: string;
}

/** Options of `createTokenVerifier`. */
export interface TokenVerifierOptions {
  /** The clock tokens are judged by (tests move it past a token's expiry). */
  now?: () => Date;
  /** How long to wait for the authorization server, in milliseconds. */
  timeoutMs?: number;
}

/** Checks access tokens against one authorization server's keys and this server's rules. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

/** Signature algorithms accepted: asymmetric only, since only the issuer may hold the key. */
const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** Clock skew forgiven between this server and the authorization server. */
const CLOCK_TOLERANCE_S = 30;

/** After a failed discovery, how long requests are refused before it is tried again. */
const RETRY_AFTER_MS = 10_000;

/** The metadata URLs to try for `issuer`, most specific first (RFC 8414 §3.1, then OIDC). */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/openid-configuration${path}`,
  ].filter((u, i, all) => all.indexOf(u) === i);
}

function secureEnough(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/** Finds the JWKS URL in the issuer's metadata, checking that the metadata is the issuer's own. */
async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<URL> {
  const problems: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: "application/json" },
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      problems.push(`${url}: ${(error as Error).message}`);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      problems.push(`${url}: HTTP ${response.status}`);
      continue;
    }
    let metadata: { issuer?: unknown; jwks_uri?: unknown };
    try {
      metadata = await response.json();
    } catch {
      problems.push(`${url}: not JSON`);
      continue;
    }
    if (metadata.issuer !== issuer) {
      // RFC 8414 §3.3: metadata naming another issuer must not be used.
      throw new AuthServerUnavailable(
        `the metadata at ${url} names issuer "${metadata.issuer}", not "${issuer}"` +
          ` (GPT_IMAGE_2_OAUTH_ISSUER must be exactly the issuer its tokens carry)`,
      );
    }
    if (typeof metadata.jwks_uri !== "string") {
      throw new AuthServerUnavailable(`the metadata at ${url} has no jwks_uri`);
    }
    const jwks = new URL(metadata.jwks_uri);
    if (!secureEnough(jwks)) {
      throw new AuthServerUnavailable(`the jwks_uri ${jwks} is not https://`);
    }
    return jwks;
  }
  throw new AuthServerUnavailable(`no authorization server metadata (${problems.join("; ")})`);
}

function scopesOf(payload: JWTPayload): string[] {
  // `scope` is RFC 9068's claim; some servers (Entra ID, Okta) put a list in `scp`.
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === "string") return raw.split(" ").filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return [];
}

type JoseErrors = Awaited<ReturnType<typeof loadJose>>["errors"];

function rejection(error: unknown, settings: OAuthSettings, joseErrors: JoseErrors): Error {
  if (error instanceof joseErrors.JWTExpired) {
    const exp = typeof error.payload.exp === "number"
      ? ` at ${new Date(error.payload.exp * 1000).toISOString()}`
      : "";
    return new TokenRejected("invalid_token", `The access token expired${exp}.`);
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "aud") {
      return new TokenRejected(
        "invalid_token",
        `The access token was issued for another resource, not ${settings.audience}.`,
      );
    }
    if (error.claim === "iss") {
      return new TokenRejected(
        "invalid_token",
        `The access token comes from another issuer, not ${settings.issuer}.`,
      );
    }
    return new TokenRejected(
      "invalid_token",
      `The access token's "${error.claim}" claim is unacceptable (${error.reason}).`,
    );
  }
  if (error instanceof joseErrors.JWKSTimeout) {
    return new AuthServerUnavailable(`the authorization server's keys did not arrive in time`);
  }
  if (
    error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid ||
    error instanceof joseErrors.JWSSignatureVerificationFailed ||
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JWKSMultipleMatchingKeys ||
    error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported
  ) {
    return new TokenRejected(
      "invalid_token",
      `The access token is not a JWT signed by ${settings.issuer}.`,
    );
  }
  if (error instanceof AuthServerUnavailable) return error;
  return new AuthServerUnavailable(
    `the authorization server's keys could not be fetched: ${(error as Error).message}`,
  );
}

/**
 * A verifier for tokens from `settings.issuer`. It discovers the key set on first use and
 * keeps it (jose refetches when a token names an unknown key); a failed discovery is retried
 * after ten seconds. Tokens are only checked here, never sent anywhere.
 */
export function createTokenVerifier(
  settings: OAuthSettings,
  options: TokenVerifierOptions = {},
): TokenVerifier {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let keys: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = 0;
  const keySet = (): Promise<JWTVerifyGetKey> => {
    if (!keys && Date.now() - failedAt < RETRY_AFTER_MS) {
      return Promise.reject(
        new AuthServerUnavailable(`the authorization server ${settings.issuer} was unreachable`),
      );
    }
    keys ??= discoverJwksUri(settings.issuer, timeoutMs).then(
      async (url) => (await loadJose()).createRemoteJWKSet(url, { timeoutDuration: timeoutMs }),
      (error) => {
        keys = undefined;
        failedAt = Date.now();
        throw error;
      },
    );
    return keys;
  };
  return {
    async verify(token: string): Promise<VerifiedToken> {
      const getKey = await keySet();
      const jose = await loadJose();
      let payload: JWTPayload;
      try {
        ({ payload } = await jose.jwtVerify(token, getKey, {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_S,
          currentDate: options.now?.(),
          requiredClaims: ["exp", "sub"],
        }));
      } catch (error) {
        throw rejection(error, settings, jose.errors);
      }
      const scopes = scopesOf(payload);
      const missing = settings.scopes.filter((s) => !scopes.includes(s));
      if (missing.length > 0) {
        throw new TokenRejected(
          "insufficient_scope",
          `The access token lacks the scope ${missing.join(" and ")}, which this server requires.`,
        );
      }
      const clientId = payload.client_id ?? payload.azp;
      return {
        subject: payload.sub!,
        scopes,
        expiresAt: payload.exp!,
        clientId: typeof clientId === "string" ? clientId : undefined,
      };
    },
  };
}
