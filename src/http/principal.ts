/**
 * Who a request acts for, and the folder that is theirs. A principal's id names a folder, so it
 * is built to be safe as one on every system: a readable part and a hash that keeps subjects
 * that read alike (or differ only in case) apart.
 */

import { join } from "node:path";

/** The caller of an HTTP request, once authenticated. */
export interface Principal {
  /** Folder-safe: lower-case letters, digits, `.`, `_` and `-`, starting with a letter or digit. */
  id: string;
  /** The scopes the access token granted (empty for the static token and loopback use). */
  scopes: string[];
  /**
   * How the caller was recognised: `oauth` (an access token's subject), `token` (the static
   * `GPT_IMAGE_2_HTTP_TOKEN`), or `local` (a loopback server without authentication).
   */
  kind: "oauth" | "token" | "local";
}

/** The id of whoever holds the static token. */
export const TOKEN_PRINCIPAL_ID = "owner";
/** The id of every caller of a loopback server without authentication. */
export const LOCAL_PRINCIPAL_ID = "local";

/** What every principal id looks like; anything else is refused as a folder name. */
export const PRINCIPAL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The readable part of an id: `sub` reduced to folder-safe characters. */
function readablePart(subject: string): string {
  const part = subject.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/\.{2,}/g, ".")
    .replace(/^[-._]+|[-._]+$/g, "").slice(0, 32).replace(/[-._]+$/, "");
  return part || "user";
}

/**
 * The id of the subject `subject` of tokens from `issuer`: its readable part and the first 16
 * hex digits of SHA-256 over issuer and subject, e.g. `alice-example.com-3f2a9c0d1b2e4f56`.
 */
export async function principalId(options: { issuer: string; subject: string }): Promise<string> {
  const input = new TextEncoder().encode(`${options.issuer}\0${options.subject}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input), 0, 8);
  const hash = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${readablePart(options.subject)}-${hash}`;
}

/** The folder of principal `id` under `base`; throws when `id` is not a principal id. */
export function principalRoot(base: string, id: string): string {
  if (!PRINCIPAL_ID.test(id) || id.includes("..")) {
    throw new Error(`"${id}" is not a principal id, so it names no folder.`);
  }
  return join(base, id);
}
