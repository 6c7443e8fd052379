/**
 * A fake OpenAI API on loopback, faithful to the API as docs/openai-api.md describes it, with
 * fault injection.
 */

import { Image } from "npm:imagescript@1.3.1";
import { makePng } from "./png.ts";
import {
  type ApiError,
  checkEditFiles,
  checkImageRequest,
  type FakeAccess,
  gifAnswer,
  insufficientQuota,
  modelAnswer,
  MODERATION_TRIGGER,
  moderationBlocked,
  organizationNotVerified,
  svgAnswer,
  svgUsage,
} from "./models.ts";
import { encodeBase64 } from "../../src/images/codecs/base64.ts";

/** A fault the next matching request answers with. */
export type Fault =
  | {
    kind: "status";
    status: number;
    message?: string;
    code?: string;
    param?: string;
    headers?: Record<string, string>;
  }
  | { kind: "bad-json" }
  | { kind: "drop" }
  /** The real answer's headers (its Content-Length too), its first `at` bytes, then a reset. */
  | { kind: "cut"; at: number }
  | { kind: "no-data" }
  | { kind: "bad-base64" }
  | { kind: "wrong-format" }
  /** Valid base64 of `bytes` bytes that are no image at all. */
  | { kind: "not-an-image"; bytes: number }
  | { kind: "no-image-call" }
  | { kind: "hang" }
  /** The real answer's first `at` bytes at once, then the rest a byte every 50 ms: a stall. */
  | { kind: "stall"; at: number }
  /** An HTML error page of `bytes` bytes (a gateway's), made as it is sent, with a request id. */
  | { kind: "html-error"; status: number; bytes: number; requestId?: string }
  /**
   * An image in the requested format (png or jpeg) whose header claims `width` x `height`
   * (default: the size applied) and whose pixel data does not decode.
   */
  | { kind: "bad-pixels"; width?: number; height?: number }
  /** An answer with `count` images, whatever `n` asked for. */
  | { kind: "extra-images"; count: number }
  /** A streamed answer cut inside the event after its first `after` partial images. */
  | { kind: "cut-stream"; after: number }
  /** A gateway's error echoing the request's key in one encoding. */
  | { kind: "echo-key"; form: KeyEcho; status?: number }
  /** A normal answer whose `usage` is this raw JSON text (e.g. negative counts, `1e400`). */
  | { kind: "usage"; usage: string };

/** How a gateway may echo a key: as is, every byte %-encoded, JSON \u escapes, in base64, cut. */
export type KeyEcho = "raw" | "url" | "json" | "base64" | "truncated";

