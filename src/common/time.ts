/** Stored times are epoch milliseconds (docs/adr/0003-storage.md); the API speaks ISO 8601. */
export function toMs(iso: string | undefined, fallback = Date.now()): number {
  if (!iso) return fallback;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : fallback;
}

export function iso(ms: number): string;
export function iso(ms: number | null | undefined): string | undefined;
export function iso(ms: number | null | undefined): string | undefined {
  return ms === null || ms === undefined ? undefined : new Date(ms).toISOString();
}
