import assert from "node:assert/strict";
import { redact, SECRET_PREFIX_MIN } from "./log.ts";

Deno.test("secrets and authorization headers are redacted", () => {
  const key = "sk-proj-abcdefghijklmnop1234";
  assert.equal(redact(`key ${key} here`, [key]), "key [redacted] here");
  assert.equal(
    redact("Incorrect API key provided: sk-ab***yz12."),
    "Incorrect API key provided: [redacted].",
  );
  assert.match(
    redact('{"Authorization": "Bearer abcdefghijk123"}'),
    /Authorization": "\[redacted\]/,
  );
  assert.equal(redact("authorization: Bearer xyz.abc-123456"), "authorization: [redacted]");
  assert.equal(redact("nothing secret"), "nothing secret");
});

/** A gateway's key: no `sk-` prefix, so only knowing the key finds it. */
const KEY = "gw-live_4f8a9c2e7b1d3a6f/5e0c9b8a7d6e5f4c";

function percentAll(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => `%${b.toString(16).toUpperCase()}`)
    .join("");
}
function jsonUnicode(text: string): string {
  return Array.from(text, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
}
function base64(text: string): string {
  return btoa(text);
}

Deno.test("a known key is redacted in every form a gateway may echo it in", () => {
  const cases: { form: string; text: string; mustGo?: string }[] = [
    { form: "as it is", text: `invalid key ${KEY} (rejected)` },
    { form: "encodeURIComponent", text: `GET /check?key=${encodeURIComponent(KEY)}&x=1` },
    { form: "every byte percent-encoded", text: `key=${percentAll(KEY)}` },
    { form: "lower-case hex", text: `key=${percentAll(KEY).toLowerCase()}` },
    { form: "percent-encoded twice", text: `key=${percentAll(KEY).replaceAll("%", "%25")}` },
    { form: "JSON-escaped slash", text: JSON.stringify({ key: KEY.replace("/", "\\/") }) },
    { form: "JSON \\u escapes", text: `{"key":"${jsonUnicode(KEY)}"}` },
    {
      form: "JSON \\u escapes inside a JSON string",
      text: JSON.stringify({ body: `{"key":"${jsonUnicode(KEY)}"}` }),
    },
    {
      form: "HTML character references",
      text: `<p>${[...KEY].map((c) => `&#${c.charCodeAt(0)};`).join("")}</p>`,
    },
    { form: "base64 alone", text: `token ${base64(KEY)}`, mustGo: base64(KEY).slice(8, 40) },
    {
      form: "base64 of Bearer <key>",
      text: `echo: ${base64(`Bearer ${KEY}`)}`,
      mustGo: base64(`Bearer ${KEY}`).slice(12, 44),
    },
    {
      form: "base64 of user:<key>",
      text: `Basic ${base64(`me:${KEY}`)}`,
      mustGo: base64(`me:${KEY}`).slice(8, 40),
    },
    {
      form: "base64 of xy<key> (third alignment)",
      text: base64(`xy${KEY}`),
      mustGo: base64(`xy${KEY}`).slice(8, 40),
    },
    {
      form: "base64url",
      text: base64(`a${KEY}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""),
    },
    { form: "cut to 12 characters", text: `key ${KEY.slice(0, SECRET_PREFIX_MIN)}...` },
    { form: "cut to 20 characters", text: `key ${KEY.slice(0, 20)}…` },
    { form: "cut, then JSON-escaped", text: `"${jsonUnicode(KEY.slice(0, 14))}"` },
    { form: "twice in one text", text: `${KEY} and ${percentAll(KEY)}` },
  ];
  for (const { form, text, mustGo } of cases) {
    const out = redact(text, [KEY]);
    if (mustGo) assert.ok(!out.includes(mustGo), `${form}: ${out}`);
    assert.match(out, /\[redacted\]/, form);
    assert.ok(!out.includes(KEY.slice(0, SECRET_PREFIX_MIN)), `${form}: ${out}`);
    assert.ok(!out.includes(KEY.slice(-SECRET_PREFIX_MIN)), `${form}: ${out}`);
    for (const encoded of [percentAll(KEY.slice(0, 12)), jsonUnicode(KEY.slice(0, 12))]) {
      assert.ok(!out.includes(encoded), `${form}: ${out}`);
    }
    const core = base64(KEY).slice(0, 15);
    assert.ok(!out.includes(core), `${form}: ${out}`);
  }
});

Deno.test("text around a redacted key stays, and near misses are left alone", () => {
  const cases: { text: string; expected: string }[] = [
    { text: `a ${KEY} b`, expected: "a [redacted] b" },
    { text: `key=${encodeURIComponent(KEY)}&next=1`, expected: "key=[redacted]&next=1" },
    { text: `short ${KEY.slice(0, SECRET_PREFIX_MIN - 1)}`, expected: `short ${KEY.slice(0, 11)}` },
    { text: "100% of &amp; \\n tokens", expected: "100% of &amp; \\n tokens" },
    { text: "", expected: "" },
  ];
  for (const { text, expected } of cases) assert.equal(redact(text, [KEY]), expected, text);
});

Deno.test("credentials in a URL are redacted", () => {
  assert.equal(
    redact("base https://user:hunter2@gateway.example/v1 ready"),
    "base https://[redacted]@gateway.example/v1 ready",
  );
  assert.equal(redact("https://gateway.example/v1"), "https://gateway.example/v1");
});
