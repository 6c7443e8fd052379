/** An error whose message is meant for the calling model, returned as a tool error result. */
export class ToolError extends Error {
  override name = "ToolError";
}
