import assert from "node:assert/strict";
import { join } from "node:path";
import { withFileLock } from "./file_lock.ts";

Deno.test("work under one lock runs one at a time in this process, in call order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gi2-lock-" });
  try {
    let active = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        withFileLock(join(dir, "sub", ".lock"), async () => {
          assert.equal(++active, 1);
          await new Promise((r) => setTimeout(r, 1));
          order.push(i);
          active--;
        })),
    );
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    await assert.rejects(() =>
      withFileLock(join(dir, ".lock"), () => Promise.reject(new Error("x")))
    );
    assert.equal(
      await withFileLock(join(dir, ".lock"), () => Promise.resolve(7)),
      7,
      "still usable",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processes taking the lock in turn lose no read-modify-write update", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gi2-lock-" });
  const counter = join(dir, "counter");
  await Deno.writeTextFile(counter, "0");
  const script = `
    import { withFileLock } from ${JSON.stringify(new URL("./file_lock.ts", import.meta.url).href)};
    for (let i = 0; i < 40; i++) {
      await withFileLock(${JSON.stringify(join(dir, ".lock"))}, async () => {
        const n = Number(await Deno.readTextFile(${JSON.stringify(counter)}));
        await new Promise((r) => setTimeout(r, 0));
        await Deno.writeTextFile(${JSON.stringify(counter)}, String(n + 1));
      });
    }`;
  try {
    const children = Array.from({ length: 3 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-config", script],
        stdout: "null",
        stderr: "inherit",
      }).output());
    for (const { code } of await Promise.all(children)) assert.equal(code, 0);
    assert.equal(await Deno.readTextFile(counter), "120");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
