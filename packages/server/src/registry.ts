import { readFile } from "node:fs/promises";
import { type Capability, isVersion, PLATFORMS, type Platform, type RegistryEntry } from "@hokan/core";

const CAPABILITIES: readonly Capability[] = ["backup", "restore", "bulkBackup", "bulkDelete"];
const APP_ID = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/i;

/** The operator's registry, validated; lookups by app and platform. */
export class Registry {
  private readonly byKey: Map<string, RegistryEntry>;

  constructor(readonly entries: readonly RegistryEntry[]) {
    this.byKey = new Map(entries.map((e) => [`${e.appId}\u0000${e.platform}`, e]));
  }

  entry(appId: string, platform: string): RegistryEntry | null {
    return this.byKey.get(`${appId}\u0000${platform}`) ?? null;
  }

  forPlatform(platform: Platform): RegistryEntry[] {
    return this.entries.filter((e) => e.platform === platform);
  }
}

/** A registry file's problems, each with the path to the offending value. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${source}: ${problems.length} problem(s) in the registry:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
}

/**
 * Validates a registry: `{ "apps": [{ appId, platform, capabilities, minVersion?, minVersionEnforcedFrom?, retiredAt?,
 * restoreGraceDays?, name?, updateUrl? }] }`. Every problem is reported at once, with where it is.
 */
export function parseRegistry(value: unknown, source = "registry"): Registry {
  const problems: string[] = [];
  const apps = (value as { apps?: unknown } | null)?.apps;
  if (!Array.isArray(apps)) throw new RegistryError(source, ['the top level must be { "apps": [ ... ] }']);
  const seen = new Set<string>();
  const entries: RegistryEntry[] = [];
  apps.forEach((raw: unknown, i) => {
    const at = `apps[${i}]`;
    if (typeof raw !== "object" || raw === null) {
      problems.push(`${at}: must be an object`);
      return;
    }
    const e = raw as Record<string, unknown>;
    const known = new Set([
      "appId",
      "platform",
      "name",
      "capabilities",
      "minVersion",
      "minVersionEnforcedFrom",
      "retiredAt",
      "restoreGraceDays",
      "updateUrl",
    ]);
    for (const k of Object.keys(e)) if (!known.has(k)) problems.push(`${at}.${k}: unknown field`);
    if (typeof e.appId !== "string" || !APP_ID.test(e.appId))
      problems.push(`${at}.appId: must be a reverse-DNS id like "jp.example.mail"`);
    if (!PLATFORMS.includes(e.platform as Platform))
      problems.push(`${at}.platform: must be one of ${PLATFORMS.join(", ")}`);
    if (
      !Array.isArray(e.capabilities) ||
      e.capabilities.some((c) => !CAPABILITIES.includes(c as Capability))
    ) {
      problems.push(`${at}.capabilities: must be a list of ${CAPABILITIES.join(", ")}`);
    }
    if (e.minVersion !== undefined && (typeof e.minVersion !== "string" || !isVersion(e.minVersion))) {
      problems.push(`${at}.minVersion: must be a dotted version like "3.2.0"`);
    }
    for (const k of ["minVersionEnforcedFrom", "retiredAt"] as const) {
      if (e[k] !== undefined && (typeof e[k] !== "string" || Number.isNaN(Date.parse(e[k] as string)))) {
        problems.push(`${at}.${k}: must be an ISO date like "2027-04-01T00:00:00Z"`);
      }
    }
    if (e.minVersionEnforcedFrom !== undefined && e.minVersion === undefined) {
      problems.push(`${at}.minVersionEnforcedFrom: needs a minVersion`);
    }
    if (
      e.restoreGraceDays !== undefined &&
      (!Number.isInteger(e.restoreGraceDays) || (e.restoreGraceDays as number) < 0)
    ) {
      problems.push(`${at}.restoreGraceDays: must be a whole number of days, 0 or more`);
    }
    if (e.name !== undefined && typeof e.name !== "string") problems.push(`${at}.name: must be a string`);
    // A settings screen shows it as a link: only a web address, never a script's.
    if (e.updateUrl !== undefined && !isHttpsUrl(e.updateUrl)) {
      problems.push(`${at}.updateUrl: must be an https URL like "https://apps.example.jp/mail"`);
    }
    const key = `${String(e.appId)}/${String(e.platform)}`;
    if (seen.has(key)) problems.push(`${at}: ${key} is listed twice`);
    seen.add(key);
    entries.push(e as unknown as RegistryEntry);
  });
  if (problems.length > 0) throw new RegistryError(source, problems);
  return new Registry(entries);
}

function isHttpsUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    return new URL(value).protocol === "https:";
  } catch {
    return false;
  }
}

/** Reads and validates a registry file. */
export async function loadRegistry(path: string): Promise<Registry> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new RegistryError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RegistryError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseRegistry(json, path);
}
