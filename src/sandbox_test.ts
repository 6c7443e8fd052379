import assert from "node:assert/strict";
import { join } from "node:path";
import { ToolError } from "./errors.ts";
import {
  grantedRoot,
  isInside,
  realPathOf,
  samePath,
  vetReadPath,
  vetWritePath,
  vetWritePathSync,
} from "./sandbox.ts";

/** [path, dir, inside when case matters, inside when it does not]. */
const INSIDE: [string, string, boolean, boolean][] = [
  ["/home/u/.ssh", "/home/u/.ssh", true, true],
  ["/home/u/.ssh/id_rsa", "/home/u/.ssh", true, true],
  ["/home/u/.SSH/id_rsa", "/home/u/.ssh", false, true],
  ["/Users/U/Library/Keychains/x", "/Users/u/library/keychains", false, true],
  ["/home/u/.sshx", "/home/u/.ssh", false, false],
  ["/home/u", "/home/u/.ssh", false, false],
  ["/etc/passwd", "/etc/", true, true],
  ["/ETC", "/etc", false, true],
];

Deno.test("folder containment compares case-insensitively exactly when the file system does", () => {
  for (const [path, dir, sensitive, insensitive] of INSIDE) {
    assert.equal(isInside(path, dir, { caseInsensitive: false }), sensitive, `${path} in ${dir}`);
    assert.equal(isInside(path, dir, { caseInsensitive: true }), insensitive, `${path} in ${dir}`);
  }
  assert.equal(samePath("/Home/U", "/home/u", { caseInsensitive: true }), true);
  assert.equal(samePath("/Home/U", "/home/u", { caseInsensitive: false }), false);
  const expected = Deno.build.os === "darwin" || Deno.build.os === "windows";
  assert.equal(isInside("/A/b", "/a"), expected, "the default follows Deno.build.os");
});

/** A temporary tree: `home` with a `.ssh` folder, `scope`, and `outside`. */
async function tree(): Promise<{ root: string; home: string; scope: string; outside: string }> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "gi2-sandbox-" }));
  const home = join(root, "home");
  const scope = join(root, "scope");
  const outside = join(root, "outside");
  for (const dir of [join(home, ".ssh"), join(home, ".aws"), scope, outside]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  return { root, home, scope, outside };
}

