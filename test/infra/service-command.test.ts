import fs from 'node:fs';
import path from 'node:path';
import { serviceNodeArgs } from '../../infra/pipeline/service-command';
import { REPO_ROOT } from '../../infra/stack/paths';

const uploadApiFlags = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'services/upload-api/package.json'), 'utf8')) as { nodeFlags: string[] }).nodeFlags;

describe('the Node flags a service runs with', () => {
  it('come from its package.json, before tsx and its main', () => {
    expect(uploadApiFlags).toContain('--max-semi-space-size=2');
    expect(serviceNodeArgs('upload-api')).toEqual([...uploadApiFlags, '--import', 'tsx', path.join(REPO_ROOT, 'services/upload-api/src/main.ts')]);
    expect(serviceNodeArgs('transcoder')).toEqual(['--import', 'tsx', path.join(REPO_ROOT, 'services/transcoder/src/main.ts')]);
  });

  it('are the same in the container image and docker-compose', () => {
    const command = ['node', ...uploadApiFlags, '--import', 'tsx', 'services/upload-api/src/main.ts'].map((arg) => JSON.stringify(arg)).join(', ');
    expect(fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')).toContain(`CMD [${command}]`);
    expect(fs.readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')).toContain(`command: [${command}]`);
  });
});
