/** The names of saved images as MCP resources: `image://{id}` (no imports: start-up loads it). */

/** The scheme of the URIs `resources/read` serves: `image://{id}`. */
export const IMAGE_URI_PREFIX = "image://";

/** The resource template clients expand with an id. */
export const IMAGE_URI_TEMPLATE = "image://{id}";
