import path from 'node:path';

/** Repository root: this file lives in <repo>/infra/stack/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Downloaded jars, outside git (.cache/ is gitignored). */
export const JAR_CACHE_DIR = path.join(REPO_ROOT, '.cache', 'jars');

/** Runtime data of local stacks (.data/ is gitignored). */
export const DATA_ROOT = path.join(REPO_ROOT, '.data');

export const KAFKA_POM = path.join(REPO_ROOT, 'infra', 'kafka', 'pom.xml');
export const KAFKA_LOG4J_CONFIG = path.join(REPO_ROOT, 'infra', 'kafka', 'log4j.properties');
export const S3PROXY_POM = path.join(REPO_ROOT, 'infra', 's3proxy', 'pom.xml');
export const S3PROXY_LOGBACK_CONFIG = path.join(REPO_ROOT, 'infra', 's3proxy', 'logback.xml');

export const JAVA_INSTALL_HINT = 'Install a Java 17+ runtime, e.g. `apt-get install -y default-jre-headless` on Debian.';
export const MAVEN_INSTALL_HINT = 'Install Maven, e.g. `apt-get install -y maven` on Debian.';

/** Links the Postgres binaries' libraries need (their package makes them in an install script, which npm skips). */
export const POSTGRES_CACHE_DIR = path.join(REPO_ROOT, '.cache', 'postgres');
