/** The Claude Desktop bundle's manifest says what the server really offers and reads. */

import assert from "node:assert/strict";
import { join } from "node:path";
import denoJson from "../deno.json" with { type: "json" };
import { ENV_VARS } from "../src/config.ts";
import { REPO, withServer } from "./harness.ts";

interface Manifest {
  version: string;
  server: { entry_point: string; mcp_config: { command: string; env: Record<string, string> } };
  tools: { name: string; description?: string }[];
  user_config: Record<string, { type: string; sensitive?: boolean; required?: boolean }>;
}

const manifest: Manifest = JSON.parse(
  await Deno.readTextFile(join(REPO, "mcpb", "manifest.json")),
);

Deno.test("the bundle manifest lists exactly the tools the server lists", async () => {
  await withServer({}, async (h) => {
    const { tools } = await h.client.listTools();
    assert.deepEqual(
      manifest.tools.map((t) => t.name).sort(),
      tools.map((t) => t.name).sort(),
    );
  });
});

Deno.test("the bundle passes only variables the server reads, each from a declared setting", () => {
  const env = manifest.server.mcp_config.env;
  for (const [name, value] of Object.entries(env)) {
    assert.ok((ENV_VARS as readonly string[]).includes(name), `${name} is not in ENV_VARS`);
    const setting = /^\$\{user_config\.([a-z_]+)\}$/.exec(value)?.[1];
    assert.ok(setting && manifest.user_config[setting], `${name} comes from no user_config entry`);
  }
  assert.equal(env.OPENAI_API_KEY, "${user_config.openai_api_key}");
  assert.equal(manifest.user_config.openai_api_key.sensitive, true, "the key is a secret setting");
  assert.equal(manifest.user_config.openai_api_key.required, true);
  for (const [name, entry] of Object.entries(manifest.user_config)) {
    if (name !== "openai_api_key") assert.notEqual(entry.required, true, `${name} is optional`);
  }
});

Deno.test("the bundle's version and binary follow deno.json and the compile script", async () => {
  assert.equal(manifest.version, denoJson.version);
  assert.equal(manifest.server.entry_point, "server/gpt-image-2-mcp");
  assert.equal(manifest.server.mcp_config.command, "${__dirname}/server/gpt-image-2-mcp");
  const bundle = await Deno.readTextFile(join(REPO, ".ci", "bundle"));
  assert.match(bundle, /dist\/gpt-image-2-mcp-\$target/, "bundles the binaries .ci/compile builds");
});

Deno.test("settings the user left empty in the bundle read as unset, not as literal text", async () => {
  const env = Object.fromEntries(
    Object.entries(manifest.server.mcp_config.env).filter(([name]) => name !== "OPENAI_API_KEY"),
  );
  await withServer({ env }, async (h) => {
    const result = await h.call("generate_image", { prompt: "a lighthouse", quality: "low" });
    assert.equal(result.isError, undefined, JSON.stringify(result.content));
    const structured = result.structuredContent as { images: { file_path: string }[] };
    assert.ok(structured.images[0].file_path.startsWith(h.configRoot), "the default folder");
  });
});
