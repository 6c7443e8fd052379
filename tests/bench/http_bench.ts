/**
 * Capacity of one `serve --http` instance: rounds of 64 concurrent generate_image calls over
 * Streamable HTTP against the fake API answering each image request after 2 s. Prints images per
 * minute per round and the server's peak resident memory (Linux `VmHWM`). Not part of CI:
 * `deno run -A tests/bench/http_bench.ts [rounds] [concurrency] [--trickle] [--inline=none]`.
 */

import { FakeOpenAI } from "../fake/api.ts";
import { memoryMb } from "../harness.ts";
import { startHttpServer } from "../http_harness.ts";
import type { Client } from "../mcp_client.ts";

const [rounds, concurrency] = [
  Number(Deno.args.filter((a) => !a.startsWith("--"))[0] ?? 3),
  Number(Deno.args.filter((a) => !a.startsWith("--"))[1] ?? 64),
];

/** `--inline=none` measures the calls without their JPEG previews. */
const inlineArg = Deno.args.find((a) => a.startsWith("--inline="));
const inline = inlineArg ? { inline: inlineArg.slice("--inline=".length) } : {};

function spread(times: number[]): number {
  return (Math.max(...times) - Math.min(...times)) / 1000;
}

async function one(client: Client, i: number): Promise<void> {
  const result = await client.callTool(
    { name: "generate_image", arguments: { prompt: `bench ${i}`, quality: "low", ...inline } },
    { timeout: 120_000 },
  );
  if (result.isError) throw new Error(`call ${i} failed: ${JSON.stringify(result.content)}`);
}

const fake = FakeOpenAI.start();
const server = await startHttpServer({ fake });
try {
  const clients = await Promise.all(Array.from({ length: 4 }, () => server.connect()));
  await one(clients[0], -1); // the first call loads the tools and the OpenAI client
  fake.delayMs = 2000;
  // `--trickle`: headers at once and keep-alive bytes for 2 s; by default the answer (headers
  // and all) comes after 2 s, as the API answers a request that does not stream.
  fake.delayBeforeHeaders = !Deno.args.includes("--trickle");
  console.log(
    `${concurrency} concurrent calls per round, fake answers after ${fake.delayMs} ms` +
      (fake.delayBeforeHeaders ? "" : " (headers at once, body trickled)"),
  );
  for (let round = 1; round <= rounds; round++) {
    const start = performance.now();
    const before = fake.requests.length;
    await Promise.all(
      Array.from({ length: concurrency }, (_, i) => one(clients[i % clients.length], i)),
    );
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `round ${round}: ${concurrency} images in ${seconds.toFixed(2)} s = ` +
        `${Math.round((concurrency / seconds) * 60)} images/min; ` +
        `server rss ${memoryMb(server.pid, "VmRSS").toFixed(0)} MB, ` +
        `peak ${memoryMb(server.pid, "VmHWM").toFixed(0)} MB; requests reached the API over ` +
        `${spread(fake.requests.slice(before).map((r) => r.startedAt)).toFixed(1)} s`,
    );
  }
} finally {
  await server.close();
  await fake.close();
}
