/**
 * Keeps a map, in the order its entries were set, to at most `max`: past it the oldest tenth goes at once, so that a
 * map at its bound does not pay for one deletion per insertion (and never loses every entry at once).
 */
export function dropOldest<K, V>(map: Map<K, V>, max: number): void {
  if (map.size <= max) return;
  for (const key of map.keys()) {
    map.delete(key);
    if (map.size <= max * 0.9) return;
  }
}
