/** The repository stands alone: no file points at notes that live outside it. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO } from "./harness.ts";

/** The notes beside the repository, which its files must not depend on. */
const OUTSIDE = [/\bAPI-NOTES\b/, /\bMCP-NOTES\b/, /\.\.\/shared\//];

Deno.test("no tracked file refers to the notes outside the repository", async () => {
  const listed = await new Deno.Command("git", { args: ["ls-files"], cwd: REPO, stdout: "piped" })
    .output();
  const files = new TextDecoder().decode(listed.stdout).split("\n")
    .filter((f) => /\.(ts|md|json|html|yml|yaml|sh)$/.test(f) || f.startsWith(".ci/"));
  assert.ok(files.length > 50, `${files.length} files listed`);
  const self = "tests/self_contained_test.ts";
  const offenders: string[] = [];
  for (const file of files.filter((f) => f !== self)) {
    const text = await Deno.readTextFile(join(REPO, file)).catch(() => "");
    for (const pattern of OUTSIDE) if (pattern.test(text)) offenders.push(`${file}: ${pattern}`);
  }
  assert.deepEqual(offenders, []);
});
