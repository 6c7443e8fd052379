/** `serve --http` end to end: v2's client over Streamable HTTP on loopback, under the HTTP profile. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { TOOL_SPECS } from "../src/tools/specs.ts";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import { textOf, waitFor } from "./harness.ts";
import { freePort, type HttpHarness, startHttpServer, withHttpServer } from "./http_harness.ts";
import { type OAuthServer, startOAuthServer } from "./fixtures/oauth_server.ts";
import type { CallToolResult, Client } from "./mcp_client.ts";

const TOKEN = "static-token-0123456789abcdef0123456789";

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function linkUris(result: CallToolResult): string[] {
  return result.content.flatMap((c: CallToolResult["content"][number]) =>
    c.type === "resource_link" ? [c.uri] : []
  );
}

function structured(result: CallToolResult): Record<string, unknown> {
  return result.structuredContent as Record<string, unknown>;
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  return await client.callTool({ name, arguments: args }, { timeout: 60_000 });
}

async function readBytes(client: Client, uri: string): Promise<Uint8Array> {
  const { contents } = await client.readResource({ uri });
  const [content] = contents as { blob: string }[];
  return Uint8Array.from(atob(content.blob), (c) => c.charCodeAt(0));
}

/**
 * One POST written whole over a fresh connection, then its answer read: `fetch` sets its own
 * Host header and fails on a refusal that arrives before the body is sent.
 */
async function rawPost(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = [
    `POST ${path} HTTP/1.1`,
    ...Object.entries({
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "content-length": String(body.length),
      connection: "close",
      ...headers,
    }).map(([k, v]) => `${k}: ${v}`),
  ].join("\r\n");
  const writing = conn.write(new TextEncoder().encode(`${head}\r\n\r\n${body}`)).catch(() => 0);
  let text = "";
  const buffer = new Uint8Array(65536);
  while (true) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  await writing;
  conn.close();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const rest = text.slice(text.indexOf("\r\n\r\n") + 4);
  // A chunked body: the JSON lies between the first chunk size line and the next.
  const json = /^[0-9a-f]+\r\n([\s\S]*?)\r\n/i.exec(rest)?.[1] ?? rest;
  return { status, body: json };
}

async function withFake(body: (fake: FakeOpenAI) => Promise<void>): Promise<void> {
  const fake = FakeOpenAI.start();
  try {
    await body(fake);
  } finally {
    await fake.close();
  }
}

