/** The server on raw stdio: no client library between a test and the wire. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeOpenAI } from "./fake/api.ts";
import { DENO_DIR, networkEnv, REPO, serverArgs, waitFor } from "./harness.ts";

export /** The server under the documented flags against `fake`, with `entry` as its main module. */
function spawnRaw(
  fake: FakeOpenAI,
  home: string,
  options: { env?: Record<string, string>; entry?: string } = {},
): Deno.ChildProcess {
  const args = serverArgs({ netHosts: [fake.host], writeScope: [home] });
  if (options.entry) args[args.length - 1] = options.entry;
  return new Deno.Command(Deno.execPath(), {
    args,
    env: {
      ...networkEnv(),
      HOME: home,
      DENO_DIR,
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_BASE_URL: fake.baseURL,
      GPT_IMAGE_2_OUTPUT_DIR: join(home, "out"),
      ...options.env,
    },
    clearEnv: true,
    cwd: REPO,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

export /** Lines to and from a server on raw stdio: no client library between the test and the wire. */
function rawWire(child: Deno.ChildProcess) {
  const writer = child.stdin.getWriter();
  const lines: Record<string, unknown>[] = [];
  const text = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const reading = (async () => {
    let buffer = "";
    for (let next = await text.read(); !next.done; next = await text.read()) {
      buffer += next.value;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const part of parts) if (part) lines.push(JSON.parse(part));
    }
  })();
  return {
    lines,
    write: (line: string | Uint8Array) =>
      writer.write(typeof line === "string" ? new TextEncoder().encode(line + "\n") : line),
    /** The answer to request `id`, once it is there. */
    answer: async (id: string | number | null) => {
      assert.ok(await waitFor(() => lines.some((l) => "id" in l && l.id === id), 60_000), `${id}`);
      return lines.find((l) => "id" in l && l.id === id) as {
        result?: Record<string, unknown>;
        error?: { code: number; message: string };
      };
    },
    close: async () => {
      await writer.close().catch(() => {});
      await reading;
    },
  };
}

/** A server spawned by `withRawServer`, with its wire and surroundings. */
export interface RawServer {
  fake: FakeOpenAI;
  home: string;
  child: Deno.ChildProcess;
  wire: ReturnType<typeof rawWire>;
  /** Everything the server wrote to stderr, once it exited. */
  stderr: Promise<string>;
}

/**
 * Starts a fake API and a raw server on a fresh HOME, runs `body`, and always closes the wire,
 * waits for the exit and removes what it made.
 */
export async function withRawServer(
  body: (server: RawServer) => Promise<void>,
  options: { prefix?: string; env?: Record<string, string> } = {},
): Promise<void> {
  const fake = FakeOpenAI.start();
  const home = await Deno.makeTempDir({ prefix: options.prefix ?? "gi2-raw-" });
  const child = spawnRaw(fake, home, { env: options.env });
  const stderr = new Response(child.stderr).text();
  const wire = rawWire(child);
  try {
    await body({ fake, home, child, wire, stderr });
  } finally {
    await wire.close();
    await child.status;
    await stderr;
    await fake.close();
    await Deno.remove(home, { recursive: true });
  }
}