/** `key` as a gateway echoing it in `form` writes it. */
export function echoKey(key: string, form: KeyEcho): string {
  switch (form) {
    case "raw":
      return key;
    case "url":
      return Array.from(new TextEncoder().encode(key), (b) => `%${b.toString(16).toUpperCase()}`)
        .join("");
    case "json":
      return Array.from(key, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
        .join("");
    case "base64":
      return btoa(`Bearer ${key}`);
    case "truncated":
      return `${key.slice(0, 16)}...`;
  }
}

export type Route = "generations" | "edits" | "files" | "responses";

/** One request as the fake received it. */
export interface Recorded {
  method: string;
  path: string;
  route?: Route;
  authorization: string | null;
  json?: Record<string, unknown>;
  fields?: Record<string, string[]>;
  files?: {
    field: string;
    name: string;
    type: string;
    size: number;
    sha256: string;
    /** The file's bytes, kept when `keepUploads` is set. */
    bytes?: Uint8Array;
  }[];
  /** Set when the client closed the connection before a slow answer was complete. */
  aborted: boolean;
  /** `performance.now()` when the request arrived and when its answer was ready. */
  startedAt: number;
  finishedAt?: number;
  /** Bytes of an `html-error` body the fake made before the client stopped reading. */
  bodyBytesSent?: number;
  /** Edits: the first image, the mask and the markup image as they came, for the API's checks. */
  editFiles?: { first?: Uint8Array; mask?: Uint8Array; markup?: Uint8Array };
}

/** Output image tokens of the published prices ($30 per 1M): [1024x1024, 1536x1024 or 1024x1536]. */
const OUTPUT_TOKENS: Record<string, [number, number]> = {
  low: [200, 167],
  medium: [1767, 1367],
  high: [7033, 5500],
  // Not published: the fake's own guess, above high.
  xhigh: [11253, 8800],
  max: [21099, 16500],
};

function apiErrorResponse(error: ApiError): Response {
  return json(error.body, error.status, error.headers);
}

function errorBody(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
) {
  return { error: { message, type, param, code } };
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** `answer`, sent with its headers, then only its first `at` bytes before the connection breaks. */
async function cut(answer: Response, at: number): Promise<Response> {
  const bytes = new Uint8Array(await answer.arrayBuffer());
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    // In 64 KB pieces, each pulled once the one before is on its way: the client gets them all.
    pull(controller) {
      if (sent >= at) return controller.error(new Error("connection reset by the fake"));
      const piece = bytes.slice(sent, Math.min(at, sent + (1 << 16)));
      sent += piece.length;
      controller.enqueue(piece);
    },
  });
  const headers = new Headers(answer.headers);
  headers.set("content-length", String(bytes.length));
  return new Response(body, { status: answer.status, headers });
}

/** `answer`'s first `at` bytes, then the rest slowly; `onCancel` when the client goes away. */
async function stall(answer: Response, at: number, onCancel: () => void): Promise<Response> {
  const bytes = new Uint8Array(await answer.arrayBuffer());
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= bytes.length) return controller.close();
      // Real bytes, however slowly: a write to a closed connection is how the fake sees a cancel.
      if (sent >= at) await new Promise((r) => setTimeout(r, 50));
      const piece = bytes.slice(sent, sent >= at ? sent + 1 : Math.min(at, sent + (1 << 16)));
      sent += piece.length;
      controller.enqueue(piece);
    },
    cancel: onCancel,
  });
  const headers = new Headers(answer.headers);
  headers.set("content-length", String(bytes.length));
  return new Response(body, { status: answer.status, headers });
}

/** The `html-error` fault's page, made 64 KB at a time as the client reads it. */
function htmlError(record: Recorded, fault: Extract<Fault, { kind: "html-error" }>): Response {
  const encoder = new TextEncoder();
  const head = encoder.encode(
    `<!DOCTYPE html><html><head><title>${fault.status} Bad Gateway</title>` +
      "<style>body{font-family:sans-serif}</style></head><body>" +
      `<h1>${fault.status} Bad Gateway</h1><p>The upstream server did not answer.</p>`,
  );
  const filler = encoder.encode('<div class="trace">upstream trace line</div>\n'.repeat(1500));
  record.bodyBytesSent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const sent = record.bodyBytesSent!;
      if (sent >= fault.bytes) return controller.close();
      const piece = (sent === 0 ? head : filler).subarray(0, fault.bytes - sent);
      record.bodyBytesSent = sent + piece.length;
      controller.enqueue(piece.slice());
    },
  });
  return new Response(body, {
    status: fault.status,
    headers: {
      "content-type": "text/html",
      "content-length": String(fault.bytes),
      "x-request-id": fault.requestId ?? `req_${crypto.randomUUID().replaceAll("-", "")}`,
    },
  });
}

/**
 * `image` (a PNG or JPEG) with its header claiming `width` x `height` and its pixel data
 * replaced by bytes that do not decode.
 */
