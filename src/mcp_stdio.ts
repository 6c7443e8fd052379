/** The SDK's stdio server transport (see mcp_sdk.ts for why `@ts-types` is needed). */

// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/server/stdio"
export { StdioServerTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/server/stdio.js";
