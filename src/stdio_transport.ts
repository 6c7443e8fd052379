/**
 * MCP over stdin/stdout with Deno's own `read` and `write`. The SDK's stdio transport goes
 * through the Node compatibility layer's `process.stdout`, which moved a 3.5 MB image result
 * about half as fast, and its import cost ~20 ms of every cold start. Web streams
 * (`Deno.stdin.readable`) would load Deno's streams module before the first reply (~4 ms).
 *
 * @module
 */

import { type ByteSink, concatBytes } from "./bytes.ts";
import { encodeFrame, releaseFrame, writeFrame } from "./json_frame.ts";
import { type JSONRPCMessage, JSONRPCMessageSchema, type Transport } from "./mcp_sdk.ts";

const NEWLINE = 0x0a;
const READ_SIZE = 64 * 1024;

/** Where messages come from: `Deno.stdin`, or anything with its `read` (null at the end). */
export interface ByteSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Newline-delimited JSON-RPC on this process's stdin and stdout. */
export class DenoStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  #started = false;
  #closed = false;
  /** The frame being written: the next waits for it, so no message lands inside another. */
  #writing: Promise<void> = Promise.resolve();

  constructor(readonly input: ByteSource = Deno.stdin, readonly output: ByteSink = Deno.stdout) {}

  start(): Promise<void> {
    this.#started = true;
    this.#read().catch((error) => this.onerror?.(error as Error)).finally(() => this.close());
    return Promise.resolve();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending: Uint8Array[] = [];
    const buffer = new Uint8Array(READ_SIZE);
    for (let n = await this.input.read(buffer); n !== null; n = await this.input.read(buffer)) {
      // Each line is decoded before the next read reuses the buffer; a partial one is copied.
      const chunk = buffer.subarray(0, n);
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
        pending.push(chunk.subarray(start, end));
        start = end + 1;
        const line = pending.length === 1 ? pending[0] : concatBytes(pending);
        pending = [];
        this.#dispatch(decoder.decode(line));
      }
      if (start < chunk.length) pending.push(chunk.slice(start));
    }
  }

  #dispatch(line: string): void {
    if (!line.trim()) return;
    try {
      this.onmessage?.(JSONRPCMessageSchema.parse(JSON.parse(line)));
    } catch (error) {
      this.onerror?.(
        new Error(`Ignored a malformed message on stdin: ${(error as Error).message}`),
      );
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (!this.#started) return Promise.reject(new Error("The transport is not started"));
    const frame = encodeFrame(message);
    const written = this.#writing
      .then(() => writeFrame(this.output, frame))
      .finally(() => releaseFrame(frame)); // the image text was for this one message
    this.#writing = written.catch(() => {});
    return written;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.onclose?.();
    return Promise.resolve();
  }
}
