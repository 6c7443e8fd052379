import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The code `main.ts` imports statically, transitively: all of it loads before `initialize`. */
async function startupImports(): Promise<Set<string>> {
  const main = new URL("./main.ts", import.meta.url).href;
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", fileURLToPath(main)],
    stderr: "inherit",
  }).output();
  assert.ok(success, "deno info");
  const modules = new Map<string, GraphModule>(
    JSON.parse(new TextDecoder().decode(stdout)).modules.map((m: GraphModule) => [m.specifier, m]),
  );
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) visit(dep.code.specifier);
    }
  };
  visit(main);
  return seen;
}

Deno.test("start-up imports the MCP SDK statically, the tools' handlers and node: modules not", async () => {
  const imports = [...await startupImports()];
  // A dynamic import() of an npm module gets no V8 code cache from Deno: compiled on every start.
  assert.ok(imports.includes("npm:@modelcontextprotocol/server@2.4.0"), "SDK is static");
  assert.ok(imports.includes("npm:@modelcontextprotocol/server@2.4.0/stdio"), "serveStdio too");
  // jose is for HTTP mode's OAuth only: a stdio start never needs it.
  assert.ok(!imports.some((s) => s.startsWith("npm:jose")), "jose loads when a token is checked");
  // node:path and friends cost ~5 ms to load; only tool calls need them.
  assert.deepEqual(imports.filter((s) => s.startsWith("node:")), []);
  // The tools' specs, the handlers, the OpenAI client and the image codecs load after the first
  // answer, which needs none of them.
  const local = imports.filter((s) => s.startsWith("file:")).map((s) => s.replace(/.*\/src\//, ""));
  for (
    const later of [
      "tools/specs.ts",
      "models.ts",
      "tools/mod.ts",
      "tools/image_job.ts",
      "openai/api.ts",
      "images/preview.ts",
    ]
  ) {
    assert.ok(!local.includes(later), `${later} is not loaded at start`);
  }
  assert.ok(local.includes("server.ts"), "the import graph was read");
});

Deno.test("the SDK's schemas are built without zod's JIT: no code compiled on the first parse", async () => {
  // Nothing else in this file may load the SDK first: the import order of deps.ts is under test.
  await import("./main.ts");
  const { specTypeSchemas } = await import("./deps.ts");
  let compiled = 0;
  const RealFunction = globalThis.Function;
  globalThis.Function = new Proxy(RealFunction, {
    construct(target, args) {
      compiled++;
      return Reflect.construct(target, args);
    },
  });
  try {
    const initialize = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: {} };
    specTypeSchemas.JSONRPCRequest["~standard"].validate({ jsonrpc: "2.0", id: 1, method: "ping" });
    specTypeSchemas.InitializeRequest["~standard"].validate({
      method: "initialize",
      params: initialize,
    });
  } finally {
    globalThis.Function = RealFunction;
  }
  assert.equal(compiled, 0);
});
