/** Queue names. Ingest jobs are grouped per conversation (order kept); outbox jobs per conversation too. */
export const INGEST_QUEUE = 'ingest';
export const OUTBOX_QUEUE = 'outbox';

export interface AccountRef {
  accountId: string;
  ownerId: string;
  network: string;
}
