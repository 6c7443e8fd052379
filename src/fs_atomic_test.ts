import assert from "node:assert/strict";
import { join } from "node:path";
import { createFileAtomic, replaceFileAtomic } from "./fs_atomic.ts";

Deno.test("a large file is written whole, and an existing one is never replaced", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = new Uint8Array(24 << 20).map((_, i) => (i * 31) >> 3);
    const path = join(dir, "sub", "image.png");
    await createFileAtomic(path, bytes);
    assert.deepEqual(await Deno.readFile(path), bytes);
    await assert.rejects(createFileAtomic(path, new Uint8Array([1])), Deno.errors.AlreadyExists);
    assert.equal((await Deno.readFile(path)).length, bytes.length);
    const names = [...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name);
    assert.deepEqual(names, ["image.png"], "no temporary file is left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replacing a small file leaves the new text and no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ledger.json");
    await replaceFileAtomic(path, "old");
    await replaceFileAtomic(path, "new");
    assert.equal(await Deno.readTextFile(path), "new");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ledger.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
