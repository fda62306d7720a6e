import { nestedDeeperThan } from './body-guards';

describe('nestedDeeperThan', () => {
  const nest = (n: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
    return v;
  };

  it('counts arrays and objects, scalars are depth 0', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan(undefined, 0)).toBe(false);
    expect(nestedDeeperThan(nest(3), 3)).toBe(false);
    expect(nestedDeeperThan(nest(4), 3)).toBe(true);
    expect(nestedDeeperThan({ a: 1, b: [1, { c: 2 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: 1, b: [1, { c: [] }] }, 3)).toBe(true);
  });

  it('walks a very deep value without overflowing the stack', () => {
    expect(nestedDeeperThan(nest(200_000), 64)).toBe(true);
  });
});
