import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { makePng } from "../../../tests/fake/png.ts";
import { principalRoot } from "../../http/principal.ts";
import { ToolError } from "../../errors.ts";
import {
  imageIdOf,
  ImageNotFound,
  type ImagePage,
  imageUri,
  pageOf,
  parseImageUri,
  readImage,
  walkImages,
} from "./library.ts";

const PNG = makePng(32, 16, { noise: 0 });

/** One page of the images under `root`, as the store serves it from a fresh walk. */
async function listImages(
  root: string,
  options: { cursor?: string; limit?: number } = {},
): Promise<ImagePage> {
  return pageOf(await walkImages(root), options);
}
const JPEG = new Uint8Array([
  0xff,
  0xd8,
  0xff,
  0xe0,
  0,
  16,
  0x4a,
  0x46,
  0x49,
  0x46,
  0,
  1,
  1,
  0,
  0,
  1,
  0,
  1,
  0,
  0,
  0xff,
  0xc0,
  0,
  17,
  8,
  0,
  8,
  0,
  8,
  3,
  1,
  0x22,
  0,
  2,
  0x11,
  1,
  3,
  0x11,
  1,
  0xff,
  0xd9,
]);

/** Writes `bytes` at `root/rel` with the modification time `seconds` after the epoch. */
async function put(root: string, rel: string, seconds: number, bytes: Uint8Array = PNG) {
  const path = join(root, rel);
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, bytes);
  await Deno.utime(path, seconds, seconds);
  return path;
}

