export {
  createHttpTransport,
  DEFAULT_HTTP_TIMEOUTS,
  type HttpTimeouts,
  type HttpTransportOptions,
} from "./http-transport.js";
export {
  type CompressionOptions,
  compose,
  type Fetcher,
  type Layer,
  problemOf,
  type RetryOptions,
  type TimedInit,
  type TimeoutOptions,
  type TokenProvider,
  withAuth,
  withCompression,
  withProblems,
  withRetry,
  withTimeout,
} from "./layers.js";
