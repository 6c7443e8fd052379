/** HTTP refusals in the shape MCP clients read: a status and a JSON-RPC error naming the rule. */

/** The JSON-RPC code the SDK's transports use for errors at the HTTP layer. */
export const HTTP_LAYER_ERROR = -32000;

/** A response refusing the request: `status`, `headers`, and a one-sentence JSON-RPC error. */
export function refusal(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body = { jsonrpc: "2.0", id: null, error: { code: HTTP_LAYER_ERROR, message } };
  return Response.json(body, {
    status,
    headers: { "cache-control": "no-store", ...headers },
  });
}
