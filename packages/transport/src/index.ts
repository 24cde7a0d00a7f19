export { createHttpTransport, type HttpTransportOptions } from "./http-transport.js";
export {
  type CompressionOptions,
  compose,
  type Fetcher,
  type Layer,
  problemOf,
  type RetryOptions,
  type TokenProvider,
  withAuth,
  withCompression,
  withProblems,
  withRetry,
  withTimeout,
} from "./layers.js";
