import { isUUID } from 'class-validator';
import { newMessageId } from './message-id';

describe('newMessageId', () => {
  it('is a UUIDv7 the API accepts', () => {
    const id = newMessageId();
    expect(isUUID(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
  });

  it('sorts in the order the ids were made, within one millisecond and across them', () => {
    const ids = [
      ...Array.from({ length: 5000 }, () => newMessageId(1_800_000_000_000)),
      ...Array.from({ length: 10 }, () => newMessageId(1_800_000_000_000 - 5)),
      ...Array.from({ length: 10 }, () => newMessageId()),
    ];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
