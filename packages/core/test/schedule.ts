import fc from "fast-check";
import type { JsonObject, Replication } from "../src/index.js";
import { randomId } from "../src/index.js";
import { BAD_NETWORK, NO_FAULTS, type SimApp, type SimDevice, SimWorld } from "../src/testing/index.js";

/**
 * Random schedules for the simulation, and the invariants every schedule must keep. Shared by the property test
 * (CI) and the soak command.
 */

const APPS: readonly SimApp[] = [
  {
    scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
    collections: { settings: "merge", consent: "lww", prefs: "lww" },
  },
  {
    scope: { appId: "jp.example.notes", appVersion: "1.0.0", platform: "android" },
    collections: { settings: "merge", consent: "lww", prefs: "lww" },
  },
];

/** Collections first-launch defaults are written to: one merged, one last-writer-wins; neither is ever deleted. */
const DEFAULTED = ["settings", "prefs"] as const;

export type Op =
  | { t: "edit"; dev: number; app: number; doc: number }
  | { t: "consent"; dev: number; app: number; doc: number; del: boolean }
  | { t: "pref"; dev: number; app: number; doc: number }
  | { t: "default"; dev: number; app: number; doc: number; col: number }
  | { t: "offline" | "online" | "restart" | "bulkDelete"; dev: number }
  | { t: "roam"; dev: number; on: boolean }
  | { t: "overseas"; dev: number; on: boolean }
  | { t: "backup"; dev: number; on: boolean }
  | { t: "switch"; dev: number; account: number }
  | { t: "faults"; bad: boolean }
  | { t: "wait"; ms: number };

export interface Schedule {
  readonly seed: number;
  readonly devices: number;
  readonly accounts: number;
  readonly ops: readonly Op[];
}

export function scheduleArb(maxOps = 40): fc.Arbitrary<Schedule> {
  return fc
    .record({
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      devices: fc.integer({ min: 2, max: 4 }),
      accounts: fc.integer({ min: 1, max: 2 }),
    })
    .chain(({ seed, devices, accounts }) => {
      const dev = fc.integer({ min: 0, max: devices - 1 });
      const app = fc.integer({ min: 0, max: APPS.length - 1 });
      const doc = fc.integer({ min: 0, max: 2 });
      const op: fc.Arbitrary<Op> = fc.oneof(
        { weight: 8, arbitrary: fc.record({ t: fc.constant("edit" as const), dev, app, doc }) },
        {
          weight: 3,
          arbitrary: fc.record({ t: fc.constant("consent" as const), dev, app, doc, del: fc.boolean() }),
        },
        { weight: 2, arbitrary: fc.record({ t: fc.constant("pref" as const), dev, app, doc }) },
        {
          weight: 3,
          arbitrary: fc.record({
            t: fc.constant("default" as const),
            dev,
            app,
            doc,
            col: fc.integer({ min: 0, max: DEFAULTED.length - 1 }),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ t: fc.constantFrom("offline" as const, "online" as const), dev }),
        },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("restart" as const), dev }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("bulkDelete" as const), dev }) },
        {
          weight: 1,
          arbitrary: fc.record({
            t: fc.constantFrom("roam" as const, "overseas" as const, "backup" as const),
            dev,
            on: fc.boolean(),
          }),
        },
        {
          weight: accounts > 1 ? 1 : 0,
          arbitrary: fc.record({
            t: fc.constant("switch" as const),
            dev,
            account: fc.integer({ min: 0, max: accounts - 1 }),
          }),
        },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("faults" as const), bad: fc.boolean() }) },
        {
          weight: 3,
          arbitrary: fc.record({ t: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 3000 }) }),
        },
      );
      return fc.record({
        seed: fc.constant(seed),
        devices: fc.constant(devices),
        accounts: fc.constant(accounts),
        ops: fc.array(op, { minLength: 5, maxLength: maxOps, size: "max" }),
      });
    });
}

