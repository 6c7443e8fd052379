/**
 * The tool only the viewer calls, as clients see it. Loaded at start with the other specs; its
 * handler is in `session_images.ts`.
 *
 * @module
 */

import { z } from "../deps.ts";
import type { ToolSpec } from "../tools/tool.ts";
import { APP_ONLY_TOOL_META } from "./meta.ts";

/** `get_session_images`: every turn's image of a session, for the viewer's filmstrip. */
export const sessionImagesSpec = {
  name: "get_session_images",
  title: "Session images (viewer)",
  description: "For the image viewer: the image of every turn of an open edit session, oldest " +
    "first, with the image:// URI resources/read serves it from.",
  inputSchema: z.strictObject({
    session_id: z.string().min(1).max(200).describe("The id start_edit_session returned"),
  }),
  outputSchema: z.object({
    session_id: z.string(),
    turns: z.array(z.object({
      turn: z.number(),
      name: z.string(),
      file_path: z.string(),
      mime_type: z.string(),
      uri: z.string().optional().describe("Absent when the file lies outside the output root"),
    })),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  _meta: APP_ONLY_TOOL_META,
} satisfies ToolSpec;
