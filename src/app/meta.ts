/**
 * What MCP Apps hosts read from this server: the viewer's `ui://` URI and MIME type, and the
 * `_meta` that ties a tool to the viewer or keeps it for the viewer alone. Loaded at start by
 * the tools' specs, so it holds constants only.
 *
 * @module
 */

/** The viewer's resource URI, named by the image tools' `_meta.ui.resourceUri`. */
export const VIEWER_URI = "ui://gpt-image-2/viewer";

/** The MIME type MCP Apps hosts render: HTML in the app profile. */
export const VIEWER_MIME_TYPE = "text/html;profile=mcp-app";

/** The key older hosts read the viewer's URI from (ext-apps' `RESOURCE_URI_META_KEY`). */
export const LEGACY_RESOURCE_URI_KEY = "ui/resourceUri";

/** The `_meta` of a tool whose results the viewer shows (the model still sees the tool). */
export const VIEWER_TOOL_META: Record<string, unknown> = {
  ui: { resourceUri: VIEWER_URI },
  [LEGACY_RESOURCE_URI_KEY]: VIEWER_URI,
};

/** The `_meta` of a tool only the viewer calls: hosts with Apps hide it from the model. */
export const APP_ONLY_TOOL_META: Record<string, unknown> = {
  ui: { resourceUri: VIEWER_URI, visibility: ["app"] },
};
