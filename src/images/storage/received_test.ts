import assert from "node:assert/strict";
import { join } from "node:path";
import { ToolError } from "../../errors.ts";
import { encodeBase64 } from "../codecs/base64.ts";
import { saveImages } from "./output.ts";
import { inlineImages } from "../preview.ts";
import { type ImagePayload, SpillFile } from "./received.ts";
import { sniffImage } from "../codecs/sniff.ts";
import { makePng } from "../../../tests/fake/png.ts";

async function spill(dir: string, bytes: Uint8Array): Promise<ImagePayload> {
  const file = new SpillFile(dir);
  for (let at = 0; at < bytes.length; at += 100_000) {
    await file.write(bytes.subarray(at, at + 100_000));
  }
  return file.finish();
}

Deno.test("a spilled image is moved into place, never over another file", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = new Uint8Array(250_001).map((_, i) => i % 253);
  const image = await spill(dir, bytes);
  const temporary = image.path!;
  assert.deepEqual([image.size, image.head.length], [bytes.length, 65_536]);
  await Deno.writeTextFile(join(dir, "taken.png"), "someone else's");
  await assert.rejects(image.place(join(dir, "taken.png")), Deno.errors.AlreadyExists);
  assert.equal(await Deno.readTextFile(join(dir, "taken.png")), "someone else's");
  await image.place(join(dir, "mine.png"));
  assert.deepEqual(await Deno.readFile(join(dir, "mine.png")), bytes);
  await assert.rejects(Deno.stat(temporary), Deno.errors.NotFound, "moved, not copied");
  await image.release(); // what a call does at its end: the placed file stays
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["mine.png", "taken.png"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a spill file never removes a file it did not create; its own go on discard", async () => {
  const dir = await Deno.makeTempDir();
  const clash = new SpillFile(dir);
  await Deno.writeTextFile(clash.path, "another call's");
  await assert.rejects(
    clash.write(new Uint8Array(10)),
    (e) => e instanceof ToolError && e.message.startsWith(`Could not save the image in ${dir}:`),
  );
  await clash.discard();
  assert.equal(await Deno.readTextFile(clash.path), "another call's");
  const own = new SpillFile(dir);
  await own.write(new Uint8Array(10));
  await own.discard();
  await assert.rejects(Deno.stat(own.path), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("saving spilled images moves them under fresh names, retrying a taken stem", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = new Uint8Array(70_000).fill(7);
  await Deno.writeTextFile(join(dir, "turn.png"), "turn 1");
  const [saved] = await saveImages(dir, [{
    image: await spill(dir, bytes),
    mimeType: "image/png",
    ext: "png",
    stem: "turn",
  }]);
  assert.match(saved.filename, /^turn-[0-9a-f]{6}\.png$/);
  assert.equal(saved.size_bytes, bytes.length);
  assert.deepEqual(await Deno.readFile(saved.file_path), bytes);
  assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a spilled image inlines in full from its file, exactly, whatever its length", async () => {
  const dir = await Deno.makeTempDir();
  const png = makePng(1100, 700); // ~2 MB: several reads of 768 KB, not a multiple of 3
  const saved = await spill(dir, png);
  await saved.place(join(dir, "saved.png"));
  const { images } = await inlineImages([{ image: saved, info: sniffImage(png)! }], {
    mode: "full",
    budgetBytes: 1,
  });
  assert.equal(images[0].data, encodeBase64(png));
  assert.equal(images[0].bytes, png.length);
  await Deno.remove(dir, { recursive: true });
});