Deno.test("http: v2's client calls every tool over Streamable HTTP; image:// links read back byte for byte and work as edit inputs", () =>
  withFake((fake) =>
    withHttpServer({ fake, env: { GPT_IMAGE_2_DETACH_AFTER_S: "5" } }, async (h) => {
      const client = await h.connect();
      const called = new Set<string>();
      const run = async (name: string, args: Record<string, unknown>) => {
        called.add(name);
        return await call(client, name, args);
      };
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_SPECS.map((s) => s.name).sort());

      const generated = await run("generate_image", { prompt: "a cat", quality: "low" });
      assert.equal(generated.isError, undefined, textOf(generated));
      const [uri] = linkUris(generated);
      assert.match(uri, /^image:\/\//);
      // A remote caller has no access to the server's disk: the text names the image by its URI.
      assert.match(
        textOf(generated),
        new RegExp(`^Saved: ${uri.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `, "m"),
      );
      const file = (structured(generated).images as { file_path: string }[])[0].file_path;
      assert.ok(!textOf(generated).includes(file), "the server's path is not in the text");
      assert.ok(file.startsWith(`${h.configRoot}/principals/local/`), file);
      assert.equal(sha256(await readBytes(client, uri)), sha256(await Deno.readFile(file)));
      const listed = await client.request({ method: "resources/list", params: {} });
      assert.deepEqual(listed.resources.map((r) => r.uri), [uri]);

      const edited = await run("edit_image", { prompt: "hat", images: [uri] });
      assert.equal(edited.isError, undefined, textOf(edited));
      const [upload] = fake.calls("edits").at(-1)!.files!;
      assert.equal(upload.sha256, sha256(await Deno.readFile(file)));

      const started = await run("start_edit_session", { prompt: "start", images: [uri] });
      assert.equal(started.isError, undefined, textOf(started));
      const sessionId = structured(started).session_id as string;
      const next = await run("continue_edit_session", { session_id: sessionId, prompt: "more" });
      assert.equal(next.isError, undefined, textOf(next));
      // The viewer's own tool: the session's turns, as the links of its two results.
      const turns = await run("get_session_images", { session_id: sessionId });
      assert.deepEqual(
        (structured(turns).turns as { uri: string }[]).map((t) => t.uri),
        [linkUris(started)[0], linkUris(next)[0]],
      );
      const sessions = await run("list_edit_sessions", {});
      assert.match(textOf(sessions), new RegExp(sessionId));
      const ended = await run("end_edit_session", { session_id: sessionId });
      assert.equal(ended.isError, undefined, textOf(ended));

      fake.delayMs = 7000;
      const detached = await run("generate_image", { prompt: "slow", quality: "low" });
      const jobId = structured(detached).job_id as string;
      assert.ok(jobId, `a job: ${textOf(detached)}`);
      let done = await run("get_image_job", { job_id: jobId });
      while (structured(done).status === "running") {
        done = await run("get_image_job", { job_id: jobId });
      }
      assert.equal(done.isError, undefined, textOf(done));
      assert.match(linkUris(done)[0], /^image:\/\//);
      fake.delayMs = 0;
      const cancelled = await run("cancel_image_job", { job_id: jobId });
      assert.ok(textOf(cancelled).length > 0);
      assert.deepEqual([...called].sort(), TOOL_SPECS.map((s) => s.name).sort());

      // A path on the server and a folder outside the caller's are refused over HTTP.
      const path = await run("edit_image", { prompt: "x", images: [file.replace(/local/, "x")] });
      assert.equal(path.isError, true);
      assert.match(textOf(path), /images\[0\] .*paths on the server are not accepted/);
      const out = await run("generate_image", { prompt: "x", output_dir: "/tmp" });
      assert.equal(out.isError, true);
      assert.match(textOf(out), /^output_dir: /);
      // A link inside the caller's own folder that leads into another caller's is refused too.
      const outside = `${h.configRoot}/principals/someone-else`;
      await Deno.mkdir(outside, { recursive: true });
      await Deno.symlink(outside, `${h.configRoot}/principals/local/escape`);
      const linked = await run("generate_image", { prompt: "x", output_dir: "escape" });
      assert.equal(linked.isError, true, textOf(linked));
      assert.match(textOf(linked), /^output_dir ".*escape" \(really .*someone-else\) is refused/);
      assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing written through the link");

      const modern = await h.connect({ protocol: "2026-07-28" });
      const again = await call(modern, "generate_image", { prompt: "modern", quality: "low" });
      assert.equal(again.isError, undefined, textOf(again));
      const bytes = await readBytes(modern, linkUris(again)[0]);
      assert.equal(
        bytes.length,
        (structured(again).images as { size_bytes: number }[])[0].size_bytes,
      );
    })
  ));

Deno.test("http: a long call streaming progress over SSE runs to its end (Deno's legacy abort does not cut it)", () =>
  withFake((fake) =>
    withHttpServer({ fake, env: { GPT_IMAGE_2_PROGRESS_INTERVAL_MS: "100" } }, async (h) => {
      fake.delayMs = 1200;
      const client = await h.connect();
      let progress = 0;
      const result = await client.callTool({ name: "generate_image", arguments: { prompt: "p" } }, {
        timeout: 60_000,
        onprogress: () => void progress++,
      });
      assert.equal(result.isError, undefined, textOf(result));
      assert.ok(progress > 0, "progress arrived before the result");
      assert.equal(fake.calls("generations").filter((r) => r.aborted).length, 0);
    })
  ));

Deno.test("http: a static token is required when set; missing or wrong is 401 with a challenge", () =>
  withFake((fake) =>
    withHttpServer({ fake, env: { GPT_IMAGE_2_HTTP_TOKEN: TOKEN } }, async (h) => {
      const init = { jsonrpc: "2.0", id: 1, method: "ping" };
      const rows: [string, Record<string, string>][] = [
        ["no token", {}],
        ["a wrong token", { authorization: `Bearer ${TOKEN}x` }],
        ["not a bearer", { authorization: `Basic ${btoa("a:b")}` }],
      ];
      for (const [name, headers] of rows) {
        const response = await fetch(h.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(init),
        });
        assert.equal(response.status, 401, name);
        assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer /, name);
        const body = await response.json();
        assert.equal(body.error.code, -32000, name);
        assert.ok(!JSON.stringify(body).includes(TOKEN), `${name}: the token is not echoed`);
      }
      const client = await h.connect({ token: TOKEN });
      const result = await call(client, "generate_image", { prompt: "ok", quality: "low" });
      assert.equal(result.isError, undefined, textOf(result));
      assert.ok(!h.stderr().includes(TOKEN), "the token never reaches the log");
      for (const request of fake.requests) {
        assert.ok(!JSON.stringify(request).includes(TOKEN), "the token never reaches OpenAI");
      }
    })
  ));