async function withRoot(fn: (root: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "library-" });
  try {
    await fn(join(dir, "out"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function allIds(root: string, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await listImages(root, { cursor, limit });
    pages.push(page.images.map((i) => i.id));
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
}

Deno.test("the library lists images newest first, in pages joined by an opaque cursor", async () => {
  await withRoot(async (root) => {
    await put(root, "image-a.png", 1_000);
    await put(root, "image-b.jpg", 3_000, JPEG);
    await put(root, "2026/image-c.webp", 2_000);
    await put(root, "image-d.png", 3_000);
    await put(root, "image-e.PNG", 500);
    assert.deepEqual(await allIds(root, 2), [
      ["image-b.jpg", "image-d.png"],
      ["2026/image-c.webp", "image-a.png"],
      ["image-e.PNG"],
    ]);
    const first = await listImages(root, { limit: 2 });
    assert.deepEqual(first.images[0], {
      id: "image-b.jpg",
      uri: "image://image-b.jpg",
      name: "image-b.jpg",
      mimeType: "image/jpeg",
      size: JPEG.length,
      modified: new Date(3_000_000),
    });
    assert.match(first.nextCursor!, /^[A-Za-z0-9_-]+$/);
    const last = await listImages(root, { limit: 50 });
    assert.equal(last.images.length, 5);
    assert.equal(last.nextCursor, undefined);
    assert.equal(
      last.images.find((i) => i.id === "2026/image-c.webp")?.uri,
      "image://2026/image-c.webp",
    );
  });
});

Deno.test("an image saved between pages comes first next time, and paging on neither repeats nor skips", async () => {
  await withRoot(async (root) => {
    for (let i = 0; i < 5; i++) await put(root, `image-${i}.png`, 1_000 + i);
    const page1 = await listImages(root, { limit: 2 });
    assert.deepEqual(page1.images.map((i) => i.id), ["image-4.png", "image-3.png"]);
    await put(root, "image-new.png", 5_000);
    const page2 = await listImages(root, { limit: 2, cursor: page1.nextCursor });
    assert.deepEqual(page2.images.map((i) => i.id), ["image-2.png", "image-1.png"]);
    const page3 = await listImages(root, { limit: 2, cursor: page2.nextCursor });
    assert.deepEqual(page3.images.map((i) => i.id), ["image-0.png"]);
    assert.equal((await listImages(root)).images[0].id, "image-new.png");
  });
});

Deno.test("hidden files, session records, other files and symbolic links are not listed", async () => {
  await withRoot(async (root) => {
    const outside = await Deno.makeTempDir({ prefix: "library-outside-" });
    try {
      await put(outside, "secret.png", 9_000);
      await put(root, "image-ok.png", 1_000);
      await put(root, ".sessions/edit-1-abcdef12.png", 2_000);
      await put(root, ".a1b2c3d4.tmp", 2_000);
      await put(root, ".hidden.png", 2_000);
      await put(root, "notes.txt", 2_000, new TextEncoder().encode("hi"));
      await put(root, "image.png.json", 2_000, new TextEncoder().encode("{}"));
      await Deno.symlink(join(outside, "secret.png"), join(root, "linked.png"));
      await Deno.symlink(outside, join(root, "linked-folder"));
      await Deno.mkdir(join(root, "folder.png"));
      assert.deepEqual((await listImages(root)).images.map((i) => i.id), ["image-ok.png"]);
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("a root with nothing saved yet lists no images", async () => {
  await withRoot(async (root) => {
    assert.deepEqual(await listImages(root), { images: [] });
    await assert.rejects(() => readImage(root, "image-a.png"), ImageNotFound);
  });
});

Deno.test("a cursor the server did not give out, or a bad page size, is refused naming it", async () => {
  await withRoot(async (root) => {
    await put(root, "image-a.png", 1_000);
    for (const cursor of ["", "!!!", btoa("[1]"), btoa('{"a":1}'), btoa('["x","y"]')]) {
      await assert.rejects(
        () => listImages(root, { cursor }),
        (e) =>
          e instanceof ToolError &&
          /^cursor: ".*" is not a cursor this server gave out; list again from the start\.$/.test(
            e.message,
          ),
        cursor,
      );
    }
    for (const limit of [0, -1, 1.5, 501]) {
      await assert.rejects(
        () => listImages(root, { limit }),
        /^ToolError: limit: give a whole number from 1 to 500/,
      );
    }
  });
});

Deno.test("reading an image gives its exact bytes and the MIME type its bytes show", async () => {
  await withRoot(async (root) => {
    await put(root, "image-a.png", 1_000);
    await put(root, "2026/04/image-b.png", 2_000, JPEG); // misnamed: JPEG bytes
    const a = await readImage(root, "image-a.png");
    assert.deepEqual(a.bytes, PNG);
    assert.equal(a.image.mimeType, "image/png");
    assert.equal(a.image.uri, "image://image-a.png");
    const b = await readImage(root, parseImageUri("image://2026%2F04%2Fimage-b.png"));
    assert.deepEqual(b.bytes, JPEG);
    assert.equal(b.image.mimeType, "image/jpeg");
    assert.equal(b.image.id, "2026/04/image-b.png");
    await assert.rejects(
      () => readImage(root, "image-a.png", { maxBytes: 10 }),
      /image:\/\/image-a.png is \d+ bytes, over the 10-byte limit/,
    );
  });
});

Deno.test("reads that would leave the root, or reach hidden or non-image files, are refused", async () => {
  await withRoot(async (root) => {
    const outside = await Deno.makeTempDir({ prefix: "library-outside-" });
    try {
      await put(outside, "secret.png", 9_000);
      await put(root, "image-a.png", 1_000);
      await put(root, ".sessions/x.png", 1_000);
      await put(root, "fake.png", 1_000, new TextEncoder().encode("OPENAI_API_KEY=sk-123"));
      await Deno.symlink(join(outside, "secret.png"), join(root, "linked.png"));
      await Deno.symlink(outside, join(root, "linked-folder"));
      const relativeOut = join("..", "..", outside.split("/").at(-1)!, "secret.png").split("\\")
        .join("/");
      const cases: [string, RegExp][] = [
        ["../secret.png", /has an empty, \. or \.\. path segment/],
        [relativeOut, /has an empty, \. or \.\. path segment/],
        ["a/../../secret.png", /has an empty, \. or \.\. path segment/],
        ["./image-a.png", /has an empty, \. or \.\. path segment/],
        ["a//image-a.png", /has an empty, \. or \.\. path segment/],
        [`${outside}/secret.png`, /is an absolute path/],
        ["C:/Windows/secret.png", /holds a backslash, a colon or a NUL character/],
        ["..\\secret.png", /holds a backslash, a colon or a NUL character/],
        ["image-a.png\0.png", /holds a backslash, a colon or a NUL character/],
        [".sessions/x.png", /names a hidden file or folder/],
        ["image-a.png.json", /does not end in \.png, \.jpg, \.jpeg or \.webp/],
        ["", /names no image/],
        ["linked.png", /a symbolic link leads it out of the image folder/],
        ["linked-folder/secret.png", /a symbolic link leads it out of the image folder/],
        ["fake.png", /the file's bytes are not a PNG, JPEG or WebP image/],
      ];
      for (const [id, expected] of cases) {
        await assert.rejects(
          () => readImage(root, id),
          (e) =>
            e instanceof ToolError && !(e instanceof ImageNotFound) && expected.test(e.message),
          JSON.stringify(id),
        );
      }
      for (const id of ["missing.png", "a/missing.png", "image-a.png/x.png"]) {
        await assert.rejects(() => readImage(root, id), ImageNotFound, id);
      }
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("one principal's library never shows or reads another's images", async () => {
  await withRoot(async (base) => {
    const alice = principalRoot(base, "alice-0123456789abcdef");
    const bob = principalRoot(base, "bob-fedcba9876543210");
    await put(alice, "image-alice.png", 1_000);
    await put(bob, "image-bob.png", 2_000);
    assert.deepEqual((await listImages(alice)).images.map((i) => i.id), ["image-alice.png"]);
    assert.deepEqual((await listImages(bob)).images.map((i) => i.id), ["image-bob.png"]);
    await assert.rejects(() => readImage(alice, "image-bob.png"), ImageNotFound);
    await assert.rejects(
      () => readImage(alice, "../bob-fedcba9876543210/image-bob.png"),
      /path segment/,
    );
    assert.throws(
      () => parseImageUri("image://..%2Fbob-fedcba9876543210%2Fimage-bob.png"),
      /path segment/,
    );
    assert.deepEqual((await readImage(bob, "image-bob.png")).bytes, PNG);
  });
});

Deno.test("parseImageUri takes the URIs the library gives out and refuses the rest, naming the input", () => {
  const good: [string, string][] = [
    ["image://image-a.png", "image-a.png"],
    ["IMAGE://image-a.png", "image-a.png"],
    ["image://2026/image-a.png", "2026/image-a.png"],
    ["image://2026%2Fimage-a.png", "2026/image-a.png"],
    ["image://my%20photo.jpg", "my photo.jpg"],
    [imageUri("a b/ü #1.webp"), "a b/ü #1.webp"],
  ];
  for (const [uri, id] of good) assert.equal(parseImageUri(uri), id, uri);
  const bad: [string, RegExp][] = [
    ["file:///tmp/image-a.png", /does not start with image:\/\//],
    ["image-a.png", /does not start with image:\/\//],
    ["image://", /names no image/],
    ["image://../x.png", /path segment/],
    ["image://%2E%2E/x.png", /path segment/],
    ["image://%2Fetc%2Fx.png", /is an absolute path/],
    ["image:///etc/x.png", /is an absolute path/],
    ["image://a.png?x=1", /carries a query or a fragment/],
    ["image://a.png#x", /carries a query or a fragment/],
    ["image://%E0%A4%A.png", /percent-encoding is malformed/],
    ["image://a%00.png", /NUL/],
    ["image://x.gif", /does not end in/],
  ];
  for (const [uri, expected] of bad) {
    assert.throws(
      () => parseImageUri(uri, { label: "images[0]" }),
      (e) =>
        e instanceof ToolError &&
        e.message.startsWith(`images[0]: "${uri}" is not an image URI of this server: `) &&
        expected.test(e.message),
      uri,
    );
  }
});

Deno.test("imageIdOf gives the id of a saved file, and nothing for files outside or hidden", async () => {
  await withRoot(async (root) => {
    const saved = await put(root, "2026/image-a.png", 1_000);
    const hidden = await put(root, ".sessions/x.png", 1_000);
    assert.equal(imageIdOf(root, saved), "2026/image-a.png");
    assert.equal(imageUri(imageIdOf(root, saved)!), "image://2026/image-a.png");
    assert.equal(imageIdOf(root, hidden), undefined);
    assert.equal(imageIdOf(join(root, "2026"), join(root, "image-a.png")), undefined);
    assert.equal(imageIdOf(root, root), undefined);
  });
});
