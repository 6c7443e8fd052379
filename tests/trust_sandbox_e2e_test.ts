/**
 * The sandbox end to end: folder links cannot carry a write out of the scope or into a secret
 * folder (under the documented flags and the release binary's unscoped --allow-write), inputs
 * cannot come from secret folders and never echo their bytes, and redirects to internal
 * addresses written as IPv6 are refused.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeBase64 } from "../src/images/codecs/base64.ts";
import { projectFolderName } from "../src/images/storage/output.ts";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import { listFiles, startServer, textOf, withServer } from "./harness.ts";
import { InputServer, TEST_CA } from "./inputs_server.ts";

/** The flags a server runs under: the documented scoped ones, or the release binary's. */
const FLAGS: [name: string, allowWrite: string[] | undefined][] = [
  ["the documented scoped --allow-write", undefined],
  ["the release binary's unscoped --allow-write", []],
];

async function tempDir(prefix: string): Promise<string> {
  return await Deno.realPath(await Deno.makeTempDir({ prefix }));
}

for (const [flags, allowWrite] of FLAGS) {
  Deno.test(`under ${flags}, an output_dir linked to ~/.ssh is refused and nothing lands there`, async () => {
    await withServer({ allowWrite }, async (h, fake) => {
      const ssh = join(h.home, ".ssh");
      await Deno.mkdir(ssh);
      await Deno.symlink(ssh, join(h.cwd, "keys"));
      for (const outputDir of ["keys", "keys/new/deeper"]) {
        const result = await h.call("generate_image", { prompt: "x", output_dir: outputDir });
        assert.equal(result.isError, true, textOf(result));
        const real = join(ssh, outputDir.slice(5));
        assert.ok(
          textOf(result).includes(
            `output_dir "${join(h.cwd, outputDir)}" (really ${real}) is refused: it lies in ` +
              `${ssh}, a sensitive system or user folder. No flag allows writing there`,
          ),
          textOf(result),
        );
      }
      assert.deepEqual(await listFiles(ssh), [], "nothing written in ~/.ssh");
      assert.equal(fake.requests.length, 0, "nothing sent to the API");
    });
  });

  Deno.test(`under ${flags}, a .sessions link out of the output folder is refused`, async () => {
    await withServer({ allowWrite }, async (h, fake) => {
      const elsewhere = await tempDir("gi2-elsewhere-");
      try {
        const root = join(h.configRoot, "output", await projectFolderName(h.cwd));
        await Deno.mkdir(root, { recursive: true });
        await Deno.symlink(elsewhere, join(root, ".sessions"));
        await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
        const started = await h.call("start_edit_session", { prompt: "x", images: ["a.png"] });
        assert.equal(started.isError, true, textOf(started));
        assert.match(
          textOf(started),
          /session folder ".*\/\.sessions" \(really .*gi2-elsewhere-[^)]*\) is refused: a symbolic link leads it out of .*, where the server keeps its state\. Remove the link\./,
        );
        const listed = await h.call("list_edit_sessions", {});
        assert.equal(listed.isError, true, textOf(listed));
        assert.deepEqual(await listFiles(elsewhere), [], "no session record outside");
        assert.equal(fake.requests.length, 0, "refused before the API was paid");
      } finally {
        await Deno.remove(elsewhere, { recursive: true });
      }
    });
  });
}