function badPixels(image: Uint8Array, width: number, height: number): Uint8Array {
  const out = image.slice();
  const view = new DataView(out.buffer);
  if (out[0] === 0x89) {
    view.setUint32(16, width);
    view.setUint32(20, height);
    // The IDAT chunk follows IHDR (8 + 25 bytes): its data becomes bytes that are no zlib stream.
    const length = view.getUint32(33);
    out.fill(0xa5, 41, 41 + Math.min(length, 4096));
    return out;
  }
  for (let i = 2; i + 9 < out.length;) {
    const marker = out[i + 1];
    if (marker >= 0xc0 && marker <= 0xc2) {
      view.setUint16(i + 5, height);
      view.setUint16(i + 7, width);
    }
    if (marker === 0xda) {
      out.fill(0xa5, i + 4 + view.getUint16(i + 2), Math.min(out.length - 2, i + 4096));
      return out;
    }
    i += 2 + view.getUint16(i + 2);
  }
  return out;
}

/** `answer` sent in 64 KB chunks with no Content-Length. */
function chunked(answer: Response): Response {
  const headers = new Headers(answer.headers);
  headers.delete("content-length");
  const source = answer.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await source.read();
      if (done) return controller.close();
      for (let at = 0; at < value.length; at += 1 << 16) {
        controller.enqueue(value.slice(at, at + (1 << 16)));
      }
    },
  });
  return new Response(body, { status: answer.status, headers });
}

/** Stands in the answer for the raw `usage` text of a `usage` fault. */
const RAW_USAGE = "__raw_usage__";

/** `answer` with the `usage` fault's raw text where `RAW_USAGE` stands. */
async function rawUsage(answer: Response, fault: Fault | undefined): Promise<Response> {
  if (fault?.kind !== "usage") return answer;
  const text = (await answer.text()).replaceAll(JSON.stringify(RAW_USAGE), fault.usage);
  const headers = new Headers(answer.headers);
  headers.delete("content-length");
  return new Response(text, { status: answer.status, headers });
}

/** Fake API server; start it with `FakeOpenAI.start()`. */
export class FakeOpenAI {
  readonly requests: Recorded[] = [];
  readonly uploaded = new Map<string, { filename: string; bytes: number }>();
  /** Delay before answering image requests, in ms (watching for the client going away). */
  delayMs = 0;
  /**
   * Wait `delayMs` before sending anything, headers included (as the API does when it answers a
   * request without streaming), instead of sending headers at once and trickling keep-alive bytes.
   */
  delayBeforeHeaders = false;
  /** Answer `/v1/images/edits` for gpt-image-2 with the launch-time 400. */
  rejectModelOnEdits = false;
  /**
   * Send answers without Content-Length (chunked), as a compressed answer reads to the client:
   * the reader cannot size anything from the headers.
   */
  chunked = false;
  /** Give every answer's images their own pixels (else equal requests get equal bytes). */
  distinctImages = false;
  /** The project's access grants and extra models (see tests/fake/models.ts). */
  access: FakeAccess = {};
  /** Models whose calls and `GET /v1/models/{id}` answer the organization-verification 403. */
  unverifiedModels = new Set<string>();
  /** Act as a gateway without `GET /v1/models/{id}`: that route answers a plain 404. */
  noModelRoute = false;
  /** Shutdown dates `GET /v1/models/{id}` announces, by model id. */
  shutdownDates: Record<string, string> = {};
  /** Answer image requests with 429 insufficient_quota. */
  quotaExhausted = false;
  /** Keep the bytes of multipart files in `requests` (a test that inspects a mask sets it). */
  keepUploads = false;
  #imageSeq = 0;
  #faults = new Map<Route, Fault[]>();
  #cache = new Map<string, Uint8Array>();
  #server!: Deno.HttpServer<Deno.NetAddr>;
  #fileSeq = 0;
  #trickling = new Set<Recorded>();

  private constructor(readonly apiKey: string) {}

