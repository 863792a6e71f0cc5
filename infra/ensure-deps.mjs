#!/usr/bin/env node
// Brings a checkout to a runnable state before `npm start` / `npm test`
// (prestart/pretest hooks). Plain Node, no dependencies: it runs before
// node_modules exists, under whatever Node runs npm. Steps: the pinned Node
// when the machine's is another line (node-runtime.mjs), npm ci when
// node_modules is missing or older than package-lock.json, the link that
// makes `node` in every npm script mean the pinned Node, Prisma client
// generation, ffmpeg.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNodeRuntime } from './node-runtime.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function log(message) {
  process.stdout.write(`[ensure-deps] ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    process.stderr.write(`[ensure-deps] failed: ${command} ${args.join(' ')} (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why node_modules needs `npm ci`, or undefined when it is up to date. */
function staleNodeModulesReason() {
  const installedLock = path.join(root, 'node_modules', '.package-lock.json');
  const installedAt = mtimeMs(installedLock);
  if (installedAt === undefined) return 'node_modules is missing';
  const lockAt = mtimeMs(path.join(root, 'package-lock.json'));
  if (lockAt === undefined || lockAt <= installedAt) return undefined;
  // `npm install` may write package-lock.json a moment after the hidden
  // lockfile; if both list the same package versions, nothing is stale.
  return sameInstalledVersions(installedLock) ? undefined : 'package-lock.json is newer than node_modules';
}

function sameInstalledVersions(installedLock) {
  const wanted = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages ?? {};
  const installed = JSON.parse(fs.readFileSync(installedLock, 'utf8')).packages ?? {};
  return Object.entries(wanted).every(([location, entry]) => {
    if (location === '' || !location.includes('node_modules/')) return true; // root and workspace folders
    if (entry.optional && !installed[location]) return true; // other platforms' packages
    // A workspace package (a new library) is a link with no version: it must be linked too.
    if (entry.link) return installed[location]?.resolved === entry.resolved;
    return installed[location]?.version === entry.version;
  });
}

/** The environment under which `node` (and npm's own `#!/usr/bin/env node`) means the runtime's Node. */
function runtimeEnv(runtime) {
  if (!runtime.binDir) return process.env;
  return { ...process.env, PATH: [runtime.binDir, process.env.PATH].filter(Boolean).join(path.delimiter) };
}

/** npm runs under the runtime's Node too, so that it checks engines against the Node the project runs on. */
function ensureNodeModules(runtime) {
  const reason = staleNodeModulesReason();
  if (!reason) return;
  log(`${reason}: npm ci (on Node ${runtime.version})`);
  run('npm', ['ci', '--no-audit', '--no-fund'], { env: runtimeEnv(runtime) });
}

/**
 * npm puts node_modules/.bin first on PATH for every script, so a `node`
 * there makes the scripts' `node`, and the `#!/usr/bin/env node` of jest,
 * tsc, tsx and npx, the pinned one (the npm package `node` installs itself
 * the same way). Removed when the machine's own Node is the right one.
 */
function linkNodeIntoBin(runtime) {
  const link = path.join(root, 'node_modules', '.bin', 'node');
  const current = readLink(link);
  if (!runtime.binDir) {
    if (current?.startsWith(path.join(root, '.cache', 'node'))) fs.rmSync(link);
    return;
  }
  if (current === runtime.node) return;
  fs.rmSync(link, { force: true });
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(runtime.node, link);
}

/** Where a symlink points; undefined when there is none (EINVAL: a plain file). */
function readLink(file) {
  try {
    return fs.readlinkSync(file);
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'EINVAL') return undefined;
    throw error;
  }
}

function generatePrismaClient(runtime) {
  const script = path.join(root, 'libs', 'db', 'scripts', 'generate.mjs');
  if (fs.existsSync(script)) run(runtime.node, [script], { env: runtimeEnv(runtime) });
}

function onPath(command) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false; // not in this PATH entry
    }
  });
}

function ensureFfmpeg() {
  if (onPath('ffmpeg')) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write('[ensure-deps] ffmpeg is not installed. Install it, e.g. `sudo apt-get install -y ffmpeg` (Debian/Ubuntu) or `brew install ffmpeg`.\n');
    return;
  }
  log('ffmpeg missing: apt-get install -y ffmpeg');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', 'ffmpeg'], { env });
}

let runtime;
try {
  runtime = ensureNodeRuntime({ root, log });
} catch (error) {
  process.stderr.write(`[ensure-deps] ${error.message}\n`);
  process.exit(1);
}
ensureNodeModules(runtime);
linkNodeIntoBin(runtime);
generatePrismaClient(runtime);
ensureFfmpeg();
