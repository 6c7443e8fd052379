/// <reference lib="dom" />
/**
 * A minimal MCP Apps host page for the browser test: it renders the viewer's HTML in a sandboxed
 * iframe under the hosts' default content security policy and connects it through ext-apps'
 * `AppBridge`. The bridge's server requests go to `globalThis.mcp`, which the test exposes and
 * which forwards them to the real server over its MCP client. It offers downloads
 * (`ui/download-file`) the way ext-apps' own example host does: an embedded resource becomes a
 * file the browser downloads, named by the last segment of its URI.
 *
 * @module
 */

import {
  AppBridge,
  PostMessageTransport,
} from "npm:@modelcontextprotocol/ext-apps@2.0.4/app-bridge";

/** The policy MCP Apps hosts apply when a resource asks for no other. */
const DEFAULT_CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; " +
  "style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' data:; " +
  "connect-src 'none'";

type Mcp = (method: string, params: unknown) => Promise<unknown>;
const mcp = (globalThis as unknown as { mcp: Mcp }).mcp;

/** A download the view asked for: each embedded file becomes a download of the page. */
function download(
  contents: Array<{ type: string; resource?: { uri: string; mimeType?: string; blob?: string } }>,
): { isError?: boolean } {
  for (const item of contents) {
    if (item.type !== "resource" || !item.resource?.blob) return { isError: true };
    const { uri, mimeType, blob } = item.resource;
    const bytes = Uint8Array.from(atob(blob), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: mimeType }));
    const link = document.createElement("a");
    link.href = url;
    link.download = decodeURIComponent(uri.split("/").pop() ?? "") || "download";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  return {};
}

/** Opens the viewer for one tool call: its name, arguments and result. */
async function openView(
  call: { tool: Record<string, unknown>; arguments: Record<string, unknown>; result: unknown },
): Promise<void> {
  const read = await mcp("resources/read", { uri: "ui://gpt-image-2/viewer" }) as {
    contents: { text: string; mimeType: string }[];
  };
  const html = read.contents[0].text.replace(
    "<head>",
    `<head><meta http-equiv="Content-Security-Policy" content="${DEFAULT_CSP}">`,
  );
  const iframe = document.createElement("iframe");
  iframe.id = "view";
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.style.cssText = "width: 1000px; height: 680px; border: 1px solid #ccc";
  document.body.append(iframe);
  const bridge = new AppBridge(
    null,
    { name: "test host", version: "1.0.0" },
    { serverTools: {}, serverResources: {}, logging: {}, downloadFile: {} },
    { hostContext: { theme: "light", toolInfo: { tool: call.tool as never } } },
  );
  const forward = (method: string) => (params: unknown) => mcp(method, params) as never;
  bridge.oncalltool = forward("tools/call");
  bridge.onreadresource = forward("resources/read");
  bridge.onlistresources = forward("resources/list");
  bridge.ondownloadfile = ({ contents }) => Promise.resolve(download(contents));
  bridge.oninitialized = async () => {
    await bridge.sendToolInput({ arguments: call.arguments });
    await bridge.sendToolResult(call.result as never);
  };
  // Listening before the view loads: its first message is the `ui/initialize` request.
  await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
  iframe.srcdoc = html;
}

(globalThis as unknown as { openView: typeof openView }).openView = openView;
