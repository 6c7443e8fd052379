/** The MCP SDK's client side for tests (see src/mcp_sdk.ts for why `@ts-types` is needed). */

export { Client } from "npm:@modelcontextprotocol/sdk@1.32.2/client";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/stdio"
export { StdioClientTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/client/stdio.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/types"
export {
  type CallToolResult,
  CallToolResultSchema,
  type LoggingMessageNotification,
  LoggingMessageNotificationSchema,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
