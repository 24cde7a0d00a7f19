import type { RegistryEntry } from "../protocol.js";

/**
 * The registry a server under the transport conformance suite (`runTransportTests` of `@hokan/core/conformance`)
 * must be configured with.
 */
export const TRANSPORT_TEST_REGISTRY: readonly RegistryEntry[] = [
  {
    appId: "jp.example.mail",
    platform: "android",
    capabilities: ["backup", "restore", "bulkBackup", "bulkDelete"],
  },
  { appId: "jp.example.mail", platform: "ios", capabilities: ["restore"] },
  {
    appId: "jp.example.notes",
    platform: "android",
    capabilities: ["backup", "restore", "bulkBackup", "bulkDelete"],
  },
  {
    appId: "jp.example.old",
    platform: "android",
    capabilities: ["backup", "restore"],
    retiredAt: "2001-01-01T00:00:00Z",
    restoreGraceDays: 365_000,
  },
  {
    appId: "jp.example.strict",
    platform: "android",
    capabilities: ["backup", "restore"],
    minVersion: "2.0.0",
  },
  { appId: "jp.example.solo", platform: "android", capabilities: ["backup", "restore"] },
];
