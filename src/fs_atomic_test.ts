import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createFileAtomic,
  removeStaleTempFiles,
  replaceFileAtomic,
  tempPath,
} from "./fs_atomic.ts";

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

Deno.test("stale temporary files are removed, at any depth; fresh ones, other files and links stay", async () => {
  const dir = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    const hourAgo = new Date(Date.now() - 3_600_000 - 60_000);
    const stale = [tempPath(dir), tempPath(join(dir, "a")), tempPath(join(dir, "a", ".sessions"))];
    const fresh = tempPath(join(dir, "a"));
    const others = [join(dir, "a", "image.png"), join(dir, ".gpt-image-2-ledger.lock")];
    const beyond = tempPath(outside);
    await Deno.mkdir(join(dir, "a", ".sessions"), { recursive: true });
    for (const path of [...stale, fresh, ...others, beyond]) await Deno.writeTextFile(path, "x");
    for (const path of [...stale, ...others, beyond]) await Deno.utime(path, hourAgo, hourAgo);
    await Deno.symlink(outside, join(dir, "link"));
    const removed = await removeStaleTempFiles(dir, { olderThanMs: 3_600_000 });
    assert.deepEqual(removed.sort(), [...stale].sort());
    for (const path of [fresh, ...others, beyond]) assert.ok(await Deno.stat(path), path);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});
