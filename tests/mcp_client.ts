/**
 * The MCP SDK's clients for the tests: v2, which speaks both protocol eras, and v1, which many
 * clients in the field still ship.
 *
 * @module
 */

export {
  type CallToolResult,
  Client,
  LOG_LEVEL_META_KEY,
  type LoggingMessageNotification,
  StreamableHTTPClientTransport,
} from "npm:@modelcontextprotocol/client@2.4.0";
export { StdioClientTransport } from "npm:@modelcontextprotocol/client@2.4.0/stdio";
export { Client as ClientV1 } from "npm:@modelcontextprotocol/sdk@1.32.2/client";
// The v1 package's `./*` export maps `*.js` to a `*.js.d.ts` that does not exist
// (modelcontextprotocol/typescript-sdk#2701): `@ts-types` points at the real declarations.
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/stdio"
export { StdioClientTransport as StdioClientTransportV1 } from "npm:@modelcontextprotocol/sdk@1.32.2/client/stdio.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/types"
export {
  CallToolResultSchema as CallToolResultSchemaV1,
  LoggingMessageNotificationSchema as LoggingMessageNotificationSchemaV1,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
