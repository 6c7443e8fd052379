import assert from "node:assert/strict";
import { type OAuthServer, startOAuthServer } from "../../tests/fixtures/oauth_server.ts";
import { createAuthenticator, resourceMetadataUrl } from "./auth.ts";
import { type HttpConfig, type HttpEnvName, loadHttpConfig } from "./config.ts";
import { type Principal, PRINCIPAL_ID } from "./principal.ts";

const MCP_URL = "http://127.0.0.1:8787/mcp";
const OTHER_URL = "http://127.0.0.1:8788/other-mcp";
const STATIC_TOKEN = "s3cret-static-token-0123456789abcdef";

function config(env: Partial<Record<HttpEnvName, string>>): HttpConfig {
  return loadHttpConfig((name) => env[name]);
}

function oauthConfig(as: { issuer: string }, extra: Partial<Record<HttpEnvName, string>> = {}) {
  return config({
    GPT_IMAGE_2_OAUTH_ISSUER: as.issuer,
    GPT_IMAGE_2_OAUTH_AUDIENCE: MCP_URL,
    GPT_IMAGE_2_OAUTH_SCOPE: "images",
    ...extra,
  });
}

function request(token?: string, authorization?: string): Request {
  const headers: Record<string, string> = { host: "127.0.0.1:8787" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (authorization !== undefined) headers.authorization = authorization;
  return new Request(MCP_URL, { method: "POST", headers, body: "{}" });
}

/** The refusal's status, message and challenge; fails when `result` is a principal. */
async function refused(result: Principal | Response) {
  assert.ok(result instanceof Response, `expected a refusal, got ${JSON.stringify(result)}`);
  const body = await result.json();
  assert.match(body.error.message, /^[^\n]+\.$/, "one sentence");
  return {
    status: result.status,
    message: body.error.message as string,
    challenge: result.headers.get("www-authenticate") ?? "",
    text: JSON.stringify(body) + (result.headers.get("www-authenticate") ?? ""),
  };
}

/** Runs `fn` with an authorization server that knows MCP_URL and OTHER_URL, and clients alice and bob. */
async function withAuthServer(fn: (as: OAuthServer) => Promise<void>): Promise<void> {
  const as = await startOAuthServer({
    clients: ["alice", "bob"],
    resources: {
      [MCP_URL]: { scopes: ["images", "other"] },
      [OTHER_URL]: { scopes: ["images"] },
    },
  });
  try {
    await fn(as);
  } finally {
    await as.close();
  }
}

Deno.test("a token from the authorization server, for this server, with the scope, is accepted", async () => {
  await withAuthServer(async (as) => {
    const auth = createAuthenticator(oauthConfig(as));
    const token = await as.token({ client: "alice", resource: MCP_URL, scope: "images" });
    const alice = await auth.authenticate(request(token));
    assert.ok(!(alice instanceof Response), "accepted");
    assert.equal(alice.kind, "oauth");
    assert.deepEqual(alice.scopes, ["images"]);
    assert.match(alice.id, /^alice-[0-9a-f]{16}$/);
    assert.match(alice.id, PRINCIPAL_ID);
    const again = await auth.authenticate(
      request(await as.token({ client: "alice", resource: MCP_URL, scope: "images other" })),
    );
    assert.equal((again as Principal).id, alice.id, "one subject, one principal");
    const bob = await auth.authenticate(
      request(await as.token({ client: "bob", resource: MCP_URL, scope: "images" })),
    );
    assert.match((bob as Principal).id, /^bob-[0-9a-f]{16}$/);
  });
});

Deno.test("expired, wrong-audience, foreign and garbage tokens get 401 invalid_token saying why", async () => {
  await withAuthServer(async (as) => {
    const other = await startOAuthServer({
      clients: ["alice"],
      resources: { [MCP_URL]: { scopes: ["images"] } },
    });
    try {
      const valid = await as.token({ client: "alice", resource: MCP_URL, scope: "images" });
      const exp = JSON.parse(atob(valid.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp;
      const cases: [string, string, ReturnType<typeof createAuthenticator>, RegExp][] = [
        [
          "expired",
          valid,
          createAuthenticator(oauthConfig(as), { now: () => new Date((exp + 3600) * 1000) }),
          /^The access token expired at \d{4}-\d\d-\d\dT/,
        ],
        [
          "issued for another resource",
          await as.token({ client: "alice", resource: OTHER_URL, scope: "images" }),
          createAuthenticator(oauthConfig(as)),
          /^The access token was issued for another resource, not http:\/\/127\.0\.0\.1:8787\/mcp\.$/,
        ],
        [
          "from another authorization server",
          await other.token({ client: "alice", resource: MCP_URL, scope: "images" }),
          createAuthenticator(oauthConfig(as)),
          new RegExp(`^The access token is not a JWT signed by ${as.issuer}\\.$`),
        ],
        [
          "garbage",
          "not.a.jwt",
          createAuthenticator(oauthConfig(as)),
          /^The access token is not a JWT signed by /,
        ],
        [
          "a valid token cut short",
          valid.slice(0, -10),
          createAuthenticator(oauthConfig(as)),
          /^The access token is not a JWT signed by /,
        ],
      ];
      for (const [name, token, auth, expected] of cases) {
        const r = await refused(await auth.authenticate(request(token)));
        assert.equal(r.status, 401, name);
        assert.match(r.message, expected, name);
        assert.match(
          r.challenge,
          /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:8787\/\.well-known\/oauth-protected-resource\/mcp"/,
          name,
        );
        assert.match(r.challenge, /error="invalid_token"/, name);
        assert.ok(!r.text.includes(token), `${name}: the token is not echoed`);
      }
      // The same token, judged by the real clock, is fine: the refusal above is the expiry's.
      assert.ok(
        !((await createAuthenticator(oauthConfig(as)).authenticate(request(valid))) instanceof
          Response),
      );
    } finally {
      await other.close();
    }
  });
});

Deno.test("a token without the required scope gets 403 insufficient_scope naming the scope", async () => {
  await withAuthServer(async (as) => {
    const auth = createAuthenticator(oauthConfig(as));
    const token = await as.token({ client: "alice", resource: MCP_URL, scope: "other" });
    const r = await refused(await auth.authenticate(request(token)));
    assert.equal(r.status, 403);
    assert.equal(r.message, "The access token lacks the scope images, which this server requires.");
    assert.match(r.challenge, /error="insufficient_scope"/);
    assert.match(r.challenge, /scope="images"/);
    assert.match(r.challenge, /resource_metadata="/);
  });
});

Deno.test("without a token, the 401 points at the resource metadata and carries no error code", async () => {
  await withAuthServer(async (as) => {
    const auth = createAuthenticator(oauthConfig(as));
    for (const authorization of [undefined, "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer a b"]) {
      const r = await refused(await auth.authenticate(request(undefined, authorization)));
      assert.equal(r.status, 401, authorization);
      assert.equal(
        r.challenge,
        `Bearer resource_metadata="${resourceMetadataUrl(MCP_URL)}", scope="images"`,
        authorization,
      );
      assert.match(
        r.message,
        /send Authorization: Bearer with a token from the authorization server/,
      );
    }
  });
});

Deno.test("the protected resource metadata is served at the well-known path and its path-suffixed form", async () => {
  const auth = createAuthenticator(oauthConfig({ issuer: "https://auth.example.com" }));
  for (
    const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
    ]
  ) {
    const response = auth.metadataResponse(new Request(`http://127.0.0.1:8787${path}`));
    assert.ok(response, path);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(await response.json(), {
      resource: MCP_URL,
      authorization_servers: ["https://auth.example.com"],
      scopes_supported: ["images"],
      bearer_methods_supported: ["header"],
      resource_name: "gpt-image-2-mcp",
    });
  }
  const post = auth.metadataResponse(
    new Request("http://127.0.0.1:8787/.well-known/oauth-protected-resource", { method: "POST" }),
  );
  assert.equal(post?.status, 405);
  assert.equal(auth.metadataResponse(new Request("http://127.0.0.1:8787/mcp")), undefined);
  assert.equal(
    auth.metadataResponse(
      new Request("http://127.0.0.1:8787/.well-known/oauth-protected-resource/x"),
    ),
    undefined,
  );
  const tokenOnly = createAuthenticator(config({ GPT_IMAGE_2_HTTP_TOKEN: STATIC_TOKEN }));
  assert.equal(
    tokenOnly.metadataResponse(
      new Request("http://127.0.0.1:8787/.well-known/oauth-protected-resource"),
    ),
    undefined,
  );
});

Deno.test("the static token is accepted as the owner and a wrong one refused", async () => {
  const auth = createAuthenticator(config({ GPT_IMAGE_2_HTTP_TOKEN: STATIC_TOKEN }));
  assert.deepEqual(await auth.authenticate(request(STATIC_TOKEN)), {
    id: "owner",
    scopes: [],
    kind: "token",
  });
  for (
    const wrong of [STATIC_TOKEN.slice(0, -1), `${STATIC_TOKEN}x`, "x", STATIC_TOKEN.toUpperCase()]
  ) {
    const r = await refused(await auth.authenticate(request(wrong)));
    assert.equal(r.status, 401, wrong);
    assert.equal(r.message, "The bearer token is not this server's token.");
    assert.equal(
      r.challenge,
      'Bearer realm="gpt-image-2-mcp", error="invalid_token", error_description="The bearer token is not this server\'s token."',
    );
  }
  const none = await refused(await auth.authenticate(request()));
  assert.equal(none.status, 401);
  assert.equal(none.challenge, 'Bearer realm="gpt-image-2-mcp"');
  assert.match(none.message, /the token set as GPT_IMAGE_2_HTTP_TOKEN on the server\.$/);
});

Deno.test("with both configured, the static token and OAuth tokens are each accepted", async () => {
  await withAuthServer(async (as) => {
    const auth = createAuthenticator(oauthConfig(as, { GPT_IMAGE_2_HTTP_TOKEN: STATIC_TOKEN }));
    assert.equal((await auth.authenticate(request(STATIC_TOKEN)) as Principal).kind, "token");
    const token = await as.token({ client: "bob", resource: MCP_URL, scope: "images" });
    assert.equal((await auth.authenticate(request(token)) as Principal).kind, "oauth");
    assert.equal((await refused(await auth.authenticate(request("wrong")))).status, 401);
  });
});

Deno.test("a loopback server without authentication serves everyone on this machine as one local principal", async () => {
  const auth = createAuthenticator(config({}));
  assert.deepEqual(await auth.authenticate(request()), { id: "local", scopes: [], kind: "local" });
});

Deno.test("an unreachable authorization server answers 503 with Retry-After, not 401", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const auth = createAuthenticator(oauthConfig({ issuer: `http://127.0.0.1:${port}` }));
  const r = await auth.authenticate(request("a.b.c"));
  assert.ok(r instanceof Response);
  assert.equal(r.status, 503);
  assert.equal(r.headers.get("retry-after"), "10");
  assert.match(
    (await r.json()).error.message,
    /^Access tokens cannot be checked right now: no authorization server metadata \(/,
  );
});

Deno.test("metadata that names another issuer is not trusted", async () => {
  await withAuthServer(async (as) => {
    // The same server under another name: its metadata says http://127.0.0.1:<port>.
    const auth = createAuthenticator(
      oauthConfig({ issuer: as.issuer.replace("127.0.0.1", "localhost") }),
    );
    const token = await as.token({ client: "alice", resource: MCP_URL, scope: "images" });
    const r = await auth.authenticate(request(token));
    assert.ok(r instanceof Response);
    assert.equal(r.status, 503);
    assert.match(
      (await r.json()).error.message,
      /names issuer "http:\/\/127\.0\.0\.1:\d+", not "http:\/\/localhost:\d+"/,
    );
  });
});
