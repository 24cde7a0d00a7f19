/**
 * The `yjs` conflict strategy and its document helpers, in an entry of their own: an app that does not use Yjs does
 * not carry it. `yjs` is an optional peer dependency of `@hokan/core`; install it to use this entry.
 *
 * @module
 */
export { applyYjsDocument, encodeYDoc, type YjsDocument, yjs } from "./conflict/yjs.js";
