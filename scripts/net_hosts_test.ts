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