  /** Starts the fake on 127.0.0.1 with a free port. */
  static start(options: { apiKey?: string } = {}): FakeOpenAI {
    const fake = new FakeOpenAI(options.apiKey ?? "sk-test-fake-key-1234567890");
    fake.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => fake.#handle(req),
    );
    return fake;
  }

  /** Base URL for OPENAI_BASE_URL. */
  get baseURL(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** `host:port`, for permission flags. */
  get host(): string {
    return `127.0.0.1:${this.#server.addr.port}`;
  }

  /** Queues faults for the next requests to `route`. */
  inject(route: Route, ...faults: Fault[]): void {
    this.#faults.set(route, [...(this.#faults.get(route) ?? []), ...faults]);
  }

  /** Requests that reached a given route. */
  calls(route: Route): Recorded[] {
    return this.requests.filter((r) => r.route === route);
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  /** The bytes of an output image (cached per size and format, so repeated calls stay fast). */
  async image(size: string, format: string, seed = 1): Promise<Uint8Array> {
    const key = `${size}/${format}/${seed}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const [w, h] = size.split("x").map(Number);
    const png = makePng(w, h, { seed });
    let bytes: Uint8Array = png;
    if (format !== "png") {
      const decoded = await Image.decode(png);
      bytes = format === "jpeg" ? await decoded.encodeJPEG(85) : await decoded.encodeWEBP(80);
    }
    this.#cache.set(key, bytes);
    return bytes;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const record: Recorded = {
      method: req.method,
      path: url.pathname,
      authorization: req.headers.get("authorization"),
      aborted: false,
      startedAt: performance.now(),
    };
    this.requests.push(record);
    const response = await this.#route(req, url, record);
    if (!this.#trickling.has(record)) record.finishedAt = performance.now();
    return response;
  }

  /** `GET /v1/models/{id}`: the image and host models this fake serves, else the API's 404. */
  #model(path: string): Response {
    const id = decodeURIComponent(path.slice("/v1/models/".length));
    // What proxies in front of the API answer for a route they do not serve (FastAPI's default).
    if (this.noModelRoute) return json({ detail: "Not Found" }, 404);
    if (id === "gpt-4.1-mini") {
      return json({ id, object: "model", created: 1761149123, owned_by: "system" });
    }
    if (this.unverifiedModels.has(id)) return apiErrorResponse(organizationNotVerified(id));
    const { status, body } = modelAnswer(id, {
      shutdownDates: this.shutdownDates,
      access: this.access,
    });
    return json(body, status);
  }

  async #route(req: Request, url: URL, record: Recorded): Promise<Response> {
    if (record.authorization !== `Bearer ${this.apiKey}`) {
      return json(
        errorBody(
          "Incorrect API key provided: sk-wr***ng. You can find your API key at https://platform.openai.com/account/api-keys.",
          "invalid_request_error",
          null,
          "invalid_api_key",
        ),
        401,
      );
    }
    const path = url.pathname;
    if (req.method === "DELETE" && path.startsWith("/v1/files/")) {
      const id = path.slice("/v1/files/".length);
      const existed = this.uploaded.delete(id);
      return existed
        ? json({ id, object: "file", deleted: true })
        : json(errorBody(`No such File object: ${id}`, "invalid_request_error", "id"), 404);
    }
    if (req.method === "GET" && path.startsWith("/v1/models/")) return this.#model(path);
    const route = ({
      "/v1/images/generations": "generations",
      "/v1/images/edits": "edits",
      "/v1/files": "files",
      "/v1/responses": "responses",
    } as Record<string, Route>)[path];
    if (req.method !== "POST" || !route) {
      return json(errorBody(`Invalid URL (${req.method} ${path})`, "invalid_request_error"), 404);
    }
    record.route = route;
    if (route === "generations" || route === "responses") {
      try {
        record.json = await req.json();
      } catch {
        return json(
          errorBody("We could not parse the JSON body of your request.", "invalid_request_error"),
          400,
        );
      }
    } else {
      const form = await req.formData();
      record.fields = {};
      record.files = [];
      for (const [field, value] of form.entries()) {
        if (typeof value === "string") (record.fields[field] ??= []).push(value);
        else {
          const data = await value.arrayBuffer();
          const kind = field === "image" || field === "image[]" ? "first" : field;
          if (["first", "mask", "markup"].includes(kind)) {
            record.editFiles ??= {};
            const key = kind as "first" | "mask" | "markup";
            record.editFiles[key] ??= new Uint8Array(data);
          }
          const digest = await crypto.subtle.digest("SHA-256", data);
          record.files.push({
            ...(this.keepUploads ? { bytes: new Uint8Array(data) } : {}),
            field,
            name: value.name,
            type: value.type,
            size: value.size,
            sha256: Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
              .join(""),
          });
        }
      }
    }
    const fault = this.#faults.get(route)?.shift();
    if (fault?.kind === "hang") return this.#slowly(record, new Response("{}"), 3_600_000);
    if (fault?.kind === "html-error") return htmlError(record, fault);
    if (fault) {
      const answer = this.#fault(fault);
      if (answer) return answer;
    }
    if (route === "files") return this.#file(record);
    let answer = route === "responses"
      ? await this.#responses(record, fault)
      : await this.#images(record, route, fault);
    if (fault?.kind === "cut") answer = await cut(answer, fault.at);
    else if (fault?.kind === "stall") {
      this.#trickling.add(record);
      answer = await stall(answer, fault.at, () => {
        record.aborted = true;
        record.finishedAt = performance.now();
      });
    } else if (this.chunked) answer = chunked(answer);
    if (this.delayMs && this.delayBeforeHeaders) {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      record.finishedAt = performance.now();
      return answer;
    }
    return this.delayMs ? this.#slowly(record, answer, this.delayMs) : answer;
  }

  /**
   * Sends `answer`'s headers at once, trickles keep-alive bytes (JSON whitespace, SSE comments)
   * for `ms`, then the body. Deno.serve does not report a client that disconnects while a
   * handler waits once the request body came in several reads, but a write to a closed
   * connection fails at once: that is how the fake sees a cancelled request.
   */
  #slowly(record: Recorded, answer: Response, ms: number): Response {
    this.#trickling.add(record);
    const sse = answer.headers.get("content-type")?.includes("event-stream");
    const keepAlive = new TextEncoder().encode(sse ? ":\n\n" : " ");
    let timer: ReturnType<typeof setInterval> | undefined;
    const done = () => {
      clearInterval(timer);
      record.finishedAt = performance.now();
    };
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const until = performance.now() + ms;
        timer = setInterval(async () => {
          if (performance.now() < until) return controller.enqueue(keepAlive);
          clearInterval(timer);
          controller.enqueue(new Uint8Array(await answer.arrayBuffer()));
          controller.close();
          done();
        }, 50);
      },
      cancel: () => {
        record.aborted = true;
        done();
      },
    });
    return new Response(body, { status: answer.status, headers: answer.headers });
  }

  #fault(fault: Fault): Response | undefined {
    switch (fault.kind) {
      case "status": {
        const type = fault.status === 429
          ? "requests"
          : fault.status >= 500
          ? "server_error"
          : "invalid_request_error";
        return json(
          errorBody(
            fault.message ?? `Fake error ${fault.status}`,
            type,
            fault.param ?? null,
            fault.code ?? null,
          ),
          fault.status,
          fault.headers,
        );
      }
      case "bad-json":
        return new Response('{"created": 1761149123, "data": [{"b64_json": "iVBORw0KGgo', {
          headers: { "content-type": "application/json" },
        });
      case "echo-key":
        return json(
          errorBody(
            `Gateway: upstream refused the credential ${echoKey(this.apiKey, fault.form)}`,
            "invalid_request_error",
            null,
            "invalid_api_key",
          ),
          fault.status ?? 401,
        );
      case "drop":
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(
                new TextEncoder().encode('{"created": 1761149123, "data": [{"b64_'),
              );
              controller.error(new Error("connection reset by the fake"));
            },
          }),
          { headers: { "content-type": "application/json", "content-length": "100000" } },
        );
    }
    return undefined;
  }

  #file(record: Recorded): Response {
    const file = record.files?.find((f) => f.field === "file");
    if (!file || record.fields?.purpose?.[0] !== "vision") {
      return json(
        errorBody("'file' and purpose 'vision' are required", "invalid_request_error", "file"),
        400,
      );
    }
    const id = `file-${(++this.#fileSeq).toString(36).padStart(8, "0")}`;
    this.uploaded.set(id, { filename: file.name, bytes: file.size });
    return json({
      id,
      object: "file",
      bytes: file.size,
      created_at: Math.floor(Date.now() / 1000),
      filename: file.name,
      purpose: "vision",
      status: "processed",
    });
  }

  #settings(source: Record<string, unknown>) {
    const format = String(source.output_format ?? "png");
    // GIF frames share one sheet: "auto" draws small frames.
    const auto = format === "gif" ? "512x512" : "1024x1024";
    const size = String(source.size ?? "auto") === "auto" ? auto : String(source.size);
    const quality = String(source.quality ?? "auto") === "auto" ? "high" : String(source.quality);
    const background = source.background === "transparent" ? "transparent" : "opaque";
    return { size, quality, background, output_format: format };
  }

  #usage(
    prompt: string,
    applied: { size: string; quality: string },
    images: number,
    inputs: number,
  ) {
    const [w, h] = applied.size.split("x").map(Number);
    const square = Math.max(w, h) / Math.min(w, h) < 1.25;
    const [squareTokens, wideTokens] = OUTPUT_TOKENS[applied.quality];
    const perImage = square
      ? squareTokens * (w * h) / (1024 * 1024)
      : wideTokens * (w * h) / (1536 * 1024);
    const imageOut = Math.round(perImage) * images;
    const text = Math.ceil(prompt.length / 4);
    const imageIn = inputs * 4_160;
    return {
      input_tokens: text + imageIn,
      output_tokens: imageOut,
      total_tokens: text + imageIn + imageOut,
      input_tokens_details: { text_tokens: text, image_tokens: imageIn },
      output_tokens_details: { image_tokens: imageOut, text_tokens: 0 },
    };
  }

  async #b64(
    applied: { size: string; output_format: string; frames?: number; delayMs?: number },
    fault: Fault | undefined,
    seed: number,
  ) {
    if (fault?.kind === "bad-base64") return "this is not base64!!";
    if (fault?.kind === "bad-pixels") {
      const [w, h] = applied.size.split("x").map(Number);
      const bytes = await this.image(applied.size, applied.output_format, seed);
      return encodeBase64(badPixels(bytes, fault.width ?? w, fault.height ?? h));
    }
    if (fault?.kind === "not-an-image") return encodeBase64(new Uint8Array(fault.bytes).fill(7));
    if (applied.output_format === "gif" && fault?.kind !== "wrong-format") {
      return encodeBase64(gifAnswer({
        size: applied.size,
        frames: applied.frames,
        delayMs: applied.delayMs,
        seed,
      }));
    }
    if (applied.output_format === "svg" && fault?.kind !== "wrong-format") {
      return encodeBase64(new TextEncoder().encode(svgAnswer({ size: applied.size, seed })));
    }
    const format = fault?.kind === "wrong-format"
      ? (applied.output_format === "png" ? "jpeg" : "png")
      : applied.output_format;
    return encodeBase64(await this.image(applied.size, format, seed));
  }

  async #images(record: Recorded, route: Route, fault: Fault | undefined): Promise<Response> {
    const source = route === "generations"
      ? record.json!
      : Object.fromEntries(Object.entries(record.fields!).map(([k, v]) => [k, v[0]]));
    const model = String(source.model);
    if (route === "edits" && this.rejectModelOnEdits && model.startsWith("gpt-image")) {
      return json(
        errorBody(
          `Invalid value: '${model}'. Value must be 'dall-e-2'.`,
          "invalid_request_error",
          "model",
          "invalid_value",
        ),
        400,
      );
    }
    const prompt = String(source.prompt ?? "");
    if (!prompt) {
      return json(
        errorBody("Missing required parameter: 'prompt'.", "invalid_request_error", "prompt"),
        400,
      );
    }
    const n = fault?.kind === "extra-images" ? fault.count : Number(source.n ?? 1);
    const inputs =
      record.files?.filter((f) => f.field === "image" || f.field === "image[]").length ?? 0;
    if (route === "edits" && inputs === 0) {
      return json(
        errorBody("Missing required parameter: 'image'.", "invalid_request_error", "image"),
        400,
      );
    }
    if (this.unverifiedModels.has(model)) return apiErrorResponse(organizationNotVerified(model));
    // The model's own rules, from the fake's table (never the server's).
    const refused = checkImageRequest({
      route: route === "edits" ? "edits" : "generations",
      fields: source,
      files: route === "edits"
        ? {
          images: inputs,
          mask: record.editFiles?.mask !== undefined,
          markup: record.editFiles?.markup !== undefined,
        }
        : undefined,
    }, this.access);
    if (refused) return apiErrorResponse(refused);
    if (route === "edits" && record.editFiles?.first) {
      const files = await checkEditFiles({
        first: record.editFiles.first,
        mask: record.editFiles.mask,
        markup: record.editFiles.markup,
      });
      if (files) return apiErrorResponse(files);
    }
    if (this.quotaExhausted) return apiErrorResponse(insufficientQuota());
    if (prompt.includes(MODERATION_TRIGGER)) return apiErrorResponse(moderationBlocked());
    const applied = this.#settings(source);
    const frames = applied.output_format === "gif" ? Number(source.frame_count ?? 9) : 1;
    const media = {
      ...applied,
      frames,
      delayMs: source.frame_duration_ms === undefined
        ? undefined
        : Number(source.frame_duration_ms),
    };
    // A GIF's frames are drawn as images: each is billed like one.
    const usage = fault?.kind === "usage"
      ? RAW_USAGE
      : this.#usage(prompt, applied, n * frames, inputs);
    const svg = applied.output_format === "svg" ? { svg_usage: svgUsage(prompt) } : {};
    const created = Math.floor(Date.now() / 1000);
    if (fault?.kind === "no-data") return json({ created, ...applied, data: [], usage });
    const images = fault?.kind === "extra-images"
      ? [await this.#b64(applied, fault, 1)]
      : await Promise.all(
        Array.from(
          { length: n },
          (_, i) => this.#b64(media, fault, this.distinctImages ? 1000 + ++this.#imageSeq : i + 1),
        ),
      );
    const streamed = source.stream === true || source.stream === "true";
    if (!streamed && fault?.kind !== "extra-images") {
      return rawUsage(
        json({
          created,
          ...applied,
          data: images.map((b64_json) => ({ b64_json })),
          usage,
          ...svg,
        }),
        fault,
      );
    }
    const prefix = route === "generations" ? "image_generation" : "image_edit";
    const partials = streamed ? Number(source.partial_images ?? 0) : 0;
    const events: string[] = [];
    for (let i = 0; i < partials; i++) {
      const b64_json = encodeBase64(await this.image(applied.size, applied.output_format, 100 + i));
      events.push(
        this.#sse(`${prefix}.partial_image`, {
          b64_json,
          partial_image_index: i,
          ...applied,
          created_at: created,
        }),
      );
    }
    if (fault?.kind === "extra-images") {
      return this.#manyImages({
        created,
        applied,
        usage: this.#usage(prompt, applied, streamed ? 1 : n, inputs),
        b64: images[0],
        n,
        streamed,
        route,
        partials: events,
      });
    }
    for (const b64_json of images) {
      events.push(
        this.#sse(`${prefix}.completed`, {
          b64_json,
          usage: fault?.kind === "usage" ? RAW_USAGE : this.#usage(prompt, applied, 1, inputs),
          ...applied,
          created_at: created,
        }),
      );
    }
    const answer = new Response(events.join(""), {
      headers: { "content-type": "text/event-stream" },
    });
    if (fault?.kind !== "cut-stream") return rawUsage(answer, fault);
    const at = new TextEncoder().encode(events.slice(0, fault.after).join("")).length +
      Math.floor(events[fault.after].length / 2);
    return cut(answer, at);
  }

  /**
   * An answer of `n` copies of one image, each piece made as it is sent: forty images joined
   * in one string would cost the test process most of a gigabyte.
   */
  #manyImages(
    options: {
      created: number;
      applied: Record<string, string>;
      /** The whole answer's usage, or each event's when streamed. */
      usage: Record<string, unknown>;
      b64: string;
      n: number;
      streamed: boolean;
      route: Route;
      /** Partial-image events sent first. */
      partials: string[];
    },
  ): Response {
    const { created, applied, usage, b64, n } = options;
    const pending = [...options.partials];
    const prefix = options.route === "generations" ? "image_generation" : "image_edit";
    const piece = (i: number): string => {
      if (options.streamed) {
        return this.#sse(`${prefix}.completed`, {
          b64_json: b64,
          usage,
          ...applied,
          created_at: created,
        });
      }
      const head = i === 0 ? JSON.stringify({ created, ...applied, usage }).slice(0, -1) : "";
      return `${head}${i === 0 ? ',"data":[' : ","}{"b64_json":"${b64}"}${i === n - 1 ? "]}" : ""}`;
    };
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pending.length) return controller.enqueue(new TextEncoder().encode(pending.shift()));
        if (next === n) return controller.close();
        controller.enqueue(new TextEncoder().encode(piece(next++)));
      },
    });
    const type = options.streamed ? "text/event-stream" : "application/json";
    return new Response(body, { headers: { "content-type": type } });
  }

  #sse(type: string, data: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  }

  async #responses(record: Recorded, fault: Fault | undefined): Promise<Response> {
    const body = record.json!;
    const tool = (body.tools as Record<string, unknown>[] | undefined)?.[0] ?? {};
    const content = ((body.input as { content: Record<string, unknown>[] }[])?.[0]?.content) ?? [];
    const images = content.filter((c) => c.type === "input_image");
    for (const image of images) {
      if (!this.uploaded.has(String(image.file_id))) {
        return json(
          errorBody(`File ${image.file_id} not found.`, "invalid_request_error", "input"),
          400,
        );
      }
    }
    const mask = (tool.input_image_mask as { file_id?: string } | undefined)?.file_id;
    if (mask && !this.uploaded.has(mask)) {
      return json(
        errorBody(
          `Mask file ${mask} not found.`,
          "invalid_request_error",
          "tools[0].input_image_mask",
        ),
        400,
      );
    }
    const applied = this.#settings(tool);
    const usage = {
      input_tokens: 120 + images.length * 85,
      output_tokens: 40,
      total_tokens: 160 + images.length * 85,
    };
    const base = {
      id: `resp_${crypto.randomUUID().slice(0, 8)}`,
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      model: body.model,
      status: "completed",
      usage,
    };
    if (fault?.kind === "no-image-call") {
      return json({
        ...base,
        output: [{
          type: "message",
          id: "msg_1",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "I can't help with editing that image." }],
        }],
      });
    }
    const result = await this.#b64(applied, fault, 7);
    return json({
      ...base,
      output: [{
        type: "image_generation_call",
        id: "ig_fake1",
        status: "completed",
        result,
        revised_prompt: "",
        ...applied,
      }],
    });
  }
}
