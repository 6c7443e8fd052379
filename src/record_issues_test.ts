import assert from "node:assert/strict";
import { z } from "./deps.ts";
import { describeIssues } from "./record_issues.ts";

Deno.test("a record's problems read as path: rule, the first three only, the whole record by name", () => {
  const schema = z.object({
    a: z.number(),
    b: z.object({ c: z.string() }),
    d: z.boolean(),
    e: z.null(),
  });
  const cases: [name: string, value: unknown, expected: RegExp][] = [
    ["a nested field", { a: 1, b: { c: 2 }, d: true, e: null }, /^b\.c: [^;]+$/],
    ["four problems", { a: "x", b: {}, d: 1, e: 0 }, /^a: [^;]+; b\.c: [^;]+; d: [^;]+$/],
    ["not an object", "text", /^ledger: /],
  ];
  for (const [name, value, expected] of cases) {
    const parsed = schema.safeParse(value);
    assert.ok(!parsed.success, name);
    assert.match(describeIssues(parsed.error, "ledger"), expected, name);
  }
});
