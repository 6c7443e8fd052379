/**
 * The viewer (an MCP App) as a resource at `ui://gpt-image-2/viewer`, served beside the images
 * by `src/resources.ts`. Its HTML, built from `src/app/view/` by `deno task build:app`, loads on
 * the first `resources/read` of it, never at start.
 *
 * @module
 */

import type { FixedResource } from "../resources.ts";
import { VIEWER_MIME_TYPE, VIEWER_URI } from "./meta.ts";

/** The viewer's resource: `resources/read` of its URI gives the HTML, in the app profile. */
export function viewerResource(): FixedResource {
  return {
    uri: VIEWER_URI,
    read: async () => {
      // A literal specifier: `deno compile` embeds the module, `deno run` from a URL fetches it.
      const { VIEWER_HTML } = await import("./viewer_html.ts");
      return { contents: [{ uri: VIEWER_URI, mimeType: VIEWER_MIME_TYPE, text: VIEWER_HTML }] };
    },
  };
}
