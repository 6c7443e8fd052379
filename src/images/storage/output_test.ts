import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "npm:fast-check@4.10.2";
import { loadConfig } from "../../config.ts";
import { ToolError } from "../../errors.ts";
import {
  defaultOutputDir,
  defaultProject,
  expandHome,
  findGitRoot,
  imageFilename,
  projectFolderName,
  sanitizePrefix,
  saveImages,
} from "./output.ts";
import { ImagePayload } from "./received.ts";

Deno.test("filenames have the reference's shape, and n names differ", () => {
  const date = new Date(2026, 3, 22, 15, 3, 1);
  assert.match(imageFilename({ ext: "png", date }), /^image-20260422-150301-[0-9a-f]{6}\.png$/);
  assert.match(
    imageFilename({ ext: "jpeg", date, prefix: "hero banner" }),
    /^image-20260422-150301-[0-9a-f]{6}-hero-banner\.jpeg$/,
  );
  const names = new Set(Array.from({ length: 50 }, () => imageFilename({ ext: "png", date })));
  assert.equal(names.size, 50);
});

Deno.test("property: a sanitised prefix can never leave the folder", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 100 }), (prefix) => {
      const clean = sanitizePrefix(prefix);
      assert.match(clean, /^[A-Za-z0-9._-]*$/);
      assert.ok(!clean.includes("..") && !clean.startsWith(".") && clean.length <= 64);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("the default folder is <config>/gpt-image-2-mcp/output/<git root name>-<hash>", async () => {
  const root = await Deno.makeTempDir({ prefix: "proj-" });
  await Deno.mkdir(join(root, ".git"));
  await Deno.mkdir(join(root, "a", "b"), { recursive: true });
  const env: Record<string, string> = { HOME: "/home/u" };
  const config = loadConfig({ cwd: root, env: (n) => env[n] });
  const project = await projectFolderName(root);
  const fromRoot = defaultOutputDir(config, project);
  assert.equal(findGitRoot(join(root, "a", "b")), root);
  assert.equal(await projectFolderName(join(root, "a", "b")), project);
  assert.match(
    fromRoot,
    new RegExp(`^/home/u/\\.config/gpt-image-2-mcp/output/proj-[^/]+-[0-9a-f]{8}$`),
  );
  const xdg: Record<string, string> = {
    HOME: "/home/u",
    XDG_CONFIG_HOME: "/xdg",
    GPT_IMAGE_2_OUTPUT_DIR: "rel/out",
  };
  const overridden = loadConfig({ cwd: "/work", env: (n) => xdg[n] });
  assert.equal(await defaultProject(overridden), "", "no project folder when overridden");
  assert.equal(defaultOutputDir(overridden, await defaultProject(overridden)), "/work/rel/out");
  assert.equal(await defaultProject(config), project);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a project's folder name stays what earlier versions chose (sessions live in it)", async () => {
  // sha256("/nonexistent/my project") starts ca661093: the name must not change across releases.
  assert.equal(await projectFolderName("/nonexistent/my project"), "my-project-ca661093");
});

Deno.test("saveImages is all or nothing", async () => {
  const dir = await Deno.makeTempDir();
  const image = {
    image: ImagePayload.inMemory(new Uint8Array([1, 2, 3])),
    mimeType: "image/png",
    ext: "png",
  };
  await assert.rejects(
    saveImages(dir, [image, { ...image, stem: "x".repeat(300) }]), // ENAMETOOLONG on the second
    (e) => e instanceof ToolError && /Could not save the image/.test(e.message),
  );
  assert.deepEqual([...Deno.readDirSync(dir)], []);
  const saved = await saveImages(dir, [image, image]);
  assert.equal(new Set(saved.map((s) => s.file_path)).size, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("~ expands to home only as a whole first segment", () => {
  const cases: [string, string | undefined, string][] = [
    ["~", "/home/u", "/home/u"],
    ["~/out", "/home/u", "/home/u/out"],
    ["~\\out", "/home/u", "/home/u\\out"],
    ["~user/out", "/home/u", "~user/out"],
    ["a/~/out", "/home/u", "a/~/out"],
    ["~/out", undefined, "~/out"],
  ];
  for (const [path, home, expected] of cases) assert.equal(expandHome(path, home), expected, path);
});