Deno.test("under the documented flags, an output_dir linked out of the write scope is refused", async () => {
  await withServer({}, async (h, fake) => {
    const outside = await tempDir("gi2-outside-");
    try {
      await Deno.symlink(outside, join(h.cwd, "link"));
      for (const outputDir of ["link", "link/sub"]) {
        const result = await h.call("generate_image", { prompt: "x", output_dir: outputDir });
        assert.equal(result.isError, true, textOf(result));
        const real = join(outside, outputDir.slice(5));
        assert.ok(
          textOf(result).includes(
            `output_dir "${join(h.cwd, outputDir)}" (really ${real}) is refused: a symbolic ` +
              `link leads it outside the server's write scope. Add --allow-write=${real}`,
          ),
          textOf(result),
        );
      }
      assert.deepEqual(await listFiles(outside), [], "nothing written outside the scope");
      assert.equal(fake.requests.length, 0);
      const inside = await h.call("generate_image", { prompt: "x", output_dir: "plain" });
      assert.equal(inside.isError, undefined, textOf(inside));
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

const SECRET = "sk-secret-0123456789abcdefghij";

/** Every way the secret's bytes could be spelled in a message: text, hex, base64 at each offset. */
function secretForms(): string[] {
  const bytes = new TextEncoder().encode(SECRET);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0"));
  const base64 = [0, 1, 2].map((offset) => encodeBase64(bytes.subarray(offset)).slice(2, 14));
  return [
    SECRET.slice(0, 6),
    "secret",
    hex.slice(0, 4).join(" "),
    hex.slice(0, 4).join(""),
    hex.slice(0, 4).join(":"),
    ...base64,
  ];
}

function assertNoSecret(text: string): void {
  for (const form of secretForms()) {
    assert.ok(!text.toLowerCase().includes(form.toLowerCase()), `"${form}" in: ${text}`);
  }
}

Deno.test("inputs from secret folders are refused and no input's bytes are ever echoed", async () => {
  await withServer({}, async (h, fake) => {
    await Deno.mkdir(join(h.home, ".aws"));
    await Deno.mkdir(join(h.home, ".ssh"));
    await Deno.writeTextFile(join(h.home, ".aws", "credentials"), `${SECRET}\n`);
    // A valid image is no exception: it would be uploaded.
    await Deno.writeFile(join(h.home, ".ssh", "key.png"), makePng(1024, 1024, { alpha: true }));
    await Deno.symlink(join(h.home, ".aws", "credentials"), join(h.cwd, "logo.png"));
    await Deno.writeTextFile(join(h.cwd, "notes.png"), `${SECRET}\n`);
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const aws = join(h.home, ".aws").replaceAll(".", "\\.");
    const ssh = join(h.home, ".ssh").replaceAll(".", "\\.");
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { images: ["~/.aws/credentials"] },
        new RegExp(
          `^images\\[0\\] \\(~/\\.aws/credentials\\): .*credentials is refused: it lies in ${aws}, a folder of keys`,
        ),
      ],
      [{ images: [join(h.home, ".aws", "credentials")] }, new RegExp(`it lies in ${aws}`)],
      [
        { images: ["logo.png"] },
        new RegExp(
          `^images\\[0\\] \\(logo\\.png\\): .*logo\\.png \\(really .*credentials\\) is refused: it lies in ${aws}`,
        ),
      ],
      [{ images: ["a.png", "~/.ssh/key.png"] }, new RegExp(`^images\\[1\\] .* it lies in ${ssh}`)],
      [{ images: ["a.png"], mask: "~/.ssh/key.png" }, new RegExp(`^mask .* it lies in ${ssh}`)],
      [
        { images: ["notes.png"] },
        /^images\[0\] \(notes\.png\): not a PNG, JPEG or WebP image \(it looks like a text file\)\.$/,
      ],
    ];
    for (const [args, expected] of cases) {
      const result = await h.call("edit_image", { prompt: "x", ...args });
      assert.equal(result.isError, true, JSON.stringify(args));
      assert.match(textOf(result), expected);
      assertNoSecret(JSON.stringify(result));
    }
    assertNoSecret(h.stderr());
    assert.equal(fake.requests.length, 0, "nothing was uploaded");
  });
});

/** Redirect targets that embed loopback, metadata or private IPv4, and what the refusal names. */
const EMBEDDED: [target: string, named: string][] = [
  ["[::7f00:1]", "[::7f00:1]"],
  ["[::127.0.0.1]", "[::7f00:1]"],
  ["[::ffff:0:7f00:1]", "[::ffff:0:7f00:1]"],
  ["[64:ff9b::a9fe:a9fe]", "[64:ff9b::a9fe:a9fe]"],
  ["[64:ff9b:1::a00:1]", "[64:ff9b:1::a00:1]"],
  ["[fec0::1]", "[fec0::1]"],
  ["[2002:7f00:1::1]", "[2002:7f00:1::1]"],
  ["[2001:0:4136:e378:8000:63bf:80ff:fffe]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]"],
];

Deno.test("redirects to IPv4-embedding IPv6 and site-local addresses are refused as internal", async () => {
  const fake = FakeOpenAI.start();
  const inputs = new InputServer();
  inputs.files.set("a.png", makePng(1024, 1024));
  const h = await startServer({
    fake,
    allowNet: [inputs.host],
    env: { DENO_CERT: TEST_CA, GPT_IMAGE_2_INPUT_HOST_ALLOWLIST: inputs.host },
  });
  try {
    const port = inputs.host.split(":")[1];
    for (const [target, named] of EMBEDDED) {
      const to = `https://${target}:${port}/f/a.png`;
      for (const source of [`${inputs.origin}/redirect?to=${encodeURIComponent(to)}`, to]) {
        const result = await h.call("edit_image", { prompt: "x", images: [source] });
        assert.equal(result.isError, true, source);
        assert.ok(
          textOf(result).includes(`${named} is an internal address`),
          `${source}: ${textOf(result)}`,
        );
      }
    }
    assert.ok(inputs.hits.every((hit) => hit.startsWith("/redirect")), "no target was fetched");
    const malformed: [string, RegExp][] = [
      [
        "https://exa mple.com/a.png",
        /^images\[0\] \(https:\/\/exa mple\.com\/a\.png\): not a valid URL\.$/,
      ],
      ["https://[::1/a.png", /^images\[0\] \(https:\/\/\[::1\/a\.png\): not a valid URL\.$/],
      [
        `${inputs.origin}/redirect?to=${encodeURIComponent("https://[::1")}`,
        /^images\[0\] \(.*\): it redirects to "https:\/\/\[::1", not a valid URL\.$/,
      ],
    ];
    for (const [source, expected] of malformed) {
      const result = await h.call("edit_image", { prompt: "x", images: [source] });
      assert.equal(result.isError, true, source);
      assert.match(textOf(result), expected);
    }
    assert.equal(fake.requests.length, 0);
  } finally {
    await h.close();
    await inputs.close();
    await fake.close();
  }
});

Deno.test("a spend ledger that is a link out of the output root is refused under a budget, and nothing is sent", async () => {
  const outside = await Deno.makeTempDir({ prefix: "gi2-ledger-target-" });
  await withServer({ env: { GPT_IMAGE_2_BUDGET_USD: "5" } }, async (h, fake) => {
    await Deno.mkdir(h.configRoot, { recursive: true });
    await Deno.symlink(
      join(outside, "ledger.json"),
      join(h.configRoot, ".gpt-image-2-ledger.json"),
    );
    const result = await h.call("generate_image", { prompt: "a lantern", quality: "low" });
    assert.equal(result.isError, true, textOf(result));
    assert.match(textOf(result), /spend ledger ".*" \(really .*gi2-ledger-target-.*\) is refused/);
    assert.equal(fake.requests.length, 0, "nothing was sent");
    assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing was written through the link");
  });
  await Deno.remove(outside, { recursive: true });
});
