/**
 * The viewer (an MCP App) as a resource at `ui://gpt-image-2/viewer`, served beside the images
 * by `src/resources.ts`. Its HTML, built from `src/app/view/` by `deno task build:app`, loads on
 * the first `resources/read` of it, never at start.
 *
 * @module
 */

import type { FixedResource } from "../resources.ts";
import { VIEWER_MIME_TYPE, VIEWER_URI } from "./meta.ts";

/** The viewer's resource: listed by `resources/list`, its HTML served by `resources/read`. */
export function viewerResource(): FixedResource {
  return {
    listed: {
      uri: VIEWER_URI,
      name: "gpt-image-2 viewer",
      title: "Image viewer and mask painter",
      description: "Shows this server's images at full resolution, compares edit turns, and " +
        "paints the area to edit (an MCP App).",
      mimeType: VIEWER_MIME_TYPE,
    },
    read: async () => {
      // A literal specifier: `deno compile` embeds the module, `deno run` from a URL fetches it.
      const { VIEWER_HTML } = await import("./viewer_html.ts");
      return { contents: [{ uri: VIEWER_URI, mimeType: VIEWER_MIME_TYPE, text: VIEWER_HTML }] };
    },
  };
}
