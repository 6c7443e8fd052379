import assert from "node:assert/strict";
import { concatBytes } from "./bytes.ts";
import type { JSONRPCMessage } from "./deps.ts";
import { type ByteSource, DenoStdioTransport } from "./stdio_transport.ts";

const encoder = new TextEncoder();

/** A sink that keeps what is written, slowly, one write at a time. */
function slowSink() {
  const written: Uint8Array[] = [];
  return {
    written,
    lines: () => new TextDecoder().decode(concatBytes(written)).split("\n").filter(Boolean),
    async write(chunk: Uint8Array) {
      await new Promise((r) => setTimeout(r, 1));
      const part = chunk.slice(0, Math.max(1, chunk.length >> 1)); // short writes too
      written.push(part);
      return part.length;
    },
  };
}

/** A source that gives `bytes` in reads of varying size, then the end. */
function sourceOf(bytes: Uint8Array): ByteSource {
  let offset = 0;
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      if (offset === bytes.length) return Promise.resolve(null);
      const n = Math.min(buffer.length, 1000 + (offset % 7919), bytes.length - offset);
      buffer.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

async function readAll(text: string, maxLineBytes?: number) {
  const output = slowSink();
  const transport = new DenoStdioTransport({
    input: sourceOf(encoder.encode(text)),
    output,
    maxLineBytes,
    drainMs: 0, // nothing here answers the requests read
  });
  const received: unknown[] = [];
  const errors: string[] = [];
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  transport.onmessage = (message) => received.push(message);
  transport.onerror = (error) => errors.push(error.message);
  await transport.start();
  await closed;
  await transport.send({ jsonrpc: "2.0", method: "notifications/flushed" }); // after any reply
  return { received, errors, replies: output.lines().slice(0, -1).map((l) => JSON.parse(l)) };
}

Deno.test("messages sent at once are written one after another, each whole", async () => {
  const output = slowSink();
  const never = { read: () => new Promise<number | null>(() => {}) };
  const transport = new DenoStdioTransport({ input: never, output });
  await transport.start();
  const big = { jsonrpc: "2.0", id: 1, result: { data: "QUJD".repeat(50_000) } };
  const small = { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } };
  await Promise.all([
    transport.send(big as JSONRPCMessage),
    transport.send(small as JSONRPCMessage),
  ]);
  assert.deepEqual(output.lines().map((l) => JSON.parse(l)), [big, small]);
  await transport.close();
});

Deno.test("a long message with any characters is written exactly, however the writes cut it", async () => {
  const output = slowSink();
  const never = { read: () => new Promise<number | null>(() => {}) };
  const transport = new DenoStdioTransport({ input: never, output });
  await transport.start();
  // A surrogate pair across the first 256 K unit boundary, three-byte characters after it.
  const head = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { text: "" } }).length - 3;
  const text = "x".repeat((256 << 10) - 1 - head) + "😀" + "é€".repeat(300_000);
  const message = { jsonrpc: "2.0", id: 1, result: { text } };
  await transport.send(message as JSONRPCMessage);
  assert.deepEqual(output.lines().map((l) => JSON.parse(l)), [message]);
  await transport.close();
});

Deno.test("lines split across reads, or several in one read, each arrive once and whole", async () => {
  const big = {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "generate_image", arguments: { prompt: "x".repeat(200_000) } },
  };
  const small = { jsonrpc: "2.0", method: "notifications/initialized" };
  const text = `${JSON.stringify(small)}\n${JSON.stringify(big)}\n\n${JSON.stringify(small)}\n`;
  const { received, replies } = await readAll(text);
  assert.deepEqual(received, [small, big, small]);
  assert.deepEqual(replies, []);
});

Deno.test("a malformed line is answered with its error, and the lines after it still arrive", async () => {
  const ping = { jsonrpc: "2.0", id: 2, method: "ping" };
  const { received, replies } = await readAll(`{"jsonrpc":\n${JSON.stringify(ping)}\n`);
  assert.deepEqual(received, [ping]);
  assert.deepEqual(replies, [{
    jsonrpc: "2.0",
    id: null,
    error: { code: -32700, message: "Parse error: the line is not valid JSON." },
  }]);
});

