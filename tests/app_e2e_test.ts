/**
 * The viewer as an MCP client sees it, without a browser: the tools that name it, its `ui://`
 * page, the tool only it calls, and results that stay as they were for hosts without Apps.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import {
  getToolUiResourceUri,
  isToolVisibilityAppOnly,
  RESOURCE_MIME_TYPE,
} from "npm:@modelcontextprotocol/ext-apps@2.0.4/app-bridge";
import { makePng } from "./fake/png.ts";
import { withServer } from "./harness.ts";

const VIEWER = "ui://gpt-image-2/viewer";

Deno.test("viewer: the image tools name it, as ext-apps reads them; one tool is for it alone", async () => {
  await withServer({}, async (h) => {
    const { tools } = await h.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    const cases: [string, string | undefined, boolean][] = [
      ["generate_image", VIEWER, false],
      ["edit_image", VIEWER, false],
      ["start_edit_session", VIEWER, false],
      ["continue_edit_session", VIEWER, false],
      ["get_image_job", VIEWER, false],
      ["end_edit_session", undefined, false],
      ["list_edit_sessions", undefined, false],
      ["cancel_image_job", undefined, false],
      ["get_session_images", VIEWER, true],
    ];
    for (const [name, uri, appOnly] of cases) {
      const tool = byName.get(name);
      assert.ok(tool, `${name} is listed`);
      assert.equal(getToolUiResourceUri(tool), uri, `${name}'s viewer`);
      assert.equal(isToolVisibilityAppOnly(tool), appOnly, `${name} for the app only`);
    }
  });
});

Deno.test("viewer: resources/read serves one self-contained HTML page in the app profile", async () => {
  await withServer({}, async (h) => {
    const read = await h.client.readResource({ uri: VIEWER });
    assert.equal(read.contents.length, 1);
    const page = read.contents[0] as { uri: string; mimeType?: string; text?: string };
    assert.equal(page.uri, VIEWER);
    assert.equal(page.mimeType, RESOURCE_MIME_TYPE);
    const html = page.text ?? "";
    assert.match(html, /^<!doctype html>/i);
    assert.match(html, /<script type="module">/);
    // Nothing is fetched: no script, style sheet or image from elsewhere (no CDN).
    assert.doesNotMatch(html, /<script[^>]+src=/i);
    assert.doesNotMatch(html, /<link[^>]+rel="?stylesheet/i);
    assert.doesNotMatch(html, /(src|href)="https?:/i);
    assert.doesNotMatch(html, /@import/);
    // The list of resources stays the images'.
    const list = await h.client.listResources();
    assert.ok(list.resources.every((r) => r.uri.startsWith("image://")));
  });
});

Deno.test("viewer: get_session_images gives a session's turns in order, readable as resources", async () => {
  await withServer({}, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const started = await h.call("start_edit_session", { prompt: "start", images: ["a.png"] });
    assert.ok(!started.isError, JSON.stringify(started.content));
    const id = (started.structuredContent as { session_id: string }).session_id;
    const next = await h.call("continue_edit_session", { session_id: id, prompt: "more" });
    assert.ok(!next.isError, JSON.stringify(next.content));
    assert.equal(fake.calls("edits").length, 2);

    const result = await h.call("get_session_images", { session_id: id });
    assert.ok(!result.isError, JSON.stringify(result.content));
    const turns = (result.structuredContent as { turns: { turn: number; uri: string }[] }).turns;
    assert.deepEqual(turns.map((t) => t.turn), [1, 2]);
    const links = [started, next].map((r) =>
      r.content.find((c) => c.type === "resource_link") as { uri: string }
    );
    assert.deepEqual(turns.map((t) => t.uri), links.map((l) => l.uri));
    const read = await h.client.readResource({ uri: turns[1].uri });
    assert.equal((read.contents[0] as { mimeType?: string }).mimeType, "image/png");

    const unknown = await h.call("get_session_images", { session_id: "no-such-session" });
    assert.equal(unknown.isError, true);
    assert.match(JSON.stringify(unknown.content), /no-such-session/);
  });
});

Deno.test("viewer: get_session_images lists nothing from a folder a session record was edited to name", async () => {
  await withServer({}, async (h) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(256, 256));
    const started = await h.call("start_edit_session", { prompt: "start", images: ["a.png"] });
    assert.ok(!started.isError, JSON.stringify(started.content));
    const { session_id: id, images } = started.structuredContent as {
      session_id: string;
      images: { file_path: string }[];
    };
    const record = join(dirname(images[0].file_path), ".sessions", `${id}.json`);
    const secret = join(h.home, ".ssh");
    await Deno.mkdir(secret, { recursive: true });
    await Deno.writeFile(join(secret, `session-${id}-turn1.png`), makePng(8, 8));
    const edited = { ...JSON.parse(await Deno.readTextFile(record)), output_dir: secret };
    await Deno.writeTextFile(record, JSON.stringify(edited));

    const result = await h.call("get_session_images", { session_id: id });
    assert.equal(result.isError, true, JSON.stringify(result.content));
    const text = JSON.stringify(result.content);
    assert.match(text, /output_dir/);
    assert.doesNotMatch(text, /turn1\.png/);
  });
});

Deno.test("viewer: a tool call makes no request for it; the result has no trace of it", async () => {
  await withServer({}, async (h, fake) => {
    const result = await h.call("generate_image", { prompt: "a cat", quality: "low" });
    assert.ok(!result.isError);
    // The first call of a model also asks the API about the model; nothing else is sent.
    const sent = fake.requests.map((r) => r.path).filter((p) => !p.startsWith("/v1/models/"));
    assert.deepEqual(sent, ["/v1/images/generations"], "one image request, nothing else");
    assert.deepEqual(result.content.map((c) => c.type), ["image", "resource_link", "text"]);
    assert.doesNotMatch(JSON.stringify(result), /ui:\/\//);
  });
});
