/**
 * Hokan attached to an app's RxDB database: its collections are backed up and restored by Hokan's engine. In an entry
 * of its own, so an app without RxDB carries none of it; `rxdb` is an optional peer dependency of `@hokan/storage`.
 *
 * @module
 */
export { attachRxDB, RxAttachment, type RxAttachmentOptions } from "./rxdb-attachment.js";
