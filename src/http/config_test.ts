import assert from "node:assert/strict";
import { ConfigError } from "../config.ts";
import {
  DEFAULT_MAX_BODY_BYTES,
  type HttpEnvName,
  type HttpFlags,
  isLoopbackHost,
  loadHttpConfig,
  parseHostPattern,
} from "./config.ts";

const TOKEN = "0123456789abcdef0123456789abcdef";
const OAUTH = {
  GPT_IMAGE_2_OAUTH_ISSUER: "https://auth.example.com",
  GPT_IMAGE_2_OAUTH_AUDIENCE: "https://mcp.example.com/mcp",
  GPT_IMAGE_2_OAUTH_SCOPE: "images:write  images:read",
};

function load(env: Partial<Record<HttpEnvName, string>>, flags?: HttpFlags) {
  return loadHttpConfig((name) => env[name], flags);
}

Deno.test("with nothing set, the HTTP server listens on 127.0.0.1:8787 without authentication", () => {
  assert.deepEqual(load({}), {
    host: "127.0.0.1",
    port: 8787,
    token: undefined,
    allowedHosts: [],
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    oauth: undefined,
    principalBudgetUsd: undefined,
  });
});

Deno.test("variables set the bind address, token, allowed hosts, OAuth and the principal budget", () => {
  const config = load({
    GPT_IMAGE_2_HTTP_HOST: "0.0.0.0",
    GPT_IMAGE_2_HTTP_PORT: "9000",
    GPT_IMAGE_2_HTTP_TOKEN: TOKEN,
    GPT_IMAGE_2_HTTP_ALLOWED_HOSTS: "MCP.example.com, [::1]:9000,my_service:80",
    GPT_IMAGE_2_HTTP_MAX_BODY_BYTES: "1048576",
    GPT_IMAGE_2_PRINCIPAL_BUDGET_USD: "2.50",
    ...OAUTH,
  });
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.port, 9000);
  assert.equal(config.token, TOKEN);
  assert.deepEqual(config.allowedHosts, [
    { hostname: "mcp.example.com", port: undefined },
    { hostname: "[::1]", port: 9000 },
    { hostname: "my_service", port: 80 },
  ]);
  assert.equal(config.maxBodyBytes, 1048576);
  assert.equal(config.principalBudgetUsd, 2.5);
  assert.deepEqual(config.oauth, {
    issuer: "https://auth.example.com",
    audience: "https://mcp.example.com/mcp",
    scopes: ["images:write", "images:read"],
  });
});

Deno.test("--host and --port win over the variables", () => {
  const config = load(
    { GPT_IMAGE_2_HTTP_HOST: "0.0.0.0", GPT_IMAGE_2_HTTP_PORT: "9000" },
    { host: "::1", port: "0" },
  );
  assert.equal(config.host, "::1");
  assert.equal(config.port, 0);
});

Deno.test("a non-loopback bind address needs a token or OAuth, and the refusal says why", () => {
  const cases: [Partial<Record<HttpEnvName, string>>, HttpFlags | undefined][] = [
    [{ GPT_IMAGE_2_HTTP_HOST: "0.0.0.0" }, undefined],
    [{ GPT_IMAGE_2_HTTP_HOST: "::" }, undefined],
    [{}, { host: "192.168.1.20" }],
    [{}, { host: "mcp.internal" }],
  ];
  for (const [env, flags] of cases) {
    assert.throws(
      () => load(env, flags),
      (e) =>
        e instanceof ConfigError &&
        /which other machines can reach, without authentication: set GPT_IMAGE_2_HTTP_TOKEN or the GPT_IMAGE_2_OAUTH_\* settings/
          .test(e.message),
      JSON.stringify({ env, flags }),
    );
  }
  for (const host of ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"]) {
    assert.equal(load({}, { host }).token, undefined, host);
  }
  assert.equal(
    load({ GPT_IMAGE_2_HTTP_HOST: "0.0.0.0", GPT_IMAGE_2_HTTP_TOKEN: TOKEN }).token,
    TOKEN,
  );
  assert.ok(load({ GPT_IMAGE_2_HTTP_HOST: "0.0.0.0", ...OAUTH }).oauth);
});

