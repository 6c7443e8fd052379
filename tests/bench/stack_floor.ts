/**
 * Loads what the server's stack loads (the MCP SDK's protocol and types, zod, an openai client),
 * or nothing with `bare`, says `ready` and waits for stdin to close: the bench reads its peak
 * resident size then, the memory any server on this stack spends before doing anything.
 */

if (Deno.args[0] !== "bare") {
  await import("npm:@modelcontextprotocol/sdk@1.32.2/shared/protocol.js");
  await import("npm:zod@4.6.7");
  const { default: OpenAI } = await import("npm:openai@7.57.0");
  new OpenAI({ apiKey: "stack-floor" });
}
console.log("ready");
for await (const _ of Deno.stdin.readable) { /* until the bench closes stdin */ }
