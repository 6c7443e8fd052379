import assert from "node:assert/strict";
import { readMessage } from "./jsonrpc.ts";

type Case = [line: string, code: number, id: string | number | null, message: RegExp];

const ANSWERED: Case[] = [
  ["not json", -32700, null, /^Parse error: the line is not valid JSON\.$/],
  ['{"jsonrpc":"2.0","id":1', -32700, null, /^Parse error/],
  ["[]", -32600, null, /batches .* are not supported/],
  ["5", -32600, null, /a message must be a JSON object, got a number\.$/],
  ['"ping"', -32600, null, /got the string "ping"\.$/],
  [
    '{"jsonrpc":"2.0","id":{},"method":"ping"}',
    -32600,
    null,
    /"id" must be a string or an integer/,
  ],
  ['{"jsonrpc":"2.0","id":1.5,"method":"ping"}', -32600, null, /"id" must be a string or an/],
  ['{"jsonrpc":"1.0","id":4,"method":"ping"}', -32600, 4, /"jsonrpc" must be "2\.0", got the/],
  ['{"id":"a","method":"ping"}', -32600, "a", /"jsonrpc" must be "2\.0", got nothing\.$/],
  ['{"jsonrpc":"2.0","id":5,"method":7}', -32600, 5, /"method" must be a non-empty string/],
  ['{"jsonrpc":"2.0","id":6}', -32600, 6, /"method" must be a non-empty string, got nothing\.$/],
  [
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":null}',
    -32600,
    3,
    /^Invalid request: "params" of tools\/call must be an object, got null\.$/,
  ],
  ['{"jsonrpc":"2.0","id":8,"method":"ping","params":[1]}', -32600, 8, /got an array\.$/],
  [
    '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":[1]}}',
    -32602,
    2,
    /^Invalid params for tools\/call: params\.arguments: Invalid input: expected record/,
  ],
  [
    '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"arguments":{}}}',
    -32602,
    9,
    /^Invalid params for tools\/call: params\.name: Invalid input: expected string/,
  ],
  [
    '{"jsonrpc":"2.0","id":"i","method":"initialize","params":{}}',
    -32602,
    "i",
    /^Invalid params for initialize: params\.protocolVersion: .*; params\.capabilities: /,
  ],
  [
    '{"jsonrpc":"2.0","id":10,"method":"logging/setLevel","params":{"level":"loud"}}',
    -32602,
    10,
    /^Invalid params for logging\/setLevel: params\.level: Invalid option/,
  ],
  [
    '{"jsonrpc":"2.0","id":11,"method":"ping","params":{"_meta":5}}',
    -32602,
    11,
    /params\._meta: Invalid input: expected object, received number\.$/,
  ],
];

Deno.test("each malformed request is answered with its code, its id and one sentence", () => {
  for (const [line, code, id, message] of ANSWERED) {
    const inbound = readMessage(line);
    assert.ok("reply" in inbound, `${line}: answered`);
    assert.equal(inbound.reply.error.code, code, line);
    assert.equal(inbound.reply.id, id, line);
    assert.match(inbound.reply.error.message, message, line);
    assert.ok(!inbound.reply.error.message.includes("\n"), `${line}: one line, no zod dump`);
  }
});

Deno.test("valid messages pass as they are: requests, notifications, responses, unknown methods", () => {
  for (
    const message of [
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { jsonrpc: "2.0", id: "x", method: "tools/call", params: { name: "a", arguments: {} } },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "a" } },
      { jsonrpc: "2.0", id: 3, method: "no/such/method", params: { anything: [1] } },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 4, result: {} },
      { jsonrpc: "2.0", id: 5, error: { code: -1, message: "no" } },
    ]
  ) {
    assert.deepEqual(readMessage(JSON.stringify(message)), { message });
  }
});

Deno.test("a malformed notification or response gets no answer, only a note", () => {
  for (
    const line of [
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":null}',
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{}}}',
      '{"jsonrpc":"2.0","result":{}}',
    ]
  ) {
    const inbound = readMessage(line);
    assert.ok("ignored" in inbound, line);
  }
});
