import path from 'node:path';

// This package lives at libs/db; the Prisma files live at the repository root.
const REPO_ROOT = path.resolve(__dirname, '../../..');

/** prisma/migrations: what applyMigrations should usually be given. */
export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'prisma/migrations');
export const SCHEMA_PATH = path.join(REPO_ROOT, 'prisma/schema.prisma');
