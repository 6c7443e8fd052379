/**
 * The MCP server endpoint: the SDK's `Protocol` (JSON-RPC, progress, cancellation) with the
 * initialize handshake and logging levels of the SDK's `Server`, minus two costs this server
 * does not need: `Server` imports ajv at load (~40 ms of every cold start) for elicitation,
 * which is never used here, and re-validates every tools/call result with zod, running `atob`
 * over each multi-megabyte image. Results are built by typed code and checked by the SDK
 * client in the end-to-end tests.
 *
 * @module
 */

import {
  type Implementation,
  InitializedNotificationSchema,
  InitializeRequestSchema,
  LATEST_PROTOCOL_VERSION,
  type LoggingLevel,
  Protocol,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
  type ServerResult,
  SetLevelRequestSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "./mcp_sdk.ts";

const SEVERITY: readonly LoggingLevel[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];

/** A tools-and-logging MCP server over the SDK's protocol engine. */
export class McpServer extends Protocol<ServerRequest, ServerNotification, ServerResult> {
  #level?: LoggingLevel;
  /** Called once the client has sent `notifications/initialized`. */
  oninitialized?: () => void;

  constructor(readonly info: Implementation, readonly capabilities: ServerCapabilities) {
    super();
    this.setRequestHandler(InitializeRequestSchema, (request) => ({
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(request.params.protocolVersion)
        ? request.params.protocolVersion
        : LATEST_PROTOCOL_VERSION,
      capabilities: this.capabilities,
      serverInfo: this.info,
    }));
    this.setNotificationHandler(InitializedNotificationSchema, () => this.oninitialized?.());
    this.setRequestHandler(SetLevelRequestSchema, (request) => {
      this.#level = request.params.level;
      return {};
    });
  }

  /** Sends `notifications/message` unless the client asked for a higher level. */
  async sendLoggingMessage(
    params: { level: LoggingLevel; logger?: string; data: unknown },
  ): Promise<void> {
    if (this.#level && SEVERITY.indexOf(params.level) < SEVERITY.indexOf(this.#level)) return;
    await this.notification({ method: "notifications/message", params });
  }

  protected assertCapabilityForMethod(method: string): void {
    // This server never sends requests to the client (no sampling, elicitation or roots).
    throw new Error(`gpt-image-2-mcp does not send ${method} requests`);
  }
  protected assertNotificationCapability(): void {}
  protected assertRequestHandlerCapability(): void {}
  protected assertTaskCapability(): void {}
  protected assertTaskHandlerCapability(): void {}
}
