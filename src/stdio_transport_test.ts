import assert from "node:assert/strict";
import { concatBytes } from "./bytes.ts";
import { rawJsonString } from "./json_frame.ts";
import type { JSONRPCMessage } from "./mcp_sdk.ts";
import { DenoStdioTransport } from "./stdio_transport.ts";

Deno.test("a message sent while another is still being produced waits for it, whole", async () => {
  const written: Uint8Array[] = [];
  const output = {
    async write(chunk: Uint8Array) {
      await new Promise((r) => setTimeout(r, 1));
      written.push(chunk.slice());
      return chunk.length;
    },
  };
  const never = { read: () => new Promise<number | null>(() => {}) };
  const transport = new DenoStdioTransport(never, output);
  await transport.start();
  const shared = new Uint8Array(4);
  function* slowly(): Generator<Uint8Array> {
    for (const piece of ["AAEC", "AwQF"]) {
      shared.set(new TextEncoder().encode(piece));
      yield shared;
    }
  }
  const big = { jsonrpc: "2.0", id: 1, result: { data: rawJsonString(slowly()) } };
  const small = { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } };
  await Promise.all([
    transport.send(big as unknown as JSONRPCMessage),
    transport.send(small as JSONRPCMessage),
  ]);
  const lines = new TextDecoder().decode(concatBytes(written)).split("\n");
  assert.deepEqual(lines.slice(0, 2).map((l) => JSON.parse(l)), [
    { ...big, result: { data: "AAECAwQF" } },
    small,
  ]);
  assert.equal(lines[2], "");
  await transport.close();
});

Deno.test("lines split across reads, or several in one read, each arrive once and whole", async () => {
  const big = {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { text: "x".repeat(200_000) },
  };
  const small = { jsonrpc: "2.0", method: "notifications/initialized" };
  const text = `${JSON.stringify(small)}\n${JSON.stringify(big)}\n\n${JSON.stringify(small)}\n`;
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  const input = {
    read(buffer: Uint8Array): Promise<number | null> {
      if (offset === bytes.length) return Promise.resolve(null);
      const n = Math.min(buffer.length, 1000 + (offset % 7919), bytes.length - offset);
      buffer.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
  const received: unknown[] = [];
  const transport = new DenoStdioTransport(input, { write: (b) => Promise.resolve(b.length) });
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  transport.onmessage = (message) => received.push(message);
  await transport.start();
  await closed;
  assert.deepEqual(received, [small, big, small]);
});
