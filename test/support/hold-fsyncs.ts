import fs from 'node:fs';

/**
 * Holds every fsync this process makes (the SQLite durability layer's, off the event loop): each one runs,
 * but its completion is reported only when `release` is called. For showing what waits for the disk and
 * what does not. Call `restore` when done (it does not release what is held).
 */
export function holdFsyncs(): { held: (() => void)[]; release(): void; restore(): void } {
  const real = fs.fsync;
  const held: (() => void)[] = [];
  const spy = jest
    .spyOn(fs, 'fsync')
    .mockImplementation(((fd: number, cb: (e: unknown) => void) =>
      real(fd, (err) => held.push(() => cb(err)))) as typeof fs.fsync);
  return {
    held,
    release: () => held.splice(0).forEach((f) => f()),
    restore: () => spy.mockRestore(),
  };
}
