#!/usr/bin/env node
// Brings a checkout to a runnable state before `npm start` / `npm test`
// (prestart/pretest hooks). Plain Node, no dependencies: it runs before
// node_modules exists. Steps: npm ci when node_modules is missing or older
// than package-lock.json, Prisma client generation, ffmpeg.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

function ensureNodeModules() {
  const reason = staleNodeModulesReason();
  if (!reason) return;
  log(`${reason}: npm ci`);
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function generatePrismaClient() {
  const script = path.join(root, 'libs', 'db', 'scripts', 'generate.mjs');
  if (fs.existsSync(script)) run(process.execPath, [script]);
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

ensureNodeModules();
generatePrismaClient();
ensureFfmpeg();