Deno.test("http: a rebinding Host, a foreign Origin, an unknown path and an oversized body are refused", () =>
  withFake((fake) =>
    withHttpServer({ fake, env: { GPT_IMAGE_2_HTTP_MAX_BODY_BYTES: "65536" } }, async (h) => {
      const host = `127.0.0.1:${h.port}`;
      const rows: [string, Record<string, string>, string, string, number][] = [
        ["rebinding Host", { host: `evil.example:${h.port}` }, "/mcp", "{}", 403],
        ["foreign Origin", { host, origin: "https://evil.example" }, "/mcp", "{}", 403],
        ["unknown path", { host }, "/other", "{}", 404],
        ["oversized body", { host }, "/mcp", "x".repeat(70_000), 413],
      ];
      for (const [name, headers, path, body, status] of rows) {
        const answer = await rawPost(h.port, path, headers, body);
        assert.equal(answer.status, status, `${name}: ${answer.body}`);
        assert.equal(typeof JSON.parse(answer.body).error.message, "string", name);
      }
    })
  ));

Deno.test("http: without a token it refuses to listen beyond loopback, saying why", async () => {
  await withFake(async (fake) => {
    await assert.rejects(
      startHttpServer({ fake, serveArgs: ["--host", "0.0.0.0", "--port", "0"] }),
      /without authentication: set GPT_IMAGE_2_HTTP_TOKEN/,
    );
  });
});

Deno.test("http: the permission profile is enforced by Deno: a port outside --allow-net is refused", async () => {
  await withFake(async (fake) => {
    await assert.rejects(
      startHttpServer({ fake, serveArgs: ["--port", "1"] }),
      /cannot listen on 127\.0\.0\.1:1: .*net access/i,
    );
  });
});

Deno.test("http: data: URLs keep working as uploads", () =>
  withFake((fake) =>
    withHttpServer({ fake }, async (h) => {
      const client = await h.connect();
      const data = `data:image/png;base64,${btoa(String.fromCharCode(...makePng(64, 64)))}`;
      const edited = await call(client, "edit_image", { prompt: "from data", images: [data] });
      assert.equal(edited.isError, undefined, textOf(edited));
      const [upload] = fake.calls("edits").at(-1)!.files!;
      assert.equal(upload.sha256, sha256(makePng(64, 64)));
    })
  ));

/**
 * An authorization server on loopback and `serve --http` trusting it, whose audience is its own
 * `/mcp` URL on a free port: the scope `images` required, `ttlSeconds` the tokens' lifetime.
 */
async function withOAuth(
  options: { clients: string[]; ttlSeconds?: number },
  body: (
    h: HttpHarness,
    setup: { as: OAuthServer; fake: FakeOpenAI; port: number; audience: string; other: string },
  ) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const audience = `http://127.0.0.1:${port}/mcp`;
  const other = `http://127.0.0.1:${port}/other`;
  const spec = {
    scopes: ["images"],
    ...(options.ttlSeconds ? { ttlSeconds: options.ttlSeconds } : {}),
  };
  const as = await startOAuthServer({
    clients: options.clients,
    resources: { [audience]: spec, [other]: { scopes: ["images"] } },
  });
  try {
    await withFake((fake) =>
      withHttpServer({
        fake,
        port,
        allowNet: [as.host],
        env: {
          GPT_IMAGE_2_OAUTH_ISSUER: as.issuer,
          GPT_IMAGE_2_OAUTH_AUDIENCE: audience,
          GPT_IMAGE_2_OAUTH_SCOPE: "images",
        },
      }, (h) => body(h, { as, fake, port, audience, other }))
    );
  } finally {
    await as.close();
  }
}

