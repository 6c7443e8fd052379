import assert from "node:assert/strict";
import { type EditRoute, loadConfig } from "../config.ts";
import { ImagePayload } from "../images/storage/received.ts";
import { Logger } from "../log.ts";
import { Api, type CallOptions } from "./api.ts";
import { EditRouter } from "./edit_route.ts";
import type { ImageSettings } from "./images.ts";

/** What `/v1/images/edits` answers in a scripted run. */
type DirectAnswer = "image" | "model rejected" | "bad request";

/** An Api whose requests are answered by a script, recording each request's label. */
class ScriptedApi extends Api {
  readonly labels: string[] = [];
  constructor(readonly direct: DirectAnswer) {
    const env: Record<string, string> = { OPENAI_API_KEY: "sk-test-edit-route-0123456789" };
    super(
      loadConfig({ env: (name) => env[name], cwd: Deno.cwd() }),
      new Logger({ debug: false, secrets: [] }),
    );
  }

  override call<T>(
    label: string,
    _request: unknown,
    _options?: CallOptions,
  ): Promise<T> {
    this.labels.push(label);
    return Promise.resolve(this.#answer(label) as T);
  }

  #answer(label: string): unknown {
    const image = () => ImagePayload.inMemory(new Uint8Array([1, 2, 3]));
    switch (label) {
      case "images.edit":
        if (this.direct === "model rejected") {
          throw Object.assign(new Error("model not supported"), { status: 400, param: "model" });
        }
        if (this.direct === "bad request") {
          throw Object.assign(new Error("prompt too long"), { status: 400, param: "prompt" });
        }
        return { images: [image()], applied: {} };
      case "files.create":
        return { id: `file-${this.labels.length}` };
      case "responses.create":
        return {
          json: { output: [{ type: "image_generation_call", result: "" }] },
          images: [image()],
          applied: {},
        };
      default:
        return {};
    }
  }
}

const settings: ImageSettings = {
  model: "gpt-image-2",
  prompt: "p",
  size: "1024x1024",
  quality: "low",
  n: 2,
  output_format: "png",
  partialImages: 1,
};
const inputs = {
  images: [{ bytes: new Uint8Array([1]), name: "image-1.png", mimeType: "image/png" }],
};
const RESPONSES = ["files.create", "responses.create", "files.delete"];

Deno.test("the edit route follows GPT_IMAGE_2_EDIT_ROUTE, falling back only in auto and only for a rejected model", async () => {
  const cases: {
    mode: EditRoute;
    direct: DirectAnswer;
    route?: string;
    fellBack?: boolean;
    requests: string[];
    next: string;
  }[] = [
    {
      mode: "auto",
      direct: "image",
      route: "direct",
      fellBack: false,
      requests: ["images.edit"],
      next: "direct",
    },
    {
      mode: "auto",
      direct: "model rejected",
      route: "responses",
      fellBack: true,
      requests: ["images.edit", ...RESPONSES],
      next: "responses",
    },
    { mode: "auto", direct: "bad request", requests: ["images.edit"], next: "direct" },
    {
      mode: "direct",
      direct: "image",
      route: "direct",
      fellBack: false,
      requests: ["images.edit"],
      next: "direct",
    },
    { mode: "direct", direct: "model rejected", requests: ["images.edit"], next: "direct" },
    {
      mode: "responses",
      direct: "image",
      route: "responses",
      fellBack: false,
      requests: RESPONSES,
      next: "responses",
    },
  ];
  for (const { mode, direct, route, fellBack, requests, next } of cases) {
    const label = `${mode}, direct answers ${direct}`;
    const api = new ScriptedApi(direct);
    const router = new EditRouter(api, mode);
    const outcome = await router.edit(settings, inputs).catch((error: Error) => error);
    if (route) {
      assert.ok(!(outcome instanceof Error), `${label}: ${outcome}`);
      assert.equal(outcome.route, route, label);
      assert.equal(outcome.fellBack, fellBack, label);
      assert.equal(outcome.images.length, 1, label);
    } else {
      assert.ok(outcome instanceof Error, `${label}: the error is given back`);
    }
    assert.deepEqual(api.labels, requests, label);
    assert.equal(router.next, next, `${label}: the next edit's route`);
  }
});

Deno.test("after a fallback, later edits of the process go straight to the Responses route", async () => {
  const api = new ScriptedApi("model rejected");
  const router = new EditRouter(api, "auto");
  await router.edit(settings, inputs);
  api.labels.length = 0;
  const second = await router.edit(settings, inputs);
  assert.deepEqual([second.route, second.fellBack], ["responses", false]);
  assert.deepEqual(api.labels, RESPONSES, "no second try of /v1/images/edits");
});