Deno.test("a line over the cap is refused once, wherever the reads cut it", async () => {
  const ping = { jsonrpc: "2.0", id: 7, method: "ping" };
  for (const length of [5_000, 5_001, 20_000, 123_457]) {
    const long = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "" } })
      .replace('"pad":""', `"pad":"${"x".repeat(length)}"`);
    const { received, replies } = await readAll(`${long}\n${JSON.stringify(ping)}\n`, 4_096);
    assert.deepEqual(received, [ping], `${length}: the next line arrives`);
    assert.equal(replies.length, 1, `${length}: one refusal`);
    assert.equal(replies[0].id, null);
    assert.equal(replies[0].error.code, -32600);
    assert.match(replies[0].error.message, /at most 4096 bytes; send large images as file paths/);
  }
});

Deno.test("the refusal of a long line is sent while the line is still coming, not after", async () => {
  const output = slowSink();
  let refused!: () => void;
  const seenRefusal = new Promise<void>((resolve) => (refused = resolve));
  let reads = 0;
  const chunk = encoder.encode("x".repeat(60_000));
  const input: ByteSource = {
    async read(buffer) {
      await new Promise((r) => setTimeout(r, 0)); // a pipe's reads leave room for the writes
      reads++;
      if (reads === 1) {
        buffer.set(encoder.encode('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"'));
        return 52;
      }
      // The line never ends until the refusal has been written: the transport cannot wait for it.
      if (output.written.length === 0) {
        buffer.set(chunk);
        return chunk.length;
      }
      refused();
      return null;
    },
  };
  const transport = new DenoStdioTransport({ input, output, maxLineBytes: 1 << 20 });
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  await transport.start();
  await seenRefusal;
  await closed;
  assert.ok(reads < 100, `refused after ${reads} reads of 60 KB, with a 1 MB cap`);
  await transport.send({ jsonrpc: "2.0", method: "notifications/flushed" });
  assert.equal(JSON.parse(output.lines()[0]).error.code, -32600);
});

Deno.test("when stdin ends, requests already read are answered before the close; unanswered ones wait at most the drain time", async () => {
  const lines = [
    JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    JSON.stringify({ jsonrpc: "2.0", id: "two", method: "tools/list" }),
    JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "x" } }),
    JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  ];
  const output = slowSink();
  const transport = new DenoStdioTransport({
    input: sourceOf(encoder.encode(lines.join("\n") + "\n")),
    output,
    drainMs: 300,
  });
  const events: string[] = [];
  const closed = new Promise<void>((resolve) =>
    transport.onclose = () => {
      events.push("closed");
      resolve();
    }
  );
  transport.onmessage = (message) => {
    // Answered later than the end of stdin, as a server answers; call 3 is never answered.
    const id = "id" in message ? message.id : undefined;
    if (id === undefined || id === 3) return;
    setTimeout(() => {
      transport.send({ jsonrpc: "2.0", id, result: {} })
        .then(() => events.push(`answered ${id}`));
    }, 50);
  };
  const started = performance.now();
  await transport.start();
  await closed;
  const waited = performance.now() - started;
  assert.deepEqual(events.slice(0, 2).sort(), ["answered 1", "answered two"]);
  assert.equal(events[2], "closed", "closed after the answers");
  assert.deepEqual(output.lines().map((l) => JSON.parse(l).id).sort(), [1, "two"]);
  assert.ok(waited >= 250, `the unanswered call held the close for the drain time (${waited} ms)`);
});

Deno.test("when stdin ends with every request answered, the transport closes at once", async () => {
  const transport = new DenoStdioTransport({
    input: sourceOf(encoder.encode(JSON.stringify({ jsonrpc: "2.0", method: "x/y" }) + "\n")),
    output: slowSink(),
    drainMs: 60_000,
  });
  const closed = new Promise<void>((resolve) => transport.onclose = resolve);
  await transport.start();
  await closed; // a notification needs no answer: no 60 s wait (the test would time out)
});
