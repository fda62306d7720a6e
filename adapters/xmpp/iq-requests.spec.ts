import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from '@swc/core';

/**
 * Node ends the process on a rejection nobody handles, and Jest's sandbox does not show that: so the
 * scenario runs in a child `node`, with the real @xmpp/iq caller, and must exit cleanly.
 */
describe('failPendingRequests', () => {
  it('fails a request whose stanza is still being written, without an unhandled rejection', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-iq-'));
    try {
      const source = readFileSync(join(__dirname, 'iq-requests.ts'), 'utf8');
      const js = transformSync(source, {
        filename: 'iq-requests.ts',
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      }).code;
      writeFileSync(join(dir, 'iq-requests.js'), js);
      const modules = join(__dirname, '..', '..', 'node_modules');
      const script = `
        const { failPendingRequests } = require('./iq-requests.js');
        const iqCallerFactory = require(${JSON.stringify(join(modules, '@xmpp/iq/caller'))});
        const middlewareFactory = require(${JSON.stringify(join(modules, '@xmpp/middleware'))});
        const xml = require(${JSON.stringify(join(modules, '@xmpp/xml'))});
        const { EventEmitter } = require('node:events');
        // The socket write of the request is still under way (its send settles only later).
        const entity = Object.assign(new EventEmitter(), {
          jid: null,
          release() {},
          send() { return new Promise((r) => (entity.release = r)); },
        });
        const iqCaller = iqCallerFactory({ middleware: middlewareFactory({ entity }), entity });
        iqCaller.request(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 5000)
          .then(() => console.log('answered'), (e) => console.log('request: ' + e.message));
        failPendingRequests(iqCaller, 'disconnected');
        console.log('pending: ' + iqCaller.handlers.size);
        setImmediate(() => setImmediate(() => entity.release()));
      `;
      const out = execFileSync(process.execPath, ['-e', script], {
        cwd: dir,
        encoding: 'utf8',
        stdio: 'pipe',
      });
      expect(out.trim().split('\n')).toEqual(['pending: 0', 'request: disconnected']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
