/** Saved images as MCP resources over stdio: list, read, template, list_changed, image:// inputs. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ImageJobResult } from "../src/tools/image_job.ts";
import { makePng } from "./fake/png.ts";
import type { CallToolResult } from "./mcp_client.ts";
import { ResourceNotFoundError } from "../src/deps.ts";
import { type Harness, startServer, textOf, waitFor, withServer } from "./harness.ts";
import { FakeOpenAI } from "./fake/api.ts";

function links(result: CallToolResult): { uri: string; name: string }[] {
  return result.content.flatMap((c: CallToolResult["content"][number]) =>
    c.type === "resource_link" ? [c] : []
  );
}

function structured(result: CallToolResult): ImageJobResult {
  return result.structuredContent as ImageJobResult;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("resources: results link image:// URIs that resources/read serves byte for byte; the path stays in the text", () =>
  withServer({}, async (h) => {
    let changed = 0;
    h.client.setNotificationHandler("notifications/resources/list_changed", () => {
      changed++;
    });
    const result = await h.call("generate_image", { prompt: "two", n: 2, quality: "low" });
    assert.equal(result.isError, undefined, textOf(result));
    const saved = structured(result).images;
    assert.equal(links(result).length, 2);
    for (const [i, link] of links(result).entries()) {
      assert.match(link.uri, /^image:\/\//);
      assert.ok(textOf(result).includes(saved[i].file_path), "the file path stays in the text");
      const read = await h.client.readResource({ uri: link.uri });
      const [content] = read.contents as { uri: string; mimeType: string; blob: string }[];
      assert.equal(content.uri, link.uri);
      assert.equal(content.mimeType, "image/png");
      const bytes = Uint8Array.from(atob(content.blob), (c) => c.charCodeAt(0));
      assert.equal(sha256(bytes), sha256(await Deno.readFile(saved[i].file_path)));
    }
    assert.ok(await waitFor(() => changed >= 1), "notifications/resources/list_changed arrives");

    const listed = await h.client.listResources();
    assert.deepEqual(
      listed.resources.map((r) => r.uri).sort(),
      links(result).map((l) => l.uri).sort(),
    );
    const { resourceTemplates } = await h.client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ["image://{id}"]);
  }));

Deno.test("resources/list pages newest first without repeating or skipping an image", async () => {
  const out = await Deno.makeTempDir({ prefix: "gi2-lib-" });
  try {
    const png = makePng(8, 8);
    const count = 57;
    for (let i = 0; i < count; i++) {
      const path = join(out, `image-${String(i).padStart(3, "0")}.png`);
      await Deno.writeFile(path, png);
      await Deno.utime(path, 1_700_000_000 + i, 1_700_000_000 + i);
    }
    await Deno.writeFile(join(out, ".hidden.png"), png);
    await withServer({ env: { GPT_IMAGE_2_OUTPUT_DIR: out }, allowWrite: [out] }, async (h) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        // One page at a time (listResources() without a cursor walks them all itself).
        const page = await h.client.request({ method: "resources/list", params: { cursor } });
        seen.push(...page.resources.map((r) => r.name));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      assert.equal(pages, 2);
      const expected = Array.from(
        { length: count },
        (_, i) => `image-${String(count - 1 - i).padStart(3, "0")}.png`,
      );
      assert.deepEqual(seen, expected);
    });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("resources/read refuses URIs outside the library with a protocol error naming the URI", () =>
  withServer({}, async (h) => {
    const rows = [
      { uri: "image://missing.png", code: new ResourceNotFoundError("x").code },
      { uri: "image://../secret.png", code: -32602 },
      { uri: "image://a/%2e%2e/b.png", code: -32602 },
      { uri: "image://.sessions/x.png", code: -32602 },
      { uri: "image://notes.txt", code: -32602 },
    ];
    for (const row of rows) {
      await assert.rejects(
        h.client.readResource({ uri: row.uri }),
        (error: { code?: number; message: string }) => {
          assert.equal(error.code, row.code, `${row.uri}: ${error.message}`);
          return true;
        },
        row.uri,
      );
    }
  }));

Deno.test("image:// URIs work as edit inputs, masks and session starts", async () => {
  const out = await Deno.makeTempDir({ prefix: "gi2-lib-" });
  try {
    await Deno.writeFile(
      join(out, "mask.png"),
      makePng(1024, 1024, { alpha: true, transparentBox: { x: 0, y: 0, width: 512, height: 512 } }),
    );
    await withServer(
      { env: { GPT_IMAGE_2_OUTPUT_DIR: out }, allowWrite: [out] },
      async (h, fake) => {
        const generated = await h.call("generate_image", {
          prompt: "base",
          quality: "low",
          size: "1024x1024",
        });
        const [link] = links(generated);
        const edit = await h.call("edit_image", {
          prompt: "edit it",
          images: [link.uri],
          mask: "image://mask.png",
        });
        assert.equal(edit.isError, undefined, textOf(edit));
        const files = fake.calls("edits").at(-1)!.files!;
        const image = files.find((f) => f.field.startsWith("image"))!;
        const mask = files.find((f) => f.field === "mask")!;
        assert.equal(
          image.sha256,
          sha256(await Deno.readFile(structured(generated).images[0].file_path)),
        );
        assert.equal(mask.sha256, sha256(await Deno.readFile(join(out, "mask.png"))));

        const session = await h.call("start_edit_session", { prompt: "start", images: [link.uri] });
        assert.equal(session.isError, undefined, textOf(session));
        assert.match(links(session)[0].uri, /^image:\/\//);

        const bad = await h.call("edit_image", { prompt: "x", images: ["image://../etc/x.png"] });
        assert.equal(bad.isError, true);
        assert.match(textOf(bad), /images\[0\] \(image:\/\/\.\.\/etc\/x\.png\): /);
        const missing = await h.call("edit_image", { prompt: "x", images: ["image://gone.png"] });
        assert.match(textOf(missing), /images\[0\] \(image:\/\/gone\.png\): .*no saved image/);
      },
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("resources: a 2026-07-28 client lists and reads the saved images too", () =>
  withServer({ protocol: "2026-07-28" }, async (h) => {
    const result = await h.call("generate_image", { prompt: "modern", quality: "low" });
    const [link] = links(result);
    assert.match(link.uri, /^image:\/\//);
    const page = await h.client.request({ method: "resources/list", params: {} });
    assert.deepEqual(page.resources.map((r) => r.uri), [link.uri]);
    const read = await h.client.readResource({ uri: link.uri });
    const [content] = read.contents as { blob: string }[];
    assert.equal(atob(content.blob).length, structured(result).images[0].size_bytes);
  }));

Deno.test("resources: a client hears list_changed for images another server process saves in its folder", async () => {
  const fake = FakeOpenAI.start();
  const home = await Deno.makeTempDir({ prefix: "gi2-two-home-" });
  const cwd = await Deno.makeTempDir({ prefix: "gi2-two-cwd-" });
  const servers: Harness[] = [];
  const start = async () => {
    const h = await startServer({ cwd, home, fake });
    servers.push(h);
    return h;
  };
  try {
    // Two clients on one project, as two MCP clients of one user are; the folder is new.
    const [listener, saver] = [await start(), await start()];
    let changed = 0;
    listener.client.setNotificationHandler("notifications/resources/list_changed", () => {
      changed++;
    });
    await listener.client.listTools(); // its toolbox (and the store it listens to) loads by then
    for (const prompt of ["first", "second"]) {
      const before = changed;
      const result = await saver.call("generate_image", { prompt, quality: "low" });
      assert.equal(result.isError, undefined, textOf(result));
      assert.ok(
        await waitFor(() => changed > before, 20_000),
        `the listener hears of the ${prompt} save`,
      );
    }
    const listed = await listener.client.listResources();
    assert.equal(listed.resources.filter((r) => r.uri.startsWith("image://")).length, 2);
  } finally {
    for (const h of servers) await h.close();
    await fake.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
});
