import assert from "node:assert/strict";
import { join } from "node:path";
import { makePng } from "../../../tests/fake/png.ts";
import { localImageStore } from "./image_store.ts";

const PNG = makePng(8, 8, { noise: 0 });

/** Writes `count` images named `image-<i>.png` into `dir`, older first. */
async function saveImages(dir: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const path = join(dir, `image-${String(i).padStart(3, "0")}.png`);
    await Deno.writeFile(path, PNG);
    const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i));
    await Deno.utime(path, at, at);
  }
}

/** Every page of `store`, `limit` at a time. */
async function allPages(store: ReturnType<typeof localImageStore>, limit: number) {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ cursor, limit });
    ids.push(...page.images.map((image) => image.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

Deno.test("the store's pages, read one after another, hold every image once, newest first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveImages(dir, 0, 23);
    const store = localImageStore(() => dir);
    const expected = Array.from(
      { length: 23 },
      (_, i) => `image-${String(22 - i).padStart(3, "0")}.png`,
    );
    for (const limit of [1, 5, 23, 50]) assert.deepEqual(await allPages(store, limit), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a save the store hears of shows on the very next listing, however recent the last one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveImages(dir, 0, 3);
    const store = localImageStore(() => dir);
    assert.equal((await store.list()).images.length, 3);
    await saveImages(dir, 3, 1);
    store.changed();
    const first = (await store.list()).images[0];
    assert.equal(first.id, "image-003.png");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad cursor or limit is refused by the store whether or not its folder exists", async () => {
  const store = localImageStore(() => "/nonexistent/gi2-store");
  await assert.rejects(store.list({ cursor: "not-a-cursor" }), /cursor: "not-a-cursor"/);
  await assert.rejects(store.list({ limit: 0 }), /limit: give a whole number/);
  assert.deepEqual(await store.list(), { images: [] });
});
