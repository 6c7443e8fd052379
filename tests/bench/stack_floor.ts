/**
 * Loads what the server's stack loads (the MCP SDK, zod, an openai client), or nothing with
 * `bare`, says `ready` and waits for stdin to close: the bench reads its peak resident size
 * then, the memory any server on this stack spends before doing anything.
 */

if (Deno.args[0] !== "bare") {
  const { loadOpenAI } = await import("../../src/deps.ts");
  const { default: OpenAI } = await loadOpenAI();
  new OpenAI({ apiKey: "stack-floor" });
}
console.log("ready");
for await (const _ of Deno.stdin.readable) { /* until the bench closes stdin */ }
