/**
 * zod, pinned, with its JIT off before any schema exists: `deps.ts` loads this module before
 * the MCP SDK, since each object schema reads the setting when it is built. With the JIT, an
 * object schema's first parse compiles a parser with `new Function`, which costs the first
 * answer more than it saves on messages this small.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";

z.config({ jitless: true });

export { z };
