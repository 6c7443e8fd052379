import assert from "node:assert/strict";
import { netHosts } from "./net_hosts.ts";

Deno.test("deno task start grants the API host and EXTRA_NET, nothing empty", () => {
  const cases: [{ baseURL?: string; extra?: string }, string[]][] = [
    [{}, ["api.openai.com"]],
    [{ baseURL: "https://gw.example.com:8443/v1" }, ["gw.example.com:8443"]],
    [{ extra: "proxy.example.com, cdn.example.com," }, [
      "api.openai.com",
      "proxy.example.com",
      "cdn.example.com",
    ]],
    [{ baseURL: "not a url", extra: "" }, ["api.openai.com"]],
    [{ extra: "api.openai.com" }, ["api.openai.com"]],
  ];
  for (const [env, expected] of cases) {
    assert.deepEqual(netHosts(env), expected, JSON.stringify(env));
  }
});

Deno.test("deno task serve:http also grants the listening address and the OAuth issuer", () => {
  const cases: [Parameters<typeof netHosts>[0], string[]][] = [
    [{ http: {} }, ["api.openai.com", "127.0.0.1:8787"]],
    [{ http: { host: "0.0.0.0", port: "9000" } }, ["api.openai.com", "0.0.0.0:9000"]],
    [{ http: { host: "::1" } }, ["api.openai.com", "[::1]:8787"]],
    [
      { http: { issuer: "https://auth.example.com/realms/x" } },
      ["api.openai.com", "127.0.0.1:8787", "auth.example.com"],
    ],
  ];
  for (const [env, expected] of cases) {
    assert.deepEqual(netHosts(env), expected, JSON.stringify(env));
  }
});
