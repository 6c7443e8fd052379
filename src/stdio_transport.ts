/**
 * MCP over stdin/stdout with Deno's own `read` and `write`. Each line is judged by JSON-RPC's
 * rules (`jsonrpc.ts`) before the SDK sees it: a malformed one is answered with its error here.
 * A line longer than the cap is refused as it arrives, never held whole. The SDK's own stdio
 * transport goes through the Node compatibility layer's streams, skips invalid JSON without an
 * answer and closes the connection on a long line; see docs/performance.md for what each costs.
 *
 * @module
 */

import { type ByteSink, concatBytes, writeAll } from "./bytes.ts";
import type { JSONRPCMessage, Transport } from "./deps.ts";
import { type ErrorReply, MAX_LINE_BYTES, readMessage, tooLarge } from "./jsonrpc.ts";

const NEWLINE = 0x0a;
const READ_SIZE = 64 * 1024;
/**
 * A message is encoded and written this many UTF-16 units at a time, through one buffer: an
 * image result's megabytes of base64 are not copied into bytes whole, into fresh pages.
 */
const WRITE_UNITS = 256 * 1024;

/**
 * How long requests already read get to be answered once stdin ends, before the connection
 * closes and whatever still runs is cancelled: a client that writes its requests and closes its
 * end at once (`printf ... | gpt-image-2-mcp`) still gets the quick answers.
 */
const DRAIN_MS = 2_000;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Where messages come from: `Deno.stdin`, or anything with its `read` (null at the end). */
export interface ByteSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Where the transport reads and writes, and its line cap. */
export interface StdioTransportOptions {
  input?: ByteSource;
  output?: ByteSink;
  /** The longest line accepted, in bytes (default 16 MB). */
  maxLineBytes?: number;
  /** How long requests read before the end of stdin get to be answered (default 2 s). */
  drainMs?: number;
}

/** Newline-delimited JSON-RPC on this process's stdin and stdout. */
export class DenoStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #input: ByteSource;
  readonly #output: ByteSink;
  readonly #maxLineBytes: number;
  readonly #drainMs: number;
  /** Requests read and not yet answered, by id. */
  readonly #unanswered = new Set<string | number>();
  /** Called once the last unanswered request is answered, while stdin has ended. */
  #drained?: () => void;
  #started = false;
  #closed = false;
  /** The message being written: the next waits for it, so no message lands inside another. */
  #writing: Promise<void> = Promise.resolve();
  readonly #encoder = new TextEncoder();
  /** Room for `WRITE_UNITS` of any text: UTF-8 takes at most 3 bytes per UTF-16 unit. */
  #buffer?: Uint8Array;

  constructor(options: StdioTransportOptions = {}) {
    this.#input = options.input ?? Deno.stdin;
    this.#output = options.output ?? Deno.stdout;
    this.#maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.#drainMs = options.drainMs ?? DRAIN_MS;
  }

  start(): Promise<void> {
    if (this.#started) return Promise.reject(new Error("The transport is already started"));
    this.#started = true;
    this.#read().catch((error) => this.onerror?.(error as Error))
      .finally(() => this.#closeWhenAnswered());
    return Promise.resolve();
  }

  /** Closes once every request read has been answered, or after the drain time. */
  async #closeWhenAnswered(): Promise<void> {
    if (this.#unanswered.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#drained = resolve),
        new Promise<void>((resolve) => timer = setTimeout(resolve, this.#drainMs)),
      ]);
      clearTimeout(timer);
    }
    await this.close();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    /** The rest of a line over the cap is dropped as it comes, up to its newline. */
    let skipping = false;
    const buffer = new Uint8Array(READ_SIZE);
    for (let n = await this.#input.read(buffer); n !== null; n = await this.#input.read(buffer)) {
      // Each line is decoded before the next read reuses the buffer; a partial one is copied.
      const chunk = buffer.subarray(0, n);
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
        const tail = chunk.subarray(start, end);
        start = end + 1;
        if (skipping || pendingBytes + tail.length > this.#maxLineBytes) {
          if (!skipping) this.#reply(tooLarge(this.#maxLineBytes));
          skipping = false;
          pending = [];
          pendingBytes = 0;
          continue;
        }
        const line = pending.length === 0 ? tail : concatBytes([...pending, tail]);
        pending = [];
        pendingBytes = 0;
        this.#dispatch(decoder.decode(line));
      }
      if (start === chunk.length || skipping) continue;
      const rest = chunk.subarray(start);
      if (pendingBytes + rest.length > this.#maxLineBytes) {
        this.#reply(tooLarge(this.#maxLineBytes));
        skipping = true;
        pending = [];
        pendingBytes = 0;
        continue;
      }
      pending.push(rest.slice());
      pendingBytes += rest.length;
    }
  }

  #dispatch(line: string): void {
    if (this.#closed || !line.trim()) return;
    const inbound = readMessage(line);
    if ("message" in inbound) {
      const { message } = inbound;
      if ("method" in message && "id" in message) this.#unanswered.add(message.id);
      this.onmessage?.(message);
    } else if ("reply" in inbound) this.#reply(inbound.reply);
    else this.onerror?.(new Error(`Ignored a message on stdin: ${inbound.ignored}`));
  }

  #reply(reply: ErrorReply): void {
    this.#write(reply).catch((error) => this.onerror?.(error as Error));
  }

  #write(message: JSONRPCMessage | ErrorReply): Promise<void> {
    const text = JSON.stringify(message) + "\n";
    const written = this.#writing.then(() => this.#writeText(text));
    this.#writing = written.catch(() => {});
    return written;
  }

  async #writeText(text: string): Promise<void> {
    if (text.length <= WRITE_UNITS) return await writeAll(this.#output, this.#encoder.encode(text));
    const buffer = this.#buffer ??= new Uint8Array(WRITE_UNITS * 3);
    for (let at = 0; at < text.length;) {
      let end = Math.min(text.length, at + WRITE_UNITS);
      // A surrogate pair stays whole: half of one would be encoded as U+FFFD.
      if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
      const { written } = this.#encoder.encodeInto(text.slice(at, end), buffer);
      await writeAll(this.#output, buffer.subarray(0, written));
      at = end;
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (!this.#started) return Promise.reject(new Error("The transport is not started"));
    const written = this.#write(message);
    const answered = "id" in message && !("method" in message) ? message.id : undefined;
    if (answered !== undefined) {
      // Answered once the answer is out, so that a close after it does not cut it short.
      written.finally(() => {
        this.#unanswered.delete(answered);
        if (this.#unanswered.size === 0) this.#drained?.();
      }).catch(() => {});
    }
    return written;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.onclose?.();
    return Promise.resolve();
  }
}
