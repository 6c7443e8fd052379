import assert from "node:assert/strict";
import { type HttpEnvName, loadHttpConfig } from "./config.ts";
import { bufferBody, checkHeaders, type GuardPolicy, guardPolicy } from "./guard.ts";

function policy(env: Partial<Record<HttpEnvName, string>> = {}, port = 8787): GuardPolicy {
  return guardPolicy(loadHttpConfig((name) => env[name]), { port });
}

function post(headers: Record<string, string>, body: BodyInit | null = "{}"): Request {
  return new Request("http://127.0.0.1:8787/mcp", { method: "POST", headers, body });
}

async function refusalOf(response: Response | Request | undefined) {
  assert.ok(response instanceof Response, "expected a refusal");
  const body = await response.json();
  assert.equal(body.jsonrpc, "2.0");
  assert.equal(body.id, null);
  assert.equal(body.error.code, -32000);
  assert.match(body.error.message, /^[^\n]+\.$/, "one sentence");
  return { status: response.status, message: body.error.message as string };
}

Deno.test("a loopback server answers to its loopback names on its own port", () => {
  const p = policy();
  for (const host of ["127.0.0.1:8787", "localhost:8787", "LOCALHOST:8787", "[::1]:8787"]) {
    assert.equal(checkHeaders(post({ host }), p), undefined, host);
    assert.equal(checkHeaders(post({ host, origin: `http://${host}` }), p), undefined, host);
  }
});

Deno.test("a rebinding Host, another port or a foreign Origin is refused with 403 naming the header", async () => {
  const p = policy();
  const cases: [Record<string, string>, RegExp][] = [
    [
      { host: "evil.example.com" },
      /^Host "evil.example.com" is not one this server answers to \(DNS-rebinding protection\); add it to GPT_IMAGE_2_HTTP_ALLOWED_HOSTS/,
    ],
    [{ host: "evil.example.com:8787" }, /^Host "evil.example.com:8787" is not one/],
    [{ host: "localhost:3000" }, /^Host "localhost:3000" is not one/],
    [{ host: "localhost" }, /^Host "localhost" is not one/],
    [{ host: "127.0.0.1.nip.io:8787" }, /^Host "127.0.0.1.nip.io:8787" is not one/],
    [
      { host: "localhost:8787", origin: "http://evil.example.com" },
      /^Origin "http:\/\/evil.example.com" is not one this server answers to/,
    ],
    [
      { host: "localhost:8787", origin: "http://localhost:3000" },
      /^Origin "http:\/\/localhost:3000" is not one/,
    ],
    [
      { host: "localhost:8787", origin: "https://localhost:8787.evil.example" },
      /^Origin "https:\/\/localhost:8787.evil.example" is refused/,
    ],
    [
      { host: "localhost:8787", origin: "https://localhost.evil.example:8787" },
      /^Origin "https:\/\/localhost.evil.example:8787" is not one/,
    ],
    [
      { host: "localhost:8787", origin: "null" },
      /^Origin "null" is refused: only http\(s\) pages on allowed hosts may call this server\.$/,
    ],
    [{ host: "localhost:8787", origin: "file://" }, /^Origin "file:\/\/" is refused/],
  ];
  for (const [headers, expected] of cases) {
    const { status, message } = await refusalOf(checkHeaders(post(headers), p));
    assert.equal(status, 403, JSON.stringify(headers));
    assert.match(message, expected);
  }
});

Deno.test("a missing or malformed Host is refused with 400", async () => {
  const p = policy();
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /^The request has no Host header, which this server requires\.$/],
    [
      { host: "evil.example.com@127.0.0.1:8787" },
      /^The Host header "evil.example.com@127.0.0.1:8787" is not a host name with an optional port\.$/,
    ],
    [{ host: "127.0.0.1:8787/x" }, /is not a host name with an optional port/],
  ];
  for (const [headers, expected] of cases) {
    const request = new Request("http://127.0.0.1:8787/mcp", { method: "POST", body: "{}" });
    request.headers.delete("host");
    for (const [k, v] of Object.entries(headers)) request.headers.set(k, v);
    const { status, message } = await refusalOf(checkHeaders(request, p));
    assert.equal(status, 400);
    assert.match(message, expected);
  }
});

