/** Logging to stderr and, once attached, to the MCP client as `notifications/message`. */

export type LogLevel = "debug" | "info" | "notice" | "warning" | "error";

/** Receives each log line for the MCP client; the SDK filters by the client's chosen level. */
export type LogSink = (level: LogLevel, data: string) => void;

const SECRET_PATTERNS = [
  /\bsk-[A-Za-z0-9_\-*]{6,}/g,
  /(authorization["']?\s*[:=]\s*["']?)(bearer\s+)?[^\s"',}]+/gi,
  /\bbearer\s+[A-Za-z0-9._\-]{8,}/gi,
];

/** Removes API keys and authorization headers from any text that leaves the process. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  out = out.replace(SECRET_PATTERNS[0], "[redacted]");
  out = out.replace(SECRET_PATTERNS[1], "$1[redacted]");
  return out.replace(SECRET_PATTERNS[2], "Bearer [redacted]");
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
