import { SimWorld } from "/work/main/packages/core/src/testing/index.js";
import { MAIL, NOTES } from "/work/main/packages/core/test/helpers.js";

const world = new SimWorld();
const a = world.device({ id: "dev-a", accountId: "alice" });
const b = world.device({ id: "dev-b", accountId: "alice" });
const ma = await a.open(MAIL);
const mb = await b.open(MAIL);
const nb = await b.open(NOTES);
await ma.put("settings", "x", { v: 1 });
await nb.put("prefs", "p", { v: 1 });
await world.settle();
console.log("settled");
b.setOnline(false);
await mb.put("settings", "x", { v: 2, queued: "before delete" });
await nb.put("prefs", "p", { v: 2 });
console.log("deleting");
await a.link.transport.deleteAll().then(
  (r) => console.log(r),
  (e) => console.log("ERR", e),
);
console.log("deleted");
b.setOnline(true);
for (let i = 0; i < 30; i++) {
  await world.runtime.advance(100);
  console.log(
    i,
    [ma, mb, nb].map((r) => r.status.state + r.status.pending + (r.status.lastError?.code ?? "")).join(" "),
    world.runtime.pendingTimers,
  );
}
