/**
 * The conformance baseline stays complete: every server scenario of the pinned suite is either
 * one this server must pass or listed, with its reason, in tests/conformance/expected-failures.yml.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { networkEnv, REPO } from "./harness.ts";

/** The scenarios issue 19 requires to pass; they must never be in the baseline. */
const MUST_PASS = [
  "server-initialize",
  "ping",
  "tools-list",
  "logging-set-level",
  "resources-list",
  "dns-rebinding-protection",
];

async function suiteVersion(): Promise<string> {
  const script = await Deno.readTextFile(join(REPO, ".ci", "conformance"));
  const version = /^VERSION=(\S+)$/m.exec(script)?.[1];
  assert.ok(version, ".ci/conformance pins the suite's version");
  return version;
}

Deno.test("every conformance server scenario must pass or is listed with a reason", async () => {
  const output = await new Deno.Command("deno", {
    args: [
      "run",
      "--no-config",
      "--no-lock",
      "--no-prompt",
      "--allow-env",
      "--allow-sys",
      "--allow-read",
      `npm:@modelcontextprotocol/conformance@${await suiteVersion()}`,
      "list",
      "--server",
    ],
    env: networkEnv(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const scenarios = [...stdout.matchAll(/^ {2}- (\S+)/gm)].map((m) => m[1]);
  assert.ok(scenarios.length >= 30, stdout);

  const baseline = await Deno.readTextFile(
    join(REPO, "tests", "conformance", "expected-failures.yml"),
  );
  assert.match(baseline, /^server:$/m);
  const entries = [...baseline.matchAll(/^ {2}- (\S+)\s*$/gm)].map((m) => m[1]);
  assert.equal(new Set(entries).size, entries.length, "no entry twice");
  assert.deepEqual(
    entries.filter((e) => MUST_PASS.includes(e)),
    [],
    "required scenarios are not excused",
  );
  assert.deepEqual(
    entries.filter((e) => !scenarios.includes(e)),
    [],
    "no entry names a gone scenario",
  );
  assert.deepEqual(
    scenarios.filter((s) => !MUST_PASS.includes(s) && !entries.includes(s)),
    [],
    "every other scenario is listed",
  );
  // Each run of entries sits right under a comment giving the reason.
  const lines = baseline.split("\n");
  lines.forEach((line, i) => {
    if (!/^ {2}- /.test(line)) return;
    let above = i - 1;
    while (/^ {2}- /.test(lines[above])) above--;
    assert.match(lines[above], /^ {2}# \S/, `${line.trim()} has its reason above it`);
  });
});
