import { StatementCache } from './statement-cache';

describe('StatementCache', () => {
  const preparing = () => {
    const made: string[] = [];
    return { made, prepare: (sql: string) => (made.push(sql), { sql }) };
  };

  it('prepares a text once and hands back the same statement after', () => {
    const c = new StatementCache<{ sql: string }>({ maxEntries: 10, maxChars: 100, budgetChars: 1000 });
    const p = preparing();
    const a = c.get('SELECT 1', p.prepare);
    expect(c.get('SELECT 1', p.prepare)).toBe(a);
    expect(p.made).toEqual(['SELECT 1']);
    expect(c.keptChars).toBe('SELECT 1'.length);
  });

  it('never keeps a text longer than maxChars', () => {
    const c = new StatementCache<{ sql: string }>({ maxEntries: 10, maxChars: 5, budgetChars: 1000 });
    const p = preparing();
    c.get('SELECT 123', p.prepare);
    c.get('SELECT 123', p.prepare);
    expect(p.made).toHaveLength(2);
    expect(c.size).toBe(0);
    expect(c.keptChars).toBe(0);
  });

  it('drops the least recently used once the kept texts exceed the budget', () => {
    const c = new StatementCache<{ sql: string }>({ maxEntries: 10, maxChars: 10, budgetChars: 10 });
    const p = preparing();
    c.get('aaaa', p.prepare);
    c.get('bbbb', p.prepare);
    c.get('aaaa', p.prepare); // used again: bbbb is now the oldest
    c.get('cccc', p.prepare); // 12 chars > 10: bbbb goes
    expect(c.size).toBe(2);
    expect(c.keptChars).toBe(8);
    c.get('aaaa', p.prepare);
    c.get('bbbb', p.prepare);
    expect(p.made).toEqual(['aaaa', 'bbbb', 'cccc', 'bbbb']);
  });

  it('drops the least recently used past maxEntries', () => {
    const c = new StatementCache<{ sql: string }>({ maxEntries: 2, maxChars: 10, budgetChars: 1000 });
    const p = preparing();
    for (const s of ['a', 'b', 'c']) c.get(s, p.prepare);
    expect(c.size).toBe(2);
    c.get('a', p.prepare);
    expect(p.made).toEqual(['a', 'b', 'c', 'a']);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.keptChars).toBe(0);
  });
});