Deno.test("the bind address, the OAuth audience and GPT_IMAGE_2_HTTP_ALLOWED_HOSTS extend the allow list", () => {
  const p = policy({
    GPT_IMAGE_2_HTTP_HOST: "10.1.2.3",
    GPT_IMAGE_2_HTTP_TOKEN: "0123456789abcdef0123456789abcdef",
    GPT_IMAGE_2_HTTP_ALLOWED_HOSTS: "proxy.internal:8080,claude.ai",
    GPT_IMAGE_2_OAUTH_ISSUER: "https://auth.example.com",
    GPT_IMAGE_2_OAUTH_AUDIENCE: "https://mcp.example.com/mcp",
    GPT_IMAGE_2_OAUTH_SCOPE: "images",
  }, 9000);
  const allowed: Record<string, string>[] = [
    { host: "10.1.2.3:9000" },
    { host: "localhost:9000" },
    { host: "mcp.example.com" },
    { host: "mcp.example.com:443", origin: "https://mcp.example.com" },
    { host: "proxy.internal:8080" },
    { host: "localhost:9000", origin: "https://claude.ai" },
  ];
  for (const headers of allowed) {
    assert.equal(checkHeaders(post(headers), p), undefined, JSON.stringify(headers));
  }
  const refused: Record<string, string>[] = [
    { host: "10.1.2.3:8080" },
    { host: "proxy.internal:8081" },
    { host: "auth.example.com" },
    { host: "localhost:9000", origin: "http://proxy.internal:9000" },
  ];
  for (const headers of refused) {
    assert.equal(checkHeaders(post(headers), p)?.status, 403, JSON.stringify(headers));
  }
});

Deno.test("a body within the cap comes back readable, with the request's method, headers and signal", async () => {
  const controller = new AbortController();
  const request = new Request("http://127.0.0.1:8787/mcp", {
    method: "POST",
    headers: { "content-type": "application/json", "mcp-protocol-version": "2025-11-25" },
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    signal: controller.signal,
  });
  const buffered = await bufferBody(request, policy({ GPT_IMAGE_2_HTTP_MAX_BODY_BYTES: "65536" }));
  assert.ok(buffered instanceof Request);
  assert.equal(buffered.method, "POST");
  assert.equal(buffered.headers.get("mcp-protocol-version"), "2025-11-25");
  assert.deepEqual(await buffered.json(), { jsonrpc: "2.0", id: 1, method: "ping" });
  controller.abort();
  assert.ok(buffered.signal.aborted);
  const get = new Request("http://127.0.0.1:8787/mcp");
  assert.equal(await bufferBody(get, policy()), get);
});

Deno.test("a body over the cap is refused with 413 whether declared or streamed, and a bad length with 400", async () => {
  const p = policy({ GPT_IMAGE_2_HTTP_MAX_BODY_BYTES: "65536" });
  const declared = post({ "content-length": "65537" }, new Uint8Array(65537));
  const { status, message } = await refusalOf(await bufferBody(declared, p));
  assert.equal(status, 413);
  assert.equal(
    message,
    "The request body is over this server's limit of 65536 bytes (GPT_IMAGE_2_HTTP_MAX_BODY_BYTES).",
  );
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(16384));
    },
  });
  const streamed = await refusalOf(await bufferBody(post({}, endless), p));
  assert.equal(streamed.status, 413);
  assert.ok(pulled <= 6, `stopped reading soon after the limit (${pulled} chunks)`);
  const exact = await bufferBody(post({}, new Uint8Array(65536)), p);
  assert.ok(exact instanceof Request);
  assert.equal((await exact.arrayBuffer()).byteLength, 65536);
  const bad = await refusalOf(await bufferBody(post({ "content-length": "lots" }), p));
  assert.equal(bad.status, 400);
  assert.match(bad.message, /^The Content-Length header "lots" is not a number of bytes\.$/);
});

/** Sends one raw HTTP/1.1 request, so that the Host header is exactly what the test says. */
async function rawRequest(port: number, head: string): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  let text = "";
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(65536);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  conn.close();
  return { status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
}

Deno.test("behind Deno.serve, the guard sees the Host header the client sent", async () => {
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request): Response =>
      checkHeaders(request, policy({}, server.addr.port)) ?? new Response("served"),
  );
  const port = server.addr.port;
  try {
    const ok = await rawRequest(
      port,
      `GET /mcp HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual(ok, { status: 200, body: "served" });
    const evil = await rawRequest(
      port,
      `GET /mcp HTTP/1.1\r\nHost: evil.example.com:${port}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(evil.status, 403);
    assert.match(evil.body, /DNS-rebinding protection/);
    const origin = await rawRequest(
      port,
      `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example.com\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(origin.status, 403);
  } finally {
    await server.shutdown();
  }
});
