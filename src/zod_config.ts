/**
 * zod without its JIT, set before any schema exists: `main.ts` imports this module first, since
 * each object schema reads the setting when it is built. With the JIT, an object schema's first
 * parse compiles a parser with `new Function`; for the SDK's message schemas that was ~3 ms of
 * the first `initialize`, spent to save microseconds on each later parse of messages this small.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";

z.config({ jitless: true });