Deno.test("http: OAuth: metadata, 401 with resource_metadata, wrong audience refused, real tokens accepted, and principals kept apart", () =>
  withOAuth({ clients: ["alice", "bob"] }, async (h, { as, fake, port, audience, other }) => {
    const metadata = await (await fetch(
      `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`,
    )).json();
    assert.equal(metadata.resource, audience);
    assert.deepEqual(metadata.authorization_servers, [as.issuer]);

    const wrongAudience = await as.token({ client: "alice", resource: other, scope: "images" });
    for (const [name, token] of [["none", undefined], ["wrong audience", wrongAudience]]) {
      const answer = await rawPost(port, "/mcp", {
        host: `127.0.0.1:${port}`,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      }, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
      assert.equal(answer.status, 401, `${name}: ${answer.body}`);
    }
    const challenge = await fetch(h.url, { method: "POST", body: "{}" });
    await challenge.body?.cancel();
    assert.match(
      challenge.headers.get("www-authenticate") ?? "",
      /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
    );

    const alice = await h.connect({
      token: await as.token({ client: "alice", resource: audience, scope: "images" }),
    });
    const bob = await h.connect({
      token: await as.token({ client: "bob", resource: audience, scope: "images" }),
    });
    const made = await call(alice, "start_edit_session", {
      prompt: "alice's",
      images: [`data:image/png;base64,${btoa(String.fromCharCode(...makePng(32, 32)))}`],
    });
    assert.equal(made.isError, undefined, textOf(made));
    const [uri] = linkUris(made);
    const sessionId = structured(made).session_id as string;
    assert.equal((await readBytes(alice, uri)).length > 0, true);

    // Bob sees nothing of Alice's: not her images, not her sessions.
    const listed = await bob.request({ method: "resources/list", params: {} });
    assert.deepEqual(listed.resources, []);
    await assert.rejects(bob.readResource({ uri }));
    const edit = await call(bob, "edit_image", { prompt: "steal", images: [uri] });
    assert.equal(edit.isError, true);
    const next = await call(bob, "continue_edit_session", {
      session_id: sessionId,
      prompt: "steal",
    });
    assert.equal(next.isError, true);
    assert.match(textOf(await call(bob, "list_edit_sessions", {})), /No open edit sessions/);
    const own = await call(alice, "continue_edit_session", {
      session_id: sessionId,
      prompt: "mine",
    });
    assert.equal(own.isError, undefined, textOf(own));
    for (const request of fake.requests) {
      assert.equal(request.authorization, `Bearer ${fake.apiKey}`, "only the API key");
    }

    // A save tells its own principal's listening clients, and nobody else's.
    const listening = async (client: "alice" | "bob") => {
      const c = await h.connect({
        token: await as.token({ client, resource: audience, scope: "images" }),
        protocol: "2026-07-28",
      });
      const heard: string[] = [];
      c.setNotificationHandler("notifications/resources/list_changed", () => {
        heard.push("list_changed");
      });
      const subscription = await c.listen({ resourcesListChanged: true });
      return { c, heard, subscription };
    };
    const [aliceEars, bobEars] = [await listening("alice"), await listening("bob")];
    const saved = await call(alice, "generate_image", {
      prompt: "alice again",
      quality: "low",
    });
    assert.equal(saved.isError, undefined, textOf(saved));
    assert.ok(await waitFor(() => aliceEars.heard.length > 0), "alice hears of her save");
    assert.deepEqual(bobEars.heard, [], "bob hears nothing of alice's save");
    for (const ears of [aliceEars, bobEars]) {
      await ears.subscription.close();
      await ears.c.close();
    }
  }));

Deno.test("http: OAuth: a token from the authorization server that has expired is refused with 401, saying so", () =>
  withOAuth({ clients: ["alice"], ttlSeconds: 1 }, async (_h, { as, port, audience }) => {
    const token = await as.token({ client: "alice", resource: audience, scope: "images" });
    const ping = async () => {
      const answer = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json, text/event-stream",
          "content-type": "application/json",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
      });
      const body = await answer.text();
      return { status: answer.status, body, challenge: answer.headers.get("www-authenticate") };
    };
    const fresh = await ping();
    assert.notEqual(fresh.status, 401, `a fresh token is accepted: ${fresh.body}`);
    // Past its 1 s lifetime and the server's 30 s clock tolerance: it cannot still be valid.
    await new Promise((resolve) => setTimeout(resolve, 32_000));
    const stale = await ping();
    assert.equal(stale.status, 401, stale.body);
    assert.match(stale.challenge ?? "", /error="invalid_token"/);
    assert.match(`${stale.challenge} ${stale.body}`, /expired/);
  }));