Deno.test("a real path resolves every link, a dangling one too, and keeps the missing rest", async () => {
  const { root, scope, outside } = await tree();
  try {
    await Deno.symlink(outside, join(scope, "link"));
    await Deno.symlink("../outside/new", join(scope, "dangling"));
    await Deno.symlink(join(scope, "link"), join(scope, "chain"));
    await Deno.symlink(join(scope, "loop-b"), join(scope, "loop-a"));
    await Deno.symlink(join(scope, "loop-a"), join(scope, "loop-b"));
    await Deno.writeTextFile(join(scope, "file"), "x");
    const cases: [string, string][] = [
      [join(scope, "plain", "not", "yet"), join(scope, "plain", "not", "yet")],
      [join(scope, "link"), outside],
      [join(scope, "link", "a", "b"), join(outside, "a", "b")],
      [join(scope, "chain", "a"), join(outside, "a")],
      [join(scope, "dangling", "x.png"), join(outside, "new", "x.png")],
      [join(scope, "file", "under"), join(scope, "file", "under")],
      [join(scope, "sub", "..", "link"), outside],
    ];
    for (const [path, expected] of cases) assert.equal(realPathOf(path), expected, path);
    assert.throws(() => realPathOf(join(scope, "loop-a", "x")), Deno.errors.FilesystemLoop);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a write is refused when its real path lies in a sensitive folder, home or outside `within`", async () => {
  const { root, home, scope, outside } = await tree();
  try {
    await Deno.symlink(join(home, ".ssh"), join(scope, "keys"));
    await Deno.symlink(home, join(scope, "home-link"));
    await Deno.symlink(outside, join(scope, ".sessions"));
    await Deno.symlink(join(scope, "real"), join(scope, "inner"));
    const refused: [string, { within?: string }, RegExp][] = [
      [
        join(scope, "keys"),
        {},
        /^output_dir ".*\/scope\/keys" \(really .*\/home\/\.ssh\) is refused: it lies in .*\/home\/\.ssh, a sensitive system or user folder\. No flag allows writing there/,
      ],
      [join(scope, "keys", "new", "deeper"), {}, /it lies in .*\/home\/\.ssh/],
      [join(scope, "home-link", ".aws"), {}, /\(really .*\/home\/\.aws\) is refused: it lies in/],
      [join(scope, "home-link"), {}, /is refused: pick a dedicated folder, not \/ or home/],
      [
        join(scope, ".sessions"),
        { within: scope },
        /^output_dir ".*\/scope\/\.sessions" \(really .*\/outside\) is refused: a symbolic link leads it out of .*\/scope, where the server keeps its state\. Remove the link\./,
      ],
    ];
    for (const [path, options, expected] of refused) {
      assert.throws(
        () => vetWritePathSync(path, { label: "output_dir", home, ...options }),
        (e) => e instanceof ToolError && expected.test(e.message),
        path,
      );
    }
    assert.equal(
      vetWritePathSync(join(scope, "inner", "x"), { label: "output_dir", home, within: scope }),
      join(scope, "real", "x"),
    );
    await assert.rejects(
      vetWritePath(join(scope, "keys"), { label: "ledger", home }),
      (e) => e instanceof ToolError && /^ledger ".*" \(really/.test(e.message),
    );
    assert.equal(
      await vetWritePath(join(outside, "a"), { label: "ledger", home }),
      join(outside, "a"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an input is refused when its real path lies in a secret folder", async () => {
  const { root, home, scope } = await tree();
  try {
    await Deno.writeTextFile(join(home, ".aws", "credentials"), "sk-secret");
    await Deno.symlink(join(home, ".aws", "credentials"), join(scope, "logo.png"));
    await Deno.writeTextFile(join(scope, "ok.png"), "x");
    for (const path of [join(scope, "logo.png"), join(home, ".aws", "credentials")]) {
      await assert.rejects(
        vetReadPath(path, { label: "images[0]", home }),
        (e) =>
          e instanceof ToolError &&
          /^images\[0\]: .* is refused: it lies in .*\/home\/\.aws, a folder of keys/.test(
            e.message,
          ),
      );
    }
    assert.equal(
      await vetReadPath(join(scope, "ok.png"), { label: "images[0]", home }),
      join(scope, "ok.png"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// Folders for the scoped test, made before it is registered: its permissions name them.
const SCOPED = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "gi2-scoped-" }));
const SCOPE = join(SCOPED, "scope");
const SCOPE_LINK = join(SCOPED, "scope-link");

Deno.test({
  name: "under a scoped --allow-write a link out of the scope is refused, naming the flag to add",
  permissions: { read: true, write: [SCOPE] },
  fn() {
    const outside = join(SCOPED, "outside");
    assert.equal(grantedRoot("write", join(SCOPE, "a", "b")), SCOPE);
    assert.equal(grantedRoot("write", outside), undefined);
    assert.throws(
      () => vetWritePathSync(join(SCOPE, "link", "x"), { label: "output_dir" }),
      (e) =>
        e instanceof ToolError &&
        e.message.includes(
          `output_dir "${join(SCOPE, "link", "x")}" (really ${join(outside, "x")}) is refused: ` +
            `a symbolic link leads it outside the server's write scope. ` +
            `Add --allow-write=${join(outside, "x")} (or a parent folder)`,
        ),
    );
    assert.throws(
      () => vetWritePathSync(outside, { label: "output_dir" }),
      (e) => e instanceof ToolError && /write permission does not cover it/.test(e.message),
    );
    assert.equal(
      vetWritePathSync(join(SCOPE, "inner", "y"), { label: "output_dir" }),
      join(SCOPE, "real", "y"),
    );
  },
});

Deno.test({
  name: "a scope granted by a linked name covers its real folder (macOS's /var is /private/var)",
  permissions: { read: true, write: [SCOPE_LINK] },
  fn() {
    assert.equal(grantedRoot("write", join(SCOPE_LINK, "x")), SCOPE_LINK);
    assert.equal(
      vetWritePathSync(join(SCOPE_LINK, "x"), { label: "output_dir" }),
      join(SCOPE, "x"),
    );
    assert.throws(
      () => vetWritePathSync(join(SCOPE_LINK, "link", "x"), { label: "output_dir" }),
      (e) => e instanceof ToolError && /leads it outside the server's write scope/.test(e.message),
    );
  },
});

Deno.test.beforeAll(async () => {
  await Deno.mkdir(join(SCOPED, "outside"), { recursive: true });
  await Deno.mkdir(join(SCOPE, "real"), { recursive: true });
  await Deno.symlink(join(SCOPED, "outside"), join(SCOPE, "link"));
  await Deno.symlink(join(SCOPE, "real"), join(SCOPE, "inner"));
  await Deno.symlink(SCOPE, SCOPE_LINK);
});

Deno.test.afterAll(async () => {
  await Deno.remove(SCOPED, { recursive: true });
});
