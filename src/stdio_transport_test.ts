import assert from "node:assert/strict";
import { concatBytes } from "./bytes.ts";
import { rawJsonString } from "./json_frame.ts";
import type { JSONRPCMessage } from "./mcp_sdk.ts";
import { DenoStdioTransport } from "./stdio_transport.ts";

Deno.test("a message sent while another is still being produced waits for it, whole", async () => {
  const written: Uint8Array[] = [];
  const output = new WritableStream<Uint8Array>({
    async write(chunk) {
      await new Promise((r) => setTimeout(r, 1));
      written.push(chunk.slice());
    },
  });
  const transport = new DenoStdioTransport(new ReadableStream(), output);
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
