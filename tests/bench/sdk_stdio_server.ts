/**
 * The server as `src/main.ts` runs it, but on the SDK's own stdio transport (Node streams) in
 * place of ours: the bench's baseline for what our transport is worth.
 */

import { StdioServerTransport } from "../../src/deps.ts";
import { runServer } from "../../src/main.ts";

await runServer({ transport: new StdioServerTransport() });
Deno.exit(0);
