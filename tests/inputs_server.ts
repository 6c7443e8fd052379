/** An https:// (or http://) server on loopback that serves image inputs, redirects and hostile answers. */

import { join } from "node:path";
import { REPO } from "./harness.ts";

const TLS = join(REPO, "tests", "fixtures", "tls");

/** Path of the CA that signed the server's certificate; give it to the server as DENO_CERT. */
export const TEST_CA = join(TLS, "ca.pem");

/** Serves registered files under `/f/<name>`, plus `/redirect?to=`, `/hang`, `/huge-declared`, `/huge-streamed`. */
export class InputServer {
  readonly files = new Map<string, Uint8Array<ArrayBuffer>>();
  readonly hits: string[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(options: { tls?: boolean } = {}) {
    const tls = options.tls ?? true;
    const handler = (req: Request) => this.#handle(req);
    this.#server = tls
      ? Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        onListen: () => {},
        cert: Deno.readTextFileSync(join(TLS, "server.pem")),
        key: Deno.readTextFileSync(join(TLS, "server.key")),
      }, handler)
      : Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    this.origin = `${tls ? "https" : "http"}://127.0.0.1:${this.#server.addr.port}`;
  }

  readonly origin: string;

  /** `127.0.0.1:<port>`, for --allow-net and the host allowlist. */
  get host(): string {
    return `127.0.0.1:${this.#server.addr.port}`;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.hits.push(url.pathname + url.search);
    if (url.pathname.startsWith("/f/")) {
      const bytes = this.files.get(url.pathname.slice(3));
      return bytes ? new Response(bytes) : new Response("not found", { status: 404 });
    }
    if (url.pathname === "/redirect") {
      return new Response(null, {
        status: 302,
        headers: { location: url.searchParams.get("to")! },
      });
    }
    if (url.pathname === "/hang") {
      await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
      return new Response(null);
    }
    if (url.pathname === "/huge-declared") {
      return new Response(new Uint8Array(16), {
        headers: { "content-length": String(60 * 1024 * 1024) },
      });
    }
    if (url.pathname === "/huge-streamed") {
      let sent = 0;
      const chunk = new Uint8Array(1024 * 1024);
      chunk.set([0x89, 0x50, 0x4e, 0x47]);
      return new Response(
        new ReadableStream({
          pull(controller) {
            if (sent > 200) return controller.close();
            sent++;
            controller.enqueue(chunk);
          },
        }),
      );
    }
    return new Response("not found", { status: 404 });
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
