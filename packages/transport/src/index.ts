export { createHttpTransport, type HttpTransportOptions } from "./http-transport.js";
export {
  compose,
  type Fetcher,
  type Layer,
  problemOf,
  type RetryOptions,
  type TokenProvider,
  withAuth,
  withProblems,
  withRetry,
  withTimeout,
} from "./layers.js";
