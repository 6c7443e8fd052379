/** Logging to stderr and, once attached, to the MCP client as `notifications/message`. */

export type LogLevel = "debug" | "info" | "notice" | "warning" | "error";

/** Receives each log line for the MCP client; the SDK filters by the client's chosen level. */
export type LogSink = (level: LogLevel, data: string) => void;

const SECRET_PATTERNS = [
  /\bsk-[A-Za-z0-9_\-*]{6,}/g,
  /(authorization["']?\s*[:=]\s*["']?)(bearer\s+|basic\s+)?[^\s"',}]+/gi,
  /\bbearer\s+[A-Za-z0-9._\-]{8,}/gi,
  /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi,
];

/** The fewest characters of a known secret that count as that secret: any 12-character prefix. */
export const SECRET_PREFIX_MIN = 12;

const HEX = /^[0-9a-f]+$/i;

/**
 * How many characters of `secret` the text spells from `at`, each as itself or escaped:
 * `%HH` (URL encoding, `%25HH` twice encoded), `\uHHHH` (JSON, any number of backslashes),
 * `\/`, `&#N;` or `&#xH;` (HTML). Returns the end of the match and the characters matched.
 */
function spell(text: string, at: number, secret: string): { end: number; count: number } {
  let i = at, count = 0;
  for (; count < secret.length && i < text.length; count++) {
    const code = secret.charCodeAt(count);
    const next = matchChar(text, i, code);
    if (next === -1) break;
    i = next;
  }
  return { end: i, count };
}

/** Where the text after one spelling of the character `code` at `i` resumes, or -1. */
function matchChar(text: string, i: number, code: number): number {
  const c = text.charCodeAt(i);
  if (c === code) return i + 1;
  if (c === 0x25) { // %HH or %25HH
    const twice = text.startsWith("25", i + 1) ? 2 : 0;
    const hex = text.slice(i + 1 + twice, i + 3 + twice);
    if (hex.length === 2 && HEX.test(hex) && parseInt(hex, 16) === code) return i + 3 + twice;
    return -1;
  }
  if (c === 0x5c) { // \uHHHH or \/, behind any number of backslashes
    let j = i;
    while (text.charCodeAt(j) === 0x5c) j++;
    if (text[j] === "/" && code === 0x2f) return j + 1;
    const hex = text.slice(j + 1, j + 5);
    if (text[j] === "u" && hex.length === 4 && HEX.test(hex) && parseInt(hex, 16) === code) {
      return j + 5;
    }
    return -1;
  }
  if (c === 0x26 && text[i + 1] === "#") { // &#N; or &#xH;
    const m = /^&#(x[0-9a-f]{1,6}|\d{1,7});/i.exec(text.slice(i, i + 12));
    if (!m) return -1;
    const value = m[1][0].toLowerCase() === "x" ? parseInt(m[1].slice(1), 16) : Number(m[1]);
    return value === code ? i + m[0].length : -1;
  }
  return -1;
}

/** `text` with every spelling of at least `min` leading characters of `secret` replaced. */
function redactSpelled(text: string, secret: string, min: number): string {
  let out = "", from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== secret.charCodeAt(0) && c !== 0x25 && c !== 0x5c && c !== 0x26) continue;
    const { end, count } = spell(text, i, secret);
    if (count < min) continue;
    out += text.slice(from, i) + "[redacted]";
    from = end;
    i = end - 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * The parts of `secret`'s base64 that do not depend on what surrounds it, for each of the three
 * positions it can take in a longer encoded text (`Basic` credentials put it after `user:`),
 * in the standard and the URL-safe alphabet.
 */
function base64Cores(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = new Uint8Array(offset + bytes.length);
    padded.set(bytes, offset);
    const encoded = btoa(String.fromCharCode(...padded));
    const core = encoded.slice(
      Math.ceil((offset * 8) / 6),
      Math.floor(((offset + bytes.length) * 8) / 6),
    );
    cores.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return cores;
}

/** `text` with every run of at least `min` leading characters of `core` replaced. */
function redactRun(text: string, core: string, min: number): string {
  const head = core.slice(0, min);
  let out = "", from = 0;
  for (let i = text.indexOf(head); i !== -1; i = text.indexOf(head, from)) {
    let end = i + head.length;
    while (end < text.length && end - i < core.length && text[end] === core[end - i]) end++;
    out += text.slice(from, i) + "[redacted]";
    from = end;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** `text` without `secret` in any form it is likely to be echoed in (see `redact`). */
function redactSecret(text: string, secret: string): string {
  const min = Math.min(SECRET_PREFIX_MIN, secret.length);
  let out = redactSpelled(text, secret, min);
  // Twelve characters are sixteen in base64; fifteen of them are the secret's alone.
  const base64Min = Math.ceil((min * 4) / 3) - 1;
  for (const core of base64Cores(secret)) {
    if (core.length >= base64Min) out = redactRun(out, core, base64Min);
  }
  return out;
}

/**
 * Removes API keys, authorization headers and URL credentials from any text that leaves the
 * process. Each known secret goes in every form a gateway may echo it in: as it is, URL-encoded,
 * JSON- or HTML-escaped, in base64, or cut short (any prefix of 12 characters or more).
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 8) out = redactSecret(out, secret);
    else if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  out = out.replace(SECRET_PATTERNS[0], "[redacted]");
  out = out.replace(SECRET_PATTERNS[1], "$1[redacted]");
  out = out.replace(SECRET_PATTERNS[2], "Bearer [redacted]");
  return out.replace(SECRET_PATTERNS[3], "$1[redacted]@");
}

/** A logger that never writes to stdout and never lets a secret through. */
export class Logger {
  #sink?: LogSink;
  constructor(readonly options: { debug: boolean; secrets: readonly (string | undefined)[] }) {}

  /** Forwards later lines to the MCP client as well. */
  attach(sink: LogSink): void {
    this.#sink = sink;
  }

  /** Redacts `text` with this logger's secrets. */
  redact(text: string): string {
    return redact(text, this.options.secrets);
  }

  debug(message: string): void {
    this.#write("debug", message);
  }
  info(message: string): void {
    this.#write("info", message);
  }
  notice(message: string): void {
    this.#write("notice", message);
  }
  warning(message: string): void {
    this.#write("warning", message);
  }
  error(message: string): void {
    this.#write("error", message);
  }

  #write(level: LogLevel, message: string): void {
    const clean = this.redact(message);
    if (level !== "debug" || this.options.debug) {
      console.error(`[gpt-image-2-mcp] ${level}: ${clean}`);
    }
    try {
      this.#sink?.(level, clean);
    } catch {
      // A client that went away must not take logging down with it.
    }
  }
}
