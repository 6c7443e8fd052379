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

Deno.test("start-up imports the MCP SDK statically and no node: module", async () => {
  const imports = [...await startupImports()];
  // A dynamic import() of an npm module gets no V8 code cache from Deno: compiled on every start.
  assert.ok(imports.includes("npm:@modelcontextprotocol/sdk@1.32.2/types.js"), "SDK is static");
  // node:path and friends cost ~5 ms to load; only tool calls need them.
  assert.deepEqual(imports.filter((s) => s.startsWith("node:")), []);
});

Deno.test("the SDK's schemas are built without zod's JIT: no code compiled on the first parse", async () => {
  // Nothing else in this file may load the SDK first: main.ts's import order is under test.
  await import("./main.ts");
  const { JSONRPCMessageSchema, InitializeRequestSchema } = await import("./mcp_sdk.ts");
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
    JSONRPCMessageSchema.parse({ jsonrpc: "2.0", id: 1, method: "ping" });
    InitializeRequestSchema.safeParse({ method: "initialize", params: initialize });
  } finally {
    globalThis.Function = RealFunction;
  }
  assert.equal(compiled, 0);
});
