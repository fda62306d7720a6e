import type { IqCaller } from '@xmpp/iq/caller';

/**
 * Fails every IQ request still waiting for an answer (the connection is gone), which also stops their
 * timeout timers. A request still writing its stanza has not attached its handlers yet (@xmpp/iq awaits
 * the send first): its promise gets one here, or the rejection would be unhandled for a moment, which
 * Node treats as a crash. The request itself still rejects with `reason` once its send settles.
 */
export function failPendingRequests(iqCaller: IqCaller, reason: string): void {
  for (const d of iqCaller.handlers.values()) {
    d.promise.catch(() => undefined);
    d.reject(new Error(reason));
  }
  iqCaller.handlers.clear();
}
