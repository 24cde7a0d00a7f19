import { lww } from "./lww.js";
import { merge } from "./merge.js";
import type { ConflictHandler, ConflictStrategy } from "./types.js";

/** The handler for a strategy name, or the custom handler itself. */
export function conflictHandler(strategy: ConflictStrategy): ConflictHandler {
  if (strategy === "lww") return lww;
  if (strategy === "merge") return merge;
  if (typeof strategy === "string") throw unknownStrategy("", strategy);
  return strategy;
}

/**
 * Refuses a strategy named by a string that is not built in. `yjs` is a handler of its own entry, so only the apps
 * that use it carry Yjs: `import { yjs } from "@hokan/core/yjs"`.
 */
export function checkStrategies(collections: Readonly<Record<string, ConflictStrategy>>): void {
  for (const [name, strategy] of Object.entries(collections)) {
    if (typeof strategy === "string" && strategy !== "lww" && strategy !== "merge")
      throw unknownStrategy(name, strategy);
    if (
      typeof strategy !== "string" &&
      (typeof strategy?.resolve !== "function" || typeof strategy.isEqual !== "function")
    )
      throw new TypeError(
        `collection "${name}": a conflict strategy is "lww", "merge" or a handler with isEqual and resolve`,
      );
  }
}

function unknownStrategy(collection: string, strategy: string): TypeError {
  const where = collection ? `collection "${collection}": ` : "";
  return new TypeError(
    strategy === "yjs"
      ? `${where}the yjs strategy is imported where it is used: import { yjs } from "@hokan/core/yjs", then { ${collection || "notes"}: yjs }`
      : `${where}"${strategy}" is not a conflict strategy; use "lww", "merge" or a handler`,
  );
}

export { lww, sameState } from "./lww.js";
export { diff, merge, threeWayMerge } from "./merge.js";
export type { ConflictHandler, ConflictInput, ConflictStrategy, WithDeleted } from "./types.js";
