/** The RxDB collection every RxDB benchmark replicates, in Node and in the browser page alike. Browser-safe. */
import type { RxJsonSchema } from "rxdb";

export interface Row extends Record<string, unknown> {
  id: string;
  updatedAt: number;
  _deleted?: boolean;
}

/** RxDB's checkpoint in the minimal server's feed: the last `updatedAt` and id. */
export interface Checkpoint {
  id: string;
  updatedAt: number;
}

export const schema = {
  version: 0,
  primaryKey: "id",
  type: "object",
  properties: { id: { type: "string", maxLength: 64 }, updatedAt: { type: "number" } },
  required: ["id", "updatedAt"],
} as unknown as RxJsonSchema<Row>;
