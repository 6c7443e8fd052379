/**
 * The MCP SDK, imported in one place. Its `./*` export maps `types.js` to a `types.js.d.ts` that
 * does not exist, which turns every SDK type into `any` under Deno
 * (modelcontextprotocol/typescript-sdk#2701); `@ts-types` points at the real declarations.
 *
 * @module
 */

// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/types"
export {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  type Implementation,
  InitializedNotificationSchema,
  InitializeRequestSchema,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  LATEST_PROTOCOL_VERSION,
  ListToolsRequestSchema,
  type LoggingLevel,
  McpError,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
  type ServerResult,
  SetLevelRequestSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Tool,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/shared/protocol"
export {
  Protocol,
  type RequestHandlerExtra,
} from "npm:@modelcontextprotocol/sdk@1.32.2/shared/protocol.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/shared/transport"
export type { Transport } from "npm:@modelcontextprotocol/sdk@1.32.2/shared/transport.js";
