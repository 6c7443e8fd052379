import assert from "node:assert/strict";
import { turnOfFile } from "./session_images.ts";

const ID = "s-abc123";

Deno.test("turnOfFile: a session's turn images, not its partials nor other files", () => {
  const cases: [string, number | undefined][] = [
    [`session-${ID}-turn1.png`, 1],
    [`session-${ID}-turn12.jpeg`, 12],
    [`session-${ID}-turn3-logo.webp`, 3],
    [`session-${ID}-turn2-9f3a1c.png`, 2],
    [`session-${ID}-turn2-partial1.png`, undefined],
    [`session-${ID}-turn2-partial1-attempt2.png`, undefined],
    [`session-${ID}-turn2.txt`, undefined],
    [`session-${ID}x-turn2.png`, undefined],
    [`session-other-turn2.png`, undefined],
    ["image-20260101-000000-abcdef.png", undefined],
  ];
  for (const [name, turn] of cases) assert.equal(turnOfFile(name, ID), turn, name);
});