Deno.test("bad HTTP settings are one-line ConfigErrors naming the variable or flag and the rule", () => {
  const cases: [Partial<Record<HttpEnvName, string>>, HttpFlags | undefined, RegExp][] = [
    [
      { GPT_IMAGE_2_HTTP_PORT: "80000" },
      undefined,
      /^GPT_IMAGE_2_HTTP_PORT must be a port number from 0 to 65535, got "80000"/,
    ],
    [{ GPT_IMAGE_2_HTTP_PORT: "-1" }, undefined, /^GPT_IMAGE_2_HTTP_PORT must be a port number/],
    [{}, { port: "http" }, /^--port must be a port number from 0 to 65535, got "http"/],
    [
      { GPT_IMAGE_2_HTTP_HOST: "http://0.0.0.0" },
      undefined,
      /^GPT_IMAGE_2_HTTP_HOST must be a host name or an IP address/,
    ],
    [{}, { host: "a b" }, /^--host must be a host name or an IP address/],
    [
      { GPT_IMAGE_2_HTTP_TOKEN: "short" },
      undefined,
      /^GPT_IMAGE_2_HTTP_TOKEN must be at least 32 characters long .*the one given has 5\.$/,
    ],
    [
      { GPT_IMAGE_2_HTTP_TOKEN: `${TOKEN} x` },
      undefined,
      /^GPT_IMAGE_2_HTTP_TOKEN may hold only letters, digits and - \. _ ~ \+ \/ \(then = signs\)/,
    ],
    [
      { GPT_IMAGE_2_HTTP_ALLOWED_HOSTS: "https://mcp.example.com" },
      undefined,
      /^GPT_IMAGE_2_HTTP_ALLOWED_HOSTS must list host names or host:port pairs .*got "https:\/\/mcp.example.com"/,
    ],
    [
      { GPT_IMAGE_2_HTTP_ALLOWED_HOSTS: "a.example, b.example/mcp" },
      undefined,
      /got "b.example\/mcp"/,
    ],
    [
      { GPT_IMAGE_2_HTTP_MAX_BODY_BYTES: "10" },
      undefined,
      /^GPT_IMAGE_2_HTTP_MAX_BODY_BYTES must be a whole number of bytes from 65536/,
    ],
    [
      { GPT_IMAGE_2_PRINCIPAL_BUDGET_USD: "0" },
      undefined,
      /^GPT_IMAGE_2_PRINCIPAL_BUDGET_USD must be a positive amount in US dollars/,
    ],
    [
      { GPT_IMAGE_2_OAUTH_ISSUER: "https://auth.example.com" },
      undefined,
      /^OAuth needs .* together; GPT_IMAGE_2_OAUTH_AUDIENCE and GPT_IMAGE_2_OAUTH_SCOPE are not set\.$/,
    ],
    [
      { ...OAUTH, GPT_IMAGE_2_OAUTH_SCOPE: undefined },
      undefined,
      /; GPT_IMAGE_2_OAUTH_SCOPE is not set\.$/,
    ],
    [
      { ...OAUTH, GPT_IMAGE_2_OAUTH_ISSUER: "http://auth.example.com" },
      undefined,
      /^GPT_IMAGE_2_OAUTH_ISSUER must use https:\/\/ \(http:\/\/ only for a loopback address\)/,
    ],
    [
      { ...OAUTH, GPT_IMAGE_2_OAUTH_ISSUER: "auth.example.com" },
      undefined,
      /^GPT_IMAGE_2_OAUTH_ISSUER must be an absolute https:\/\/ URL/,
    ],
    [
      { ...OAUTH, GPT_IMAGE_2_OAUTH_AUDIENCE: "https://mcp.example.com/mcp#x" },
      undefined,
      /^GPT_IMAGE_2_OAUTH_AUDIENCE must not carry a fragment/,
    ],
    [
      { ...OAUTH, GPT_IMAGE_2_OAUTH_SCOPE: 'images "all"' },
      undefined,
      /^GPT_IMAGE_2_OAUTH_SCOPE must be scope names separated by spaces/,
    ],
  ];
  for (const [env, flags, expected] of cases) {
    assert.throws(
      () => load(env, flags),
      (e) => e instanceof ConfigError && expected.test(e.message) && !e.message.includes("\n"),
      JSON.stringify({ env, flags }),
    );
  }
});

Deno.test("http:// is accepted for a loopback issuer and audience (local test setups)", () => {
  const config = load({
    GPT_IMAGE_2_OAUTH_ISSUER: "http://127.0.0.1:9999",
    GPT_IMAGE_2_OAUTH_AUDIENCE: "http://localhost:8787/mcp",
    GPT_IMAGE_2_OAUTH_SCOPE: "images",
  });
  assert.equal(config.oauth?.issuer, "http://127.0.0.1:9999");
});

Deno.test("loopback is localhost, 127.0.0.0/8 and ::1, and nothing else", () => {
  const cases: [string, boolean][] = [
    ["localhost", true],
    ["LOCALHOST", true],
    ["app.localhost", true],
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["[::1]", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.1", false],
    ["localhost.example.com", false],
    ["127.0.0.1.nip.io", false],
  ];
  for (const [host, expected] of cases) assert.equal(isLoopbackHost(host), expected, host);
});

Deno.test("host patterns parse what a Host header carries and nothing else", () => {
  const cases: [string, ReturnType<typeof parseHostPattern>][] = [
    ["localhost:8787", { hostname: "localhost", port: 8787 }],
    ["Example.COM", { hostname: "example.com", port: undefined }],
    ["[::1]:8787", { hostname: "[::1]", port: 8787 }],
    ["127.0.0.1", { hostname: "127.0.0.1", port: undefined }],
    ["evil.com@localhost", undefined],
    ["localhost:8787/x", undefined],
    ["localhost:99999", undefined],
    ["localhost.", undefined],
    ["", undefined],
    ["a b", undefined],
    ["::1", undefined],
  ];
  for (const [value, expected] of cases) assert.deepEqual(parseHostPattern(value), expected, value);
});
