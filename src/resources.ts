/**
 * The caller's saved images as MCP resources: `resources/list` (paged, newest first),
 * `resources/read` (the image as a base64 blob with its MIME type, the exact bytes on disk), the
 * template `image://{id}`, and `notifications/resources/list_changed` after each save.
 *
 * @module
 */

import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  ResourceTemplate,
} from "./deps.ts";
import { encodeBase64 } from "./images/codecs/base64.ts";
import type { ImageStore } from "./images/storage/image_store.ts";
import type { LibraryImage } from "./images/storage/library.ts";
import { IMAGE_URI_TEMPLATE } from "./images/storage/image_uri.ts";
import { ToolError } from "./errors.ts";

/** Options of `registerImageResources`. */
export interface ImageResourcesOptions {
  /** The store of the caller this server instance serves (loaded on first use). */
  images: () => Promise<ImageStore>;
  /**
   * Subscribes to the caller's saves (returning the function that stops it): then this server
   * sends `notifications/resources/list_changed` after each one while it is connected (a
   * connection that lasts: stdio). Per-request instances leave it out.
   */
  watch?: (listener: () => void) => () => void;
  /** Resources at fixed URIs served beside the images (the MCP App viewer's `ui://` page). */
  fixed?: FixedResource[];
}

/**
 * A resource at one fixed URI, read by its own function. `resources/list` keeps to the images:
 * a client finds these where they are named (a tool's `_meta.ui.resourceUri`).
 */
export interface FixedResource {
  uri: string;
  /** Its contents, built on the first read. */
  read: () => Promise<{ contents: { uri: string; mimeType: string; text: string }[] }>;
}

function described(image: LibraryImage) {
  return {
    uri: image.uri,
    name: image.name,
    mimeType: image.mimeType,
    size: image.size,
    description: `Saved image, ${image.modified.toISOString()}`,
    annotations: { lastModified: image.modified.toISOString() },
  };
}

/** A store's error as the protocol error it is: unknown image, or a URI that breaks a rule. */
function protocolError(error: unknown, uri: string): Error {
  // By name: the library (and node:path with it) loads with the tools, not at start.
  if (error instanceof ToolError && error.name === "ImageNotFound") {
    return new ResourceNotFoundError(uri);
  }
  if (error instanceof ToolError) {
    return new ProtocolError(ProtocolErrorCode.InvalidParams, error.message, { uri });
  }
  return error as Error;
}

/** Registers the image resources on `server`. */
export function registerImageResources(server: McpServer, options: ImageResourcesOptions): void {
  server.registerResource(
    "image",
    new ResourceTemplate(IMAGE_URI_TEMPLATE, { list: undefined }),
    {
      title: "Saved image",
      description: "An image this server generated or edited, by its id (its path in the " +
        "output folder). resources/list lists them newest first.",
    },
    // Replaced below: this one only stands for the template in the SDK's bookkeeping.
    () => ({ contents: [] }),
  );
  // The SDK's own handlers neither page nor see ids with a `/`: these replace them.
  const fixed = options.fixed ?? [];
  server.server.setRequestHandler("resources/list", async (request) => {
    try {
      const store = await options.images();
      const page = await store.list({ cursor: request.params?.cursor });
      return {
        resources: page.images.map(described),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    } catch (error) {
      throw protocolError(error, "resources/list");
    }
  });
  server.server.setRequestHandler("resources/read", async (request) => {
    const { uri } = request.params;
    const own = fixed.find((f) => f.uri === uri);
    if (own) return await own.read();
    try {
      const store = await options.images();
      const { image, bytes } = await store.readUri(uri);
      return { contents: [{ uri, mimeType: image.mimeType, blob: encodeBase64(bytes) }] };
    } catch (error) {
      throw protocolError(error, uri);
    }
  });
  if (options.watch) {
    const stop = options.watch(() => {
      if (server.isConnected()) server.server.sendResourceListChanged().catch(() => {});
    });
    const onclose = server.server.onclose;
    server.server.onclose = () => {
      stop();
      onclose?.();
    };
  }
}
