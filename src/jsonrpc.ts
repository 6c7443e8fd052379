/**
 * One line of stdin judged by JSON-RPC 2.0's rules before the SDK sees it: a message to deliver,
 * or the error response the line deserves, in one sentence that names what is wrong. Invalid
 * JSON is `-32700`; a message that is not a valid request is `-32600`; a request whose params
 * break its method's schema is `-32602`. Notifications and responses get no answer, by the rules;
 * what is wrong with them is only reported.
 *
 * @module
 */

import { type JSONRPCMessage, ProtocolErrorCode, specTypeSchemas } from "./deps.ts";

/** The longest line read; a longer one is refused without being held whole. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** A JSON-RPC error response; its id is null when the request's own id cannot be told. */
export interface ErrorReply {
  jsonrpc: "2.0";
  id: string | number | null;
  error: { code: number; message: string };
}

/** What a line of stdin comes to. */
export type Inbound =
  | { message: JSONRPCMessage }
  | { reply: ErrorReply }
  | { ignored: string };

type RequestId = string | number;

/** The spec schemas of the methods a client sends, by method. */
const SCHEMAS: Record<string, (typeof specTypeSchemas)[keyof typeof specTypeSchemas]> = {
  "initialize": specTypeSchemas.InitializeRequest,
  "ping": specTypeSchemas.PingRequest,
  "server/discover": specTypeSchemas.DiscoverRequest,
  "tools/list": specTypeSchemas.ListToolsRequest,
  "tools/call": specTypeSchemas.CallToolRequest,
  "logging/setLevel": specTypeSchemas.SetLevelRequest,
  "notifications/initialized": specTypeSchemas.InitializedNotification,
  "notifications/cancelled": specTypeSchemas.CancelledNotification,
  "notifications/progress": specTypeSchemas.ProgressNotification,
};

function errorReply(id: RequestId | null, code: number, message: string): Inbound {
  return { reply: { jsonrpc: "2.0", id, error: { code, message } } };
}

/** The error response to a line longer than `maxBytes`. */
export function tooLarge(maxBytes: number): ErrorReply {
  const mb = maxBytes / (1024 * 1024);
  const limit = Number.isInteger(mb) ? `${mb} MB` : `${maxBytes} bytes`;
  return {
    jsonrpc: "2.0",
    id: null,
    error: {
      code: ProtocolErrorCode.InvalidRequest,
      message: `Request refused: a message may be at most ${limit}; ` +
        "send large images as file paths or https URLs rather than data: URLs.",
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `${typeof value === "object" ? "an" : "a"} ${typeof value}`;
}

function pathOf(path: readonly (PropertyKey | { key: PropertyKey })[] | undefined): string {
  const keys = (path ?? []).map((p) => String(typeof p === "object" ? p.key : p));
  return keys.length ? keys.join(".") : "the message";
}

/** The first problem of `message` against its method's schema, as "path: rule". */
function schemaProblem(method: string, message: Record<string, unknown>): string | undefined {
  const schema = SCHEMAS[method];
  if (!schema) return undefined;
  const { issues } = schema["~standard"].validate({ method, params: message.params });
  if (!issues?.length) return undefined;
  return issues.slice(0, 3).map((i) => `${pathOf(i.path)}: ${i.message}`).join("; ");
}

/** Judges one line of stdin (without its newline). */
export function readMessage(line: string): Inbound {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return errorReply(
      null,
      ProtocolErrorCode.ParseError,
      "Parse error: the line is not valid JSON.",
    );
  }
  if (Array.isArray(value)) {
    return errorReply(
      null,
      ProtocolErrorCode.InvalidRequest,
      "Invalid request: batches (JSON arrays of messages) are not supported; send one message per line.",
    );
  }
  if (!isObject(value)) {
    return errorReply(
      null,
      ProtocolErrorCode.InvalidRequest,
      `Invalid request: a message must be a JSON object, got ${describe(value)}.`,
    );
  }
  const hasId = "id" in value;
  const id = value.id;
  if (hasId && typeof id !== "string" && !(typeof id === "number" && Number.isInteger(id))) {
    return errorReply(
      null,
      ProtocolErrorCode.InvalidRequest,
      `Invalid request: "id" must be a string or an integer, got ${describe(id)}.`,
    );
  }
  const replyId = hasId ? id as RequestId : null;
  if (value.jsonrpc !== "2.0") {
    return errorReply(
      replyId,
      ProtocolErrorCode.InvalidRequest,
      `Invalid request: "jsonrpc" must be "2.0", got ${describe(value.jsonrpc)}.`,
    );
  }
  if (!("method" in value) && ("result" in value || "error" in value)) {
    if (!hasId) return { ignored: "a response without an id" };
    return { message: value as JSONRPCMessage };
  }
  if (typeof value.method !== "string" || value.method === "") {
    return errorReply(
      replyId,
      ProtocolErrorCode.InvalidRequest,
      `Invalid request: "method" must be a non-empty string, got ${describe(value.method)}.`,
    );
  }
  if ("params" in value && !isObject(value.params)) {
    const problem = `Invalid request: "params" of ${value.method} must be an object, got ${
      describe(value.params)
    }.`;
    return hasId
      ? errorReply(replyId, ProtocolErrorCode.InvalidRequest, problem)
      : { ignored: problem };
  }
  const problem = schemaProblem(value.method, value);
  if (problem) {
    const sentence = `Invalid params for ${value.method}: ${problem}.`;
    return hasId
      ? errorReply(replyId, ProtocolErrorCode.InvalidParams, sentence)
      : { ignored: sentence };
  }
  return { message: value as JSONRPCMessage };
}
