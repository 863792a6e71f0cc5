import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/paths';

/**
 * The arguments that run a service under Node: the flags its package.json
 * asks for (`nodeFlags`, e.g. the upload API's young-generation size), tsx,
 * and its `src/main.ts`. `root` is another checkout's (the bench's
 * comparisons), which runs with its own flags.
 */
export function serviceNodeArgs(service: string, root = REPO_ROOT): string[] {
  const folder = path.join(root, 'services', service);
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8')) as { nodeFlags?: string[] };
  return [...(manifest.nodeFlags ?? []), '--import', 'tsx', path.join(folder, 'src', 'main.ts')];
}