interface Write {
  readonly marker: string;
  readonly account: string;
  readonly appId: string;
  readonly key: string;
  /** The epoch the writing device knew when it wrote. */
  readonly epoch: number;
  /** Simulated time of the write. */
  readonly at: number;
}

const accountName = (i: number) => `acct-${i}`;
const docId = (i: number) => `doc-${i}`;

/** Runs one schedule, heals the world, and checks every invariant; throws with a description on a violation. */
export async function runSchedule(schedule: Schedule): Promise<{ writes: number; requests: number }> {
  const world = new SimWorld({ seed: schedule.seed });
  const devices: SimDevice[] = [];
  const usedAccounts: Set<string>[] = [];
  for (let i = 0; i < schedule.devices; i++) {
    const skew = world.runtime.prng.int(-3, 3) * 3_600_000;
    devices.push(
      world.device({ id: `dev-${i}`, accountId: accountName(i % schedule.accounts), clockSkewMs: skew }),
    );
    usedAccounts.push(new Set([accountName(i % schedule.accounts)]));
  }
  for (const d of devices) for (const app of APPS) await d.open(app);
  const writes: Write[] = [];
  /** Markers a device wrote back under epoch E while holding them locally: `${account}|${app}|${key}|${E}` → markers. */
  const carried = new Map<string, Set<string>>();
  let counter = 0;
  const fail = (message: string): never => {
    throw new Error(`${message}\nschedule: ${JSON.stringify(schedule)}`);
  };
  /** Waits for edits' acknowledgements, judged as they settle: none may come before the server's commit. */
  const acks: { marker: string; r: Replication; settled: boolean; problem?: string }[] = [];
  const committed = (account: string, appId: string, key: string, marker: string) =>
    world.server.log.some(
      (e) =>
        e.accountId === account &&
        e.appId === appId &&
        `${e.document.collection}/${e.document.id}` === key &&
        e.document.data !== null &&
        marker in e.document.data,
    );

  const record = async (
    d: SimDevice,
    r: Replication,
    appId: string,
    key: string,
    before: JsonObject | undefined,
  ) => {
    const epoch = r.status.epoch;
    const slot = `${d.accountId}|${appId}|${key}|${epoch}`;
    const set = carried.get(slot) ?? new Set<string>();
    for (const k of Object.keys(before ?? {})) set.add(k);
    carried.set(slot, set);
    return epoch;
  };

  for (const op of schedule.ops) {
    switch (op.t) {
      case "edit": {
        const d = devices[op.dev] as SimDevice;
        const app = APPS[op.app] as SimApp;
        const r = d.app(app.scope.appId);
        const before = await r.get("settings", docId(op.doc));
        const marker = `w${++counter}`;
        const receipt = await r.put("settings", docId(op.doc), { ...before, [marker]: d.id });
        const epoch = await record(d, r, app.scope.appId, `settings/${docId(op.doc)}`, before);
        const key = `settings/${docId(op.doc)}`;
        const account = d.accountId;
        const ack: (typeof acks)[number] = { marker, r, settled: false };
        acks.push(ack);
        r.acknowledged(receipt).then(
          () => {
            ack.settled = true;
            if (!committed(account, app.scope.appId, key, marker)) {
              ack.problem = `write ${marker} to ${account}/${app.scope.appId}/${key} was acknowledged before the server committed it`;
            }
          },
          (error: unknown) => {
            ack.settled = true;
            const code = (error as { code?: string }).code;
            const now = world.server.epochOf(account, app.scope.appId);
            if (code !== "deleted" || (epoch !== 0 && now <= epoch)) {
              ack.problem = `write ${marker} (epoch ${epoch}, server at ${now}) was refused: ${String(error)}`;
            }
          },
        );
        writes.push({
          marker,
          account: d.accountId,
          appId: app.scope.appId,
          key,
          epoch,
          at: world.runtime.now(),
        });
        break;
      }
      case "consent": {
        const d = devices[op.dev] as SimDevice;
        const r = d.app((APPS[op.app] as SimApp).scope.appId);
        if (op.del) await r.delete("consent", docId(op.doc));
        else await r.put("consent", docId(op.doc), { version: ++counter, device: d.id });
        break;
      }
      case "pref": {
        const d = devices[op.dev] as SimDevice;
        await d.app((APPS[op.app] as SimApp).scope.appId).put("prefs", docId(op.doc), { p: `p${++counter}` });
        break;
      }
      case "default": {
        // An app's first-launch default: written only where the device holds nothing, and never over a backup.
        const d = devices[op.dev] as SimDevice;
        const r = d.app((APPS[op.app] as SimApp).scope.appId);
        await r.putDefault(DEFAULTED[op.col] as string, docId(op.doc), { dflt: `d${++counter}` });
        break;
      }
      case "offline":
        devices[op.dev]?.setOnline(false);
        break;
      case "online":
        devices[op.dev]?.setOnline(true);
        break;
      case "restart":
        await devices[op.dev]?.restart();
        break;
      case "bulkDelete": {
        const d = devices[op.dev] as SimDevice;
        if (d.link.state.online)
          await world.run(d.link.transport.deleteAll(randomId(world.runtime))).catch(() => undefined);
        break;
      }
      case "roam":
        devices[op.dev]?.setRoaming(op.on);
        break;
      case "overseas":
        devices[op.dev]?.updateSettings({ overseasEnabled: op.on });
        break;
      case "backup":
        devices[op.dev]?.updateSettings({ backupEnabled: op.on });
        break;
      case "switch": {
        const d = devices[op.dev] as SimDevice;
        await d.switchAccount(accountName(op.account));
        usedAccounts[op.dev]?.add(accountName(op.account));
        break;
      }
      case "faults":
        world.network.faults = op.bad ? BAD_NETWORK : NO_FAULTS;
        break;
      case "wait":
        await world.runtime.advance(op.ms);
        break;
    }
  }

  // Heal: a good network, everyone home and on, every account a device used flushed, then back to its last one.
  world.network.faults = NO_FAULTS;
  for (const d of devices) {
    d.setOnline(true);
    d.setRoaming(false);
    d.updateSettings({ backupEnabled: true });
  }
  await world.settle();
  for (const [i, d] of devices.entries()) {
    const last = d.accountId;
    for (const account of usedAccounts[i] ?? []) {
      if (account === d.accountId) continue;
      await d.switchAccount(account);
      await world.settle();
    }
    if (d.accountId !== last) await d.switchAccount(last);
  }
  await world.settle();
  const runningBeforeRestart = new Set(devices.flatMap((d) => APPS.map((app) => d.app(app.scope.appId))));
  for (const a of acks) {
    if (runningBeforeRestart.has(a.r) && !a.settled) {
      fail(`the acknowledgement of ${a.marker} never came on a running, settled device`);
    }
  }
  // One more round: every device pulls what the last flushes sent.
  for (const d of devices) await d.restart();
  await world.settle();

  // Every acknowledgement came after the server's commit (and every refusal was a delete's).
  for (const a of acks) if (a.problem) fail(a.problem);

  // No change crosses accounts: every marker on an account's server came from a write under that account.
  const byMarker = new Map(writes.map((w) => [w.marker, w]));
  for (const entry of world.server.log) {
    for (const k of Object.keys(entry.document.data ?? {})) {
      const w = byMarker.get(k);
      if (w && w.account !== entry.accountId) fail(`marker ${k} of ${w.account} reached ${entry.accountId}`);
    }
  }

  // A default never replaces a backed-up value: a default's data ({ dflt } alone) enters the server only where the
  // document was absent or deleted in that epoch, whatever the strategy and however the network behaved. (An edit
  // made on top of a default carries it along with the edit's own keys.)
  const before = new Map<string, { epoch: number; data: JsonObject | null }>();
  for (const entry of world.server.log) {
    const slot = `${entry.accountId}|${entry.appId}|${entry.document.collection}/${entry.document.id}`;
    const prev = before.get(slot);
    const live = prev !== undefined && prev.epoch === entry.epoch ? prev.data : null;
    const data = entry.document.data;
    const isDefault = data !== null && Object.keys(data).length === 1 && "dflt" in data;
    if ((isDefault || entry.document.kind === "default") && live !== null && live.dflt !== data?.dflt) {
      fail(
        `a default ${JSON.stringify(data)} replaced ${JSON.stringify(live)} at ${slot} (epoch ${entry.epoch})`,
      );
    }
    before.set(slot, { epoch: entry.epoch, data });
  }

  // The epoch a write belongs to: the one its device knew, or, for a device that had not synced yet, the one it
  // first reached the server in.
  const landed = new Map<string, number>();
  const landedIn = new Map<string, Set<number>>();
  for (const entry of world.server.log) {
    for (const k of Object.keys(entry.document.data ?? {})) {
      if (!landed.has(k)) landed.set(k, entry.epoch);
      landedIn.set(k, (landedIn.get(k) ?? new Set()).add(entry.epoch));
    }
  }
  const epochOf = (w: Write, final: number): number =>
    w.epoch !== 0 ? w.epoch : (landed.get(w.marker) ?? final);

  for (const account of world.server.accountIds()) {
    for (const app of APPS) {
      const appId = app.scope.appId;
      const epoch = world.server.epochOf(account, appId);
      const docs = world.server.documents(account, appId);
      const serverMap = new Map(docs.map((d) => [`${d.collection}/${d.id}`, d.data]));

      // Convergence: every device signed in to this account holds the server's state of every document.
      for (const d of devices.filter((x) => x.accountId === account)) {
        const r = d.app(appId);
        if (r.status.pending !== 0)
          fail(`${d.id} still has ${r.status.pending} pending changes for ${account}/${appId}`);
        for (const [key, data] of serverMap) {
          const [collection, id] = key.split("/") as [string, string];
          const local = (await r.get(collection, id)) ?? null;
          if (JSON.stringify(sortKeys(local)) !== JSON.stringify(sortKeys(data))) {
            fail(
              `${d.id} holds ${JSON.stringify(local)} for ${account}/${appId}/${key}, the server ${JSON.stringify(data)}`,
            );
          }
        }
      }

      // No write is lost: a write the server acknowledged in the final epoch is there, and so is every write made
      // knowing the final epoch. (A write made before its device learned of the latest delete may be superseded by
      // it: the device cannot tell it from a change queued before the delete. It stays in the device's own data.)
      for (const w of writes.filter((x) => x.account === account && x.appId === appId)) {
        const acknowledged = landedIn.get(w.marker)?.has(epoch) ?? false;
        if (w.epoch !== epoch && !acknowledged) continue;
        const data = serverMap.get(w.key);
        if (!data || !(w.marker in data))
          fail(`write ${w.marker} (epoch ${w.epoch}) to ${account}/${appId}/${w.key} was lost`);
      }

      // No deleted data comes back: a marker from an older epoch is on the server only if a device that held it wrote
      // the document again after learning of the delete.
      for (const [key, data] of serverMap) {
        for (const marker of Object.keys(data ?? {})) {
          const w = byMarker.get(marker);
          if (!w || epochOf(w, epoch) === epoch) continue;
          if (!carried.get(`${account}|${appId}|${key}|${epoch}`)?.has(marker)) {
            fail(
              `marker ${marker} from epoch ${w.epoch} came back in epoch ${epoch} at ${account}/${appId}/${key}`,
            );
          }
        }
      }
    }
  }
  for (const d of devices) for (const app of APPS) await d.app(app.scope.appId).stop();
  return { writes: writes.length, requests: world.network.stats.requests };
}

function sortKeys(v: JsonObject | null): unknown {
  if (v === null) return null;
  return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
}
