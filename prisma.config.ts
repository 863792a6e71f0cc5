// Prisma CLI configuration (Prisma 7 reads the datasource URL from here, not from schema.prisma).
// `process.env` rather than `env()` from prisma/config: env() throws when DATABASE_URL is unset,
// and `prisma generate` (run by the installer) must work without a database.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL },
});
