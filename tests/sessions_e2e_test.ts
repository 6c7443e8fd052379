/** Edit sessions end to end: turns, a second server process, serialisation, TTL, cap and ending. */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ImageJobResult } from "../src/tools/image_job.ts";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import { startServer, textOf, withServer } from "./harness.ts";

type SessionResult = ImageJobResult & { session_id: string; turn: number };

function structured(result: { structuredContent?: unknown }): SessionResult {
  return result.structuredContent as SessionResult;
}

Deno.test("a session started in one server process continues in the next", async () => {
  const fake = FakeOpenAI.start();
  const cwd = await Deno.makeTempDir({ prefix: "gi2-project-" });
  await Deno.mkdir(join(cwd, ".git"));
  await Deno.mkdir(join(cwd, "sub"));
  await Deno.writeFile(join(cwd, "sketch.png"), makePng(1024, 1536));
  const home = await Deno.makeTempDir({ prefix: "gi2-shared-home-" });
  const env = { HOME: home };
  const allowWrite = [join(home, ".config", "gpt-image-2-mcp")];
  try {
    const first = await startServer({ fake, cwd, env, allowWrite });
    const started = await first.call("start_edit_session", {
      prompt: "A coastal lighthouse at dawn, photorealistic",
      images: ["./sketch.png"],
      size: "1024x1536",
      quality: "medium",
    });
    await first.close();
    assert.equal(started.isError, undefined, textOf(started));
    const s1 = structured(started);
    assert.match(s1.session_id, /^edit-\d+-[0-9a-f]{8}$/);
    assert.equal(s1.turn, 1);
    assert.match(s1.images[0].filename, new RegExp(`^session-${s1.session_id}-turn1\\.png$`));
    assert.match(
      s1.images[0].file_path,
      /gpt-image-2-mcp\/output\/gi2-project-[^/]+-[0-9a-f]{8}\//,
    );

    const second = await startServer({ fake, cwd: join(cwd, "sub"), env, allowWrite });
    try {
      const listed = await second.call("list_edit_sessions", {});
      const sessions = (listed.structuredContent as {
        sessions: {
          session_id: string;
          turns: number;
          last_image: string;
          last_prompt: string;
        }[];
      }).sessions;
      assert.equal(sessions.length, 1, "the git root, not the sub-folder, names the project");
      assert.equal(sessions[0].session_id, s1.session_id);
      assert.equal(sessions[0].last_image, s1.images[0].file_path);
      assert.equal(sessions[0].last_prompt, "A coastal lighthouse at dawn, photorealistic");

      const continued = await second.call("continue_edit_session", {
        session_id: s1.session_id,
        prompt: "Make the sky more orange. Keep everything else the same.",
      });
      assert.equal(continued.isError, undefined, textOf(continued));
      const s2 = structured(continued);
      assert.equal(s2.turn, 2);
      assert.deepEqual(s2.requested, { size: "1024x1536", quality: "medium", n: 1, format: "png" });
      const turn2Input = fake.calls("edits")[1].files!.find((f) => f.field === "image[]")!;
      assert.equal(
        turn2Input.size,
        (await Deno.stat(s1.images[0].file_path)).size,
        "turn 1's output is turn 2's input",
      );

      const changed = await second.call("continue_edit_session", {
        session_id: s1.session_id,
        prompt: "Add a small boat on the horizon.",
        size: "1536x1024",
        output_format: "jpeg",
      });
      const s3 = structured(changed);
      assert.equal(s3.turn, 3);
      assert.equal(s3.applied.size, "1536x1024");
      assert.match(s3.images[0].filename, /turn3\.jpeg$/);

      const ended = await second.call("end_edit_session", { session_id: s1.session_id });
      assert.match(textOf(ended), /Ended session .* after 3 turn\(s\)/);
      const after = await second.call("continue_edit_session", {
        session_id: s1.session_id,
        prompt: "more",
      });
      assert.equal(after.isError, true);
      assert.match(
        textOf(after),
        /does not exist or has ended\. Start a new one with start_edit_session/,
      );
      const bogus = await second.call("continue_edit_session", {
        session_id: "../../etc/passwd",
        prompt: "x",
      });
      assert.match(textOf(bogus), /is not a session id/);
      assert.equal(fake.calls("edits").length, 3);
    } finally {
      await second.close();
    }
  } finally {
    await fake.close();
    await Deno.remove(cwd, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("two continue calls on one session run one after the other", () =>
  withServer({}, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const started = structured(
      await h.call("start_edit_session", { prompt: "start", images: ["a.png"] }),
    );
    fake.delayMs = 400;
    const [a, b] = await Promise.all([
      h.call("continue_edit_session", { session_id: started.session_id, prompt: "first" }),
      h.call("continue_edit_session", { session_id: started.session_id, prompt: "second" }),
    ]);
    assert.deepEqual([structured(a).turn, structured(b).turn].sort(), [2, 3]);
    const [, e2, e3] = fake.calls("edits");
    assert.ok(
      e3.startedAt >= e2.finishedAt!,
      "the second edit started after the first had finished",
    );
    const paths = [structured(a).images[0].file_path, structured(b).images[0].file_path];
    assert.notEqual(paths[0], paths[1]);
  }));

Deno.test("the session cap ends the least recently used session, and says so to the model", async () => {
  await withServer({ env: { GPT_IMAGE_2_SESSION_MAX: "2" } }, async (h) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.call("start_edit_session", {
        prompt: `s${i}`,
        images: ["a.png"],
        quality: "low",
      });
      ids.push(structured(r).session_id);
      if (i === 2) {
        const evicted = new RegExp(`ended the least recently used session\\(s\\) ${ids[0]}`);
        assert.match(structured(r).warnings.join(), evicted);
        assert.match(textOf(r), evicted, "the model reading the text sees it too");
      }
    }
    const listed = (await h.call("list_edit_sessions", {})).structuredContent as {
      sessions: { session_id: string }[];
    };
    assert.deepEqual(listed.sessions.map((s) => s.session_id).sort(), [ids[1], ids[2]].sort());
  });
});

Deno.test("an idle session expires with a message naming start_edit_session", async () => {
  await withServer({ env: { GPT_IMAGE_2_SESSION_TTL_MS: "1500" } }, async (h) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const r = await h.call("start_edit_session", {
      prompt: "s",
      images: ["a.png"],
      quality: "low",
    });
    // Longer than the TTL however slow the machine: the session cannot still be open.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const expired = await h.call("continue_edit_session", {
      session_id: structured(r).session_id,
      prompt: "x",
    });
    assert.equal(expired.isError, true);
    assert.match(
      textOf(expired),
      /expired after 1.5 s idle \(GPT_IMAGE_2_SESSION_TTL_MS\)\. Start a new one with start_edit_session/,
    );
    assert.match(textOf(await h.call("list_edit_sessions", {})), /No open edit sessions/);
  });
});
