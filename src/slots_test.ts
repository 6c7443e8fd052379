import assert from "node:assert/strict";
import { Slots } from "./slots.ts";

Deno.test("no more than `size` hold a slot at once; waiters go in order; double release is harmless", async () => {
  const slots = new Slots(2);
  let holding = 0, most = 0;
  const order: number[] = [];
  await Promise.all(Array.from({ length: 6 }, async (_, i) => {
    const release = await slots.acquire();
    order.push(i);
    most = Math.max(most, ++holding);
    await new Promise((resolve) => setTimeout(resolve, 5));
    holding--;
    release();
    release();
  }));
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  const again = await Promise.all([slots.acquire(), slots.acquire()]);
  let third = false;
  slots.acquire().then(() => third = true);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(third, false, "only two slots, even after double releases");
  again[0]();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(third, true);
});
