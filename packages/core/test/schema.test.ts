import { describe, expect, it } from "vitest";
import { type JsonObject, Schema } from "../src/index.js";
import { type SimApp, SimWorld } from "../src/testing/index.js";
import { serverDocs } from "./helpers.js";

const V1: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "1.0.0", platform: "android", schemaVersion: 1 },
  collections: { settings: "merge", consent: "lww" },
};

/** Version 2 nests the font size and records when the terms were accepted; it must keep what version 1 stored. */
const V2: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "2.0.0", platform: "android", schemaVersion: 2 },
  collections: { settings: "merge", consent: "lww" },
  migrations: {
    2: (data, { collection }) => {
      if (collection === "settings") {
        const { fontSize, ...rest } = data;
        return { ...rest, font: { size: fontSize ?? 12 } };
      }
      return { ...data, tos: { version: data.version ?? 0, accepted: data.accepted ?? false } };
    },
  },
};

describe("schema versions and migrations (scenario 8)", () => {
  it("migrates data restored from an older app version instead of dropping it", async () => {
    const world = new SimWorld();
    const old = await world.device({ id: "old", accountId: "alice" }).open(V1);
    await old.put("consent", "terms", { version: 3, accepted: true });
    await old.put("settings", "display", { fontSize: 18, theme: "dark" });
    await world.settle();
    const fresh = await world.device({ id: "new", accountId: "alice" }).open(V2);
    await world.settle();
    expect(await fresh.get("consent", "terms")).toEqual({
      version: 3,
      accepted: true,
      tos: { version: 3, accepted: true },
    });
    expect(await fresh.get("settings", "display")).toEqual({ theme: "dark", font: { size: 18 } });
    // Restoring changed nothing on the server: version 1 devices still read it.
    expect(serverDocs(world, "alice", V1.scope.appId)["settings/display"]).toEqual({
      fontSize: 18,
      theme: "dark",
    });
    await fresh.put("settings", "display", { theme: "light", font: { size: 18 } });
    await world.settle();
    const stored = world.server.documents("alice", V1.scope.appId).find((d) => d.id === "display");
    expect(stored).toMatchObject({ data: { theme: "light", font: { size: 18 } }, schemaVersion: 2 });
    await world.close();
  });

  it("never lets an older app overwrite newer data, and catches up after its upgrade", async () => {
    const world = new SimWorld();
    const oldDevice = world.device({ id: "old", accountId: "alice" });
    const old = await oldDevice.open(V1);
    await old.put("settings", "display", { fontSize: 12, theme: "dark" });
    await world.settle();
    const fresh = await world.device({ id: "new", accountId: "alice" }).open(V2);
    await world.settle();
    await fresh.put("settings", "display", { theme: "dark", font: { size: 20 } });
    await world.settle();
    expect(await old.get("settings", "display")).toEqual({ fontSize: 12, theme: "dark" });
    expect(old.status.lastError).toMatchObject({ code: "upgrade-required" });
    await old.put("settings", "display", { fontSize: 14, theme: "blue" });
    await world.settle();
    expect(serverDocs(world, "alice", V1.scope.appId)["settings/display"]).toEqual({
      theme: "dark",
      font: { size: 20 },
    });
    expect(old.status).toMatchObject({ pending: 1, rejected: 1 });

    const upgraded = await oldDevice.upgrade(V2);
    await world.settle();
    // The old device's own edit (migrated) and the newer one meet: different fields merge, the later edit wins a clash.
    const merged = { theme: "blue", font: { size: 14 } };
    expect(await upgraded.get("settings", "display")).toEqual(merged);
    expect(upgraded.status).toMatchObject({ pending: 0, rejected: 0 });
    expect(upgraded.status.lastError).toBeUndefined();
    expect(serverDocs(world, "alice", V1.scope.appId)["settings/display"]).toEqual(merged);
    expect(await fresh.get("settings", "display")).toEqual(merged);
    await world.close();
  });

  it("refuses to run an app older than the data on the device", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "d", accountId: "alice" });
    await device.open(V2);
    await world.settle();
    await expect(device.upgrade(V1)).rejects.toMatchObject({ code: "upgrade-required" });
    await world.close();
  });

  it("requires a migration for every version step", () => {
    expect(() => new Schema(3, { 2: (d: JsonObject) => d })).toThrow(/migration to version 3/);
    expect(() => new Schema(0)).toThrow(/positive integer/);
    expect(
      new Schema(1).adapt({
        collection: "c",
        id: "i",
        data: { a: 1 },
        rev: 1,
        seq: 1,
        hlc: "h",
        changeId: "x",
        updatedAt: 0,
      }),
    ).toMatchObject({ kind: "readable", migrated: false });
  });

  it("migrates across three versions: v1 data restored by v3, a v2 device upgraded to v3, consent kept throughout", async () => {
    const V3: SimApp = {
      scope: { ...V2.scope, appVersion: "3.0.0", schemaVersion: 3 },
      collections: V2.collections,
      migrations: {
        ...V2.migrations,
        3: (data, { collection }) => {
          if (collection === "settings") {
            if (!("font" in data)) return data;
            const { font, ...rest } = data as { font?: { size?: number } } & JsonObject;
            return { ...rest, typography: { size: font?.size ?? 12, family: "system" } };
          }
          const { version: _v, accepted: _a, ...rest } = data;
          return { ...rest, consentLog: [data.tos ?? null] };
        },
      },
    };
    const world = new SimWorld();
    const v1 = await world.device({ id: "v1", accountId: "alice" }).open(V1);
    await v1.put("consent", "terms", { version: 3, accepted: true });
    await v1.put("settings", "display", { fontSize: 18 });
    await world.settle();
    const v2Device = world.device({ id: "v2", accountId: "alice" });
    const v2 = await v2Device.open(V2);
    await world.settle();
    await v2.put("settings", "sound", { volume: 3 });
    await world.settle();

    const fresh = await world.device({ id: "v3", accountId: "alice" }).open(V3);
    await world.settle();
    const consent = { tos: { version: 3, accepted: true }, consentLog: [{ version: 3, accepted: true }] };
    expect(await fresh.get("consent", "terms")).toEqual(consent);
    expect(await fresh.get("settings", "display")).toEqual({ typography: { size: 18, family: "system" } });

    v2Device.setOnline(false);
    await v2.put("settings", "display", { font: { size: 22 } });
    const upgraded = await v2Device.upgrade(V3);
    expect(await upgraded.get("settings", "display")).toEqual({ typography: { size: 22, family: "system" } });
    expect(await upgraded.get("settings", "sound")).toEqual({ volume: 3 });
    v2Device.setOnline(true);
    await world.settle();
    expect(await fresh.get("settings", "display")).toEqual({ typography: { size: 22, family: "system" } });
    expect(await upgraded.get("consent", "terms")).toEqual(consent);
    await world.close();
  });
});
