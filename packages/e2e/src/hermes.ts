/**
 * The globals a browser or Node has and React Native's Hermes does not (or not everywhere): streams, the text
 * decoder, `structuredClone`, `BroadcastChannel`, Web Locks (`navigator`), compression streams, `crypto.randomUUID`.
 */
export const BROWSER_ONLY_GLOBALS = [
  "structuredClone",
  "ReadableStream",
  "WritableStream",
  "TransformStream",
  "TextDecoderStream",
  "TextEncoderStream",
  "TextDecoder",
  "CompressionStream",
  "DecompressionStream",
  "BroadcastChannel",
  "EventSource",
  "navigator",
] as const;

/**
 * Removes {@link BROWSER_ONLY_GLOBALS} and `crypto.randomUUID` from this process, as on a phone; returns what puts
 * them back. (`crypto.subtle` stays: the server in the same process verifies tokens with it.)
 */
export function removeBrowserGlobals(): () => void {
  const g = globalThis as Record<string, unknown>;
  const saved = new Map<string, PropertyDescriptor>();
  for (const name of BROWSER_ONLY_GLOBALS) {
    const descriptor = Object.getOwnPropertyDescriptor(g, name);
    if (!descriptor) continue;
    saved.set(name, descriptor);
    delete g[name];
  }
  const crypto = g.crypto as { randomUUID?: unknown } | undefined;
  const randomUUID = crypto?.randomUUID;
  if (crypto)
    Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true, writable: true });
  return () => {
    for (const [name, descriptor] of saved) Object.defineProperty(g, name, descriptor);
    if (crypto)
      Object.defineProperty(crypto, "randomUUID", { value: randomUUID, configurable: true, writable: true });
  };
}
