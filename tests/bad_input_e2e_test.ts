/** Bad input over all six tools: an error naming the input and its rule, no request sent, no file written. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { makePng } from "./fake/png.ts";
import { listFiles, textOf, withServer } from "./harness.ts";

/**
 * `expected` matches the argument's name and the rule's essence (its limit, type or options),
 * never the validator's own phrasing.
 */
type Case = [tool: string, args: Record<string, unknown>, expected: RegExp];

const PNG = "./in.png";
const ENDED = "edit-1761149123-0badc0de";

const CASES: Case[] = [
  ["generate_image", {}, /prompt: .*\bstring\b/],
  ["generate_image", { prompt: 5 }, /prompt: .*\bstring\b/],
  ["generate_image", { prompt: "" }, /prompt: .*\b1\b/],
  [
    "generate_image",
    { prompt: "x".repeat(32_001) },
    /prompt: .*\b32000\b/,
  ],
  ["generate_image", { prompt: "x", n: 0 }, /\bn: .*\b1\b/],
  ["generate_image", { prompt: "x", n: 11 }, /\bn: .*\b10\b/],
  ["generate_image", { prompt: "x", n: 1.5 }, /\bn: .*\bint/],
  [
    "generate_image",
    { prompt: "x", output_format: "jpeg", output_compression: 101 },
    /output_compression: .*\b100\b/,
  ],
  [
    "generate_image",
    { prompt: "x", output_format: "jpeg", output_compression: -1 },
    /output_compression: .*\b0\b/,
  ],
  [
    "generate_image",
    { prompt: "x", output_format: "bmp" },
    /output_format: .*"png".*"jpeg".*"webp".*"gif".*"svg"/,
  ],
  ["generate_image", { prompt: "x", quality: "ultra" }, /quality: .*"low".*"medium".*"high"/],
  ["generate_image", { prompt: "x", sise: "1024x1024" }, /"sise"/],
  [
    "generate_image",
    { prompt: "x", size: "1024x1023" },
    /size 1024x1023: both edges must be multiples of 16/,
  ],
  [
    "generate_image",
    { prompt: "x", filename_prefix: "../../.ssh/key" },
    /filename_prefix: must not contain "\/", "\\" or "\.\."/,
  ],
  ["generate_image", { prompt: "x", filename_prefix: "a\\b" }, /filename_prefix: must not contain/],
  [
    "generate_image",
    { prompt: "x", output_dir: "../../../../../../etc" },
    /output_dir "\/etc" is refused: it lies in \/etc/,
  ],
  [
    "generate_image",
    { prompt: "x", output_dir: "~/.ssh" },
    /output_dir ".*\/\.ssh" is refused: it lies in .*\/\.ssh, a sensitive system or user folder/,
  ],
  [
    "generate_image",
    { prompt: "x", output_dir: "/" },
    /output_dir "\/" is refused: pick a dedicated folder/,
  ],
  [
    "generate_image",
    { prompt: "x", output_dir: "/tmp/elsewhere-gi2" },
    /the server's write permission does not cover it\. Add --allow-write=\/tmp\/elsewhere-gi2/,
  ],
  [
    "generate_image",
    { prompt: "x", partial_images: 4 },
    /partial_images: .*\b3\b/,
  ],
  ["generate_image", { prompt: "x", inline: "huge" }, /inline: .*"full"/],
  ["edit_image", { prompt: "x" }, /images: .*\barray\b/],
  [
    "edit_image",
    { prompt: "x", images: "in.png" },
    /images: .*\barray\b/,
  ],
  [
    "edit_image",
    { prompt: "x", images: Array(9).fill(PNG) },
    /images: .*\b8\b/,
  ],
  [
    "edit_image",
    { prompt: "x", images: ["data:image/png;base64,!!!!"] },
    /images\[0\] .*: the data URL's payload is not valid base64/,
  ],
  [
    "edit_image",
    { prompt: "x", images: ["data:image/png,notbase64"] },
    /images\[0\] .*: a data URL must look like data:image\/png;base64/,
  ],
  [
    "edit_image",
    { prompt: "x", images: ["./notes.txt"] },
    /images\[0\] \(\.\/notes\.txt\): not a PNG, JPEG or WebP image/,
  ],
  [
    "edit_image",
    { prompt: "x", images: [PNG], mask: "./small-mask.png" },
    /mask \(\.\/small-mask\.png\): the mask is 512x512 but images\[0\] is 1024x1024; they must match/,
  ],
  ["edit_image", { prompt: "x", images: [PNG], n: 11 }, /\bn: .*\b10\b/],
  [
    "start_edit_session",
    { prompt: "x", images: [] },
    /images: .*\b1\b/,
  ],
  [
    "start_edit_session",
    { prompt: "x", images: ["./notes.txt"] },
    /images\[0\] \(\.\/notes\.txt\): not a PNG, JPEG or WebP image/,
  ],
  ["start_edit_session", { prompt: "x", images: [PNG], n: 2 }, /"n"/],
  [
    "start_edit_session",
    { prompt: "x", images: [PNG], background: "transparent" },
    /background: "transparent" on gpt-image-2 is only .*models that offer it: gpt-image-2\.5/,
  ],
  [
    "continue_edit_session",
    { prompt: "x" },
    /session_id: .*\bstring\b/,
  ],
  [
    "continue_edit_session",
    { session_id: "nope", prompt: "x" },
    /session_id "nope" is not a session id/,
  ],
  ["continue_edit_session", { session_id: "../../etc/passwd", prompt: "x" }, /is not a session id/],
  [
    "continue_edit_session",
    { session_id: ENDED, prompt: "x" },
    /Session edit-1761149123-0badc0de does not exist or has ended\. Start a new one with start_edit_session/,
  ],
  [
    "continue_edit_session",
    { session_id: ENDED, prompt: "x", size: "160x160" },
    /size 160x160: total pixels must be between/,
  ],
  [
    "end_edit_session",
    { session_id: ENDED },
    /does not exist or has ended\. Start a new one with start_edit_session/,
  ],
  [
    "end_edit_session",
    { session_id: 42 },
    /session_id: .*\bstring\b/,
  ],
  ["list_edit_sessions", { all: true }, /"all"/],
];

Deno.test("bad input to every tool: an error naming the input and its rule, no request, no file", () =>
  withServer({}, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "in.png"), makePng(1024, 1024));
    await Deno.writeFile(join(h.cwd, "small-mask.png"), makePng(512, 512, { alpha: true }));
    await Deno.writeTextFile(join(h.cwd, "notes.txt"), "not an image");
    const rows: string[] = [];
    for (const [tool, args, expected] of CASES) {
      const result = await h.call(tool, args);
      const text = textOf(result);
      rows.push(`${tool} ${JSON.stringify(args).slice(0, 60)} -> ${text.slice(0, 100)}`);
      assert.equal(result.isError, true, `${tool} ${JSON.stringify(args).slice(0, 80)}`);
      assert.match(text, expected, `${tool} ${JSON.stringify(args).slice(0, 80)}`);
    }
    console.log(rows.join("\n"));
    assert.equal(fake.requests.length, 0, "no request reached the API");
    assert.deepEqual(await listFiles(h.configRoot), [], "nothing written");
    assert.deepEqual((await listFiles(h.cwd)).sort(), ["in.png", "notes.txt", "small-mask.png"]);
    const again = await h.call("generate_image", {
      prompt: "still alive",
      quality: "low",
      inline: "none",
    });
    assert.equal(again.isError, undefined, "a bad call never ends the process");
  }));
