import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { JarFetchError } from './errors';
import { JAR_CACHE_DIR, KAFKA_POM, MAVEN_INSTALL_HINT, S3PROXY_POM } from './paths';
import { removeAbandonedPartials, runTool } from './process';

export interface EnsureJarsOptions {
  /** Progress lines; defaults to stderr. Pass `() => {}` for silence. */
  onProgress?: (message: string) => void;
  /** Defaults to <repo>/.cache/jars. */
  cacheDir?: string;
}

export interface StackClasspaths {
  /** `<dir>/*`, for `java -cp` (java expands the wildcard, no shell involved). */
  kafkaClasspath: string;
  s3proxyClasspath: string;
}

/** Written into a bundle folder only after Maven copied every jar. */
const COMPLETE_MARKER = '.complete';
const FETCH_TIMEOUT_MS = 15 * 60_000;

export function printProgress(message: string): void {
  process.stderr.write(`[stack] ${message}\n`);
}

/**
 * Makes sure the Kafka and S3Proxy jars are in the cache, fetching them from
 * Maven Central the first time (about a minute), and returns their classpaths.
 */
export async function ensureJars(options: EnsureJarsOptions = {}): Promise<StackClasspaths> {
  const onProgress = options.onProgress ?? printProgress;
  const cacheDir = options.cacheDir ?? JAR_CACHE_DIR;
  // One after the other: parallel Maven runs share ~/.m2 and can trip over each other.
  const kafkaDir = await ensureBundle(KAFKA_POM, cacheDir, onProgress);
  const s3proxyDir = await ensureBundle(S3PROXY_POM, cacheDir, onProgress);
  return { kafkaClasspath: path.join(kafkaDir, '*'), s3proxyClasspath: path.join(s3proxyDir, '*') };
}

interface BundlePom {
  name: string;
  version: string;
  /** Any edit to the pom (e.g. a logging jar version) invalidates the cache. */
  sha256: string;
}

function readBundlePom(pomFile: string): BundlePom {
  const text = fs.readFileSync(pomFile, 'utf8');
  const name = /<bundle\.name>([^<]+)<\/bundle\.name>/.exec(text)?.[1];
  const version = /<bundle\.version>([^<]+)<\/bundle\.version>/.exec(text)?.[1];
  if (!name || !version) throw new JarFetchError(`${pomFile} must define <bundle.name> and <bundle.version> properties`);
  return { name, version, sha256: crypto.createHash('sha256').update(text).digest('hex') };
}

function isComplete(dir: string, pom: BundlePom): boolean {
  try {
    return fs.readFileSync(path.join(dir, COMPLETE_MARKER), 'utf8').trim() === pom.sha256;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Returns the folder holding the bundle's jars, fetching them if needed. */
async function ensureBundle(pomFile: string, cacheDir: string, onProgress: (message: string) => void): Promise<string> {
  const pom = readBundlePom(pomFile);
  const label = `${pom.name} ${pom.version}`;
  const finalDir = path.join(cacheDir, `${pom.name}-${pom.version}`);
  if (isComplete(finalDir, pom)) return finalDir;

  // Fetch into a private folder and rename it into place, so an interrupted
  // fetch never looks complete and two concurrent fetches do not mix files.
  removeAbandonedPartials(finalDir);
  const workDir = `${finalDir}.partial-${process.pid}`;
  fs.mkdirSync(workDir, { recursive: true });
  onProgress(`fetching ${label} jars with Maven (first time only, about a minute)...`);
  const startedAt = Date.now();
  try {
    const result = await runTool(
      'mvn',
      [
        '-q', '-B',
        '-f', pomFile,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${workDir}`,
        '-DincludeScope=runtime',
      ],
      { timeoutMs: FETCH_TIMEOUT_MS, installHint: MAVEN_INSTALL_HINT },
    );
    if (result.code !== 0) {
      throw new JarFetchError(`fetching ${label} jars failed (mvn exit ${result.code}):\n${result.output.trim().split('\n').slice(-25).join('\n')}`);
    }
    const jarCount = fs.readdirSync(workDir).filter((file) => file.endsWith('.jar')).length;
    if (jarCount === 0) throw new JarFetchError(`fetching ${label} jars: Maven succeeded but copied no jars into ${workDir}`);
    fs.writeFileSync(path.join(workDir, COMPLETE_MARKER), `${pom.sha256}\n`);
    installBundle(workDir, finalDir, pom);
    onProgress(`${label}: ${jarCount} jars ready in ${Math.round((Date.now() - startedAt) / 1000)}s`);
    return finalDir;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

function installBundle(workDir: string, finalDir: string, pom: BundlePom): void {
  if (fs.existsSync(finalDir)) {
    // A concurrent fetch may have just finished; otherwise it is a stale or broken copy.
    if (isComplete(finalDir, pom)) return;
    fs.rmSync(finalDir, { recursive: true, force: true });
  }
  try {
    fs.renameSync(workDir, finalDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const lostRace = (code === 'ENOTEMPTY' || code === 'EEXIST') && isComplete(finalDir, pom);
    if (!lostRace) throw error;
    // Another process installed the same bundle between our check and rename.
  }
}
