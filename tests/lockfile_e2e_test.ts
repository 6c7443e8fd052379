/**
 * The server's lockfile holds only the server's packages: Deno fetches every npm package of the
 * lockfile a run uses, so test-only packages there would be downloaded by each user's first
 * `deno task start`. The tests have their own lockfile (`tests/deno.lock`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO } from "./harness.ts";

/** The npm packages (`name@version`) a lockfile records. */
async function lockedPackages(path: string): Promise<string[]> {
  const lock = JSON.parse(await Deno.readTextFile(path)) as { npm?: Record<string, unknown> };
  // Keys read `name@version` or, with peers resolved, `name@version_peer@version`.
  return Object.keys(lock.npm ?? {}).map((key) => key.split("_")[0]).sort();
}

/** Runs `deno` with `args` in the repository; its stdout, failing loudly otherwise. */
async function deno(args: string[], env: Record<string, string> = {}): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), { args, cwd: REPO, env }).output();
  const text = new TextDecoder();
  assert.equal(output.code, 0, text.decode(output.stderr));
  return text.decode(output.stdout);
}

Deno.test("deno.lock records exactly the npm packages of the server's module graph", async () => {
  const info = JSON.parse(await deno(["info", "--json", "src/main.ts"])) as {
    npmPackages: Record<string, unknown>;
  };
  const graph = Object.keys(info.npmPackages).map((key) => key.split("_")[0]).sort();
  assert.deepEqual(await lockedPackages(join(REPO, "deno.lock")), graph);
  for (const testOnly of ["fast-check", "@modelcontextprotocol/client", "oidc-provider"]) {
    assert.ok(!graph.some((p) => p.startsWith(`${testOnly}@`)), `${testOnly} is not the server's`);
  }
});

Deno.test("a cold `deno task start` fetches only the server's packages", async () => {
  const cold = await Deno.makeTempDir({ prefix: "gi2-cold-deno-dir-" });
  try {
    const version = await deno(["task", "--quiet", "start", "--version"], { DENO_DIR: cold });
    assert.match(version.trim(), /^\d+\.\d+\.\d+$/);
    const registry = join(cold, "npm", "registry.npmjs.org");
    const fetched: string[] = [];
    for await (const entry of Deno.readDir(registry)) {
      if (!entry.name.startsWith("@")) fetched.push(entry.name);
      else {
        for await (const inner of Deno.readDir(join(registry, entry.name))) {
          fetched.push(`${entry.name}/${inner.name}`);
        }
      }
    }
    const server = (await lockedPackages(join(REPO, "deno.lock")))
      .map((p) => p.slice(0, p.lastIndexOf("@")));
    assert.deepEqual(fetched.sort(), [...new Set(server)].sort());
  } finally {
    await Deno.remove(cold, { recursive: true });
  }
});
