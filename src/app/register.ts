/**
 * Registers the viewer (an MCP App) as a `ui://` resource. Its HTML, built from `src/app/view/`
 * by `deno task build:app`, loads on the first `resources/read` of it, never at start.
 *
 * @module
 */

import type { McpServer } from "../deps.ts";
import { VIEWER_MIME_TYPE, VIEWER_URI } from "./meta.ts";

/** Adds the viewer's resource to `server`: listed by `resources/list`, served by `resources/read`. */
export function registerViewer(server: McpServer): void {
  server.registerResource("gpt-image-2 viewer", VIEWER_URI, {
    title: "Image viewer and mask painter",
    description: "Shows this server's images at full resolution, compares edit turns, and " +
      "paints the area to edit (an MCP App).",
    mimeType: VIEWER_MIME_TYPE,
  }, async (uri) => {
    // A literal specifier: `deno compile` embeds the module, `deno run` from a URL fetches it.
    const { VIEWER_HTML } = await import("./viewer_html.ts");
    return {
      contents: [{ uri: uri.href, mimeType: VIEWER_MIME_TYPE, text: VIEWER_HTML }],
    };
  });
}
