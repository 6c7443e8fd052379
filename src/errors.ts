/** The errors a tool call ends with on purpose: each is returned to the model as a tool result. */

/** An error whose message is meant for the calling model, returned as a tool error result. */
export class ToolError extends Error {
  override name = "ToolError";
}

/** The error a call ends with when the client cancelled it. */
export class CancelledError extends ToolError {
  constructor() {
    super("The call was cancelled; no image was written.");
  }
}
