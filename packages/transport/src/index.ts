export { createHttpTransport, type HttpTransportOptions, type TokenProvider } from "./http-transport.js";
