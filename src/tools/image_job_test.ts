import assert from "node:assert/strict";
import { makePng } from "../../tests/fake/png.ts";
import { Ledger } from "../budget.ts";
import { loadConfig } from "../config.ts";
import { encodeBase64 } from "../images/codecs/base64.ts";
import { localImageStore } from "../images/storage/image_store.ts";
import { Logger } from "../log.ts";
import { Api } from "../openai/api.ts";
import { EditRouter } from "../openai/edit_route.ts";
import type { ImageReceiver } from "../openai/image_json.ts";
import { fromResponse } from "../openai/images.ts";
import { SessionStore } from "../sessions/store.ts";
import { CORES } from "../slots.ts";
import { answerSlots, type ImageJob, runImageJob } from "./image_job.ts";
import { Progress } from "./progress.ts";
import type { ToolContext } from "./tool.ts";

const KEY = "sk-test-image-job-0123456789";

/** A server's services over a temporary output folder; nothing is sent over the network. */
function context(root: string): ToolContext {
  const env: Record<string, string> = {
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
    GPT_IMAGE_2_OUTPUT_DIR: root,
    GPT_IMAGE_2_MAX_RETRIES: "1",
    GPT_IMAGE_2_RETRY_BASE_MS: "200",
  };
  const config = loadConfig({ env: (name) => env[name], cwd: root });
  const log = new Logger({ debug: false, secrets: [KEY] });
  log.attach(() => {});
  const api = new Api(config, log);
  return {
    config,
    log,
    api,
    router: new EditRouter(api, config.editRoute),
    ledger: new Ledger({ config, log, project: "p", root: () => root }),
    sessions: new SessionStore(config, () => root, log),
    images: localImageStore(() => root),
    project: "",
  };
}

/** A plain images answer with one PNG, whole. */
function answer(): Response {
  const b64 = encodeBase64(makePng(32, 32));
  return new Response(
    JSON.stringify({ created: 1, output_format: "png", data: [{ b64_json: b64 }] }),
  );
}

/** An answer whose body breaks (the connection drops) once `breaks` resolves. */
function breakingAnswer(breaks: Promise<void>): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"created":1,"data":[{"b64_json":"iVBOR'));
        breaks.then(() => controller.error(new TypeError("connection reset")));
      },
    }),
  );
}

/** A generate job whose attempts answer with `answers` in turn, logging what happens in `events`. */
function job(
  ctx: ToolContext,
  name: string,
  options: {
    events: string[];
    answers: (() => Response)[];
    /** Told when the job asks for a slot, and when it has one. */
    waiting?: () => void;
    reads?: () => void;
  },
): ImageJob {
  const { events } = options;
  let attempt = 0;
  return {
    verb: "Generated",
    model: "gpt-image-2",
    prompt: name,
    requested: { size: "1024x1024", quality: "low", n: 1, format: "png" },
    outputDir: ctx.config.outputDirOverride!,
    stem: `image-${name}`,
    inline: "none",
    estimateUsd: 0.01,
    partialImages: 0,
    cost: () => ({ usd: 0.01, basis: "test" }),
    run: (call) => {
      const inner = call.receiver!;
      const receiver: ImageReceiver = {
        ...inner,
        reading: async () => {
          options.waiting?.();
          await inner.reading!();
          events.push(`${name} reads`);
          options.reads?.();
        },
      };
      return ctx.api.call("images.generate", () => {
        events.push(`${name} sends attempt ${++attempt}`);
        return fromResponse(options.answers[attempt - 1](), { receiver });
      }, {
        ...call,
        onRetry: (info) => {
          events.push(`${name} backs off`);
          call.onRetry?.(info);
        },
      });
    },
  };
}

Deno.test("a retry's backoff holds no answer slot: another job's answer is read meanwhile", async () => {
  const root = await Deno.makeTempDir({ prefix: "gi2-image-job-" });
  // All slots but one are taken, so both jobs share the last one.
  const others = await Promise.all(Array.from({ length: CORES - 1 }, () => answerSlots.acquire()));
  try {
    const ctx = context(root);
    const call = () => ({
      signal: new AbortController().signal,
      progress: new Progress(undefined, 60_000),
      log: ctx.log,
    });
    const events: string[] = [];
    let aReads!: () => void;
    const aReading = new Promise<void>((resolve) => aReads = resolve);
    let bWaits!: () => void;
    const bWaiting = new Promise<void>((resolve) => bWaits = resolve);
    // A's first answer breaks mid-body once B waits for the slot A holds; A retries after a
    // backoff, and its second answer is whole.
    const jobA = runImageJob(
      ctx,
      call(),
      job(ctx, "A", {
        events,
        answers: [() => breakingAnswer(bWaiting), answer],
        reads: () => aReads(),
      }),
    );
    await aReading;
    const jobB = runImageJob(
      ctx,
      call(),
      job(ctx, "B", { events, answers: [answer], waiting: () => bWaits() }),
    );
    const [doneA, doneB] = await Promise.all([jobA, jobB]);
    assert.equal(doneA.result.images.length, 1);
    assert.equal(doneB.result.images.length, 1);
    assert.deepEqual(events, [
      "A sends attempt 1",
      "A reads",
      "B sends attempt 1",
      "A backs off",
      "B reads",
      "A sends attempt 2",
      "A reads",
    ]);
    // Both jobs gave their slot back: the last one is free again.
    const free = await Promise.race([
      answerSlots.acquire(),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 0)),
    ]);
    assert.equal(typeof free, "function", "the slot is free once both jobs end");
    free?.();
  } finally {
    others.forEach((release) => release());
    await Deno.remove(root, { recursive: true });
  }
});
