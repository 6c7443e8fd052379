/**
 * The npm packages the server runs on, each at its pinned version: an upgrade is one edit here.
 * The pins are in code because `deno run` of a remote module ignores import maps. Packages only
 * some calls need are loaded on first use through the `load*` functions, not at start.
 *
 * @module
 */

export { z } from "./zod.ts";
export {
  type AuthInfo,
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  type ContentBlock,
  createMcpHandler,
  type JSONRPCErrorResponse,
  type JSONRPCMessage,
  type LoggingLevel,
  type McpRequestContext,
  McpServer,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  ResourceTemplate,
  type Server,
  type ServerContext,
  specTypeSchemas,
  type ToolAnnotations,
  type Transport,
} from "npm:@modelcontextprotocol/server@2.4.0";
export { serveStdio, StdioServerTransport } from "npm:@modelcontextprotocol/server@2.4.0/stdio";
export type { default as OpenAI } from "npm:openai@7.59.0";

/** The OpenAI client library, loaded on the first API call. */
export function loadOpenAI(): Promise<typeof import("npm:openai@7.59.0")> {
  return import("npm:openai@7.59.0");
}

/** A general PNG decoder, for the PNG variants the streaming decoder leaves out. */
export function loadFastPng(): Promise<typeof import("npm:fast-png@8.0.0")> {
  return import("npm:fast-png@8.0.0");
}

/** A JPEG decoder, for previews of JPEG answers. */
export function loadJpegJs(): Promise<{ default: typeof import("npm:jpeg-js@0.4.4") }> {
  return import("npm:jpeg-js@0.4.4");
}

export type { JWTPayload, JWTVerifyGetKey } from "npm:jose@6.2.18";

/** jose, which checks OAuth access tokens: loaded when HTTP mode first verifies one. */
export function loadJose(): Promise<typeof import("npm:jose@6.2.18")> {
  return import("npm:jose@6.2.18");
}
