// `switchboard <command>` from the TypeScript sources, for tests that run the gateway as a real child
// process with adapters that are TypeScript files (the fake adapter):
//   node -r ./test/support/ts-register.js test/support/gateway-from-source.ts start
import { main } from '../../src/cli/main';

void main(process.argv.slice(2)).then((code) => {
  if (typeof code === 'number') process.exitCode = code;
});
