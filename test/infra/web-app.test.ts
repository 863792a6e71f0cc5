import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { webAppIsStale } from '../../infra/web-app';

/** `npm start` builds the web app when its build is missing or older than its sources, so a pull never serves an old app. */
describe('the web app build npm start serves', () => {
  let dir: string;
  const at = (file: string, seconds: number) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    if (!fs.existsSync(path.join(dir, file))) fs.writeFileSync(path.join(dir, file), '');
    fs.utimesSync(path.join(dir, file), seconds, seconds);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-app-'));
    for (const file of ['index.html', 'package.json', 'vite.config.mts', 'src/main.tsx', 'src/pages/library.tsx']) at(file, 1_000);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is built when dist/index.html is missing', () => {
    expect(webAppIsStale(dir)).toBe(true);
  });

  it('is kept when every source is older than the build', () => {
    at('dist/index.html', 2_000);
    expect(webAppIsStale(dir)).toBe(false);
  });

  it.each(['src/pages/library.tsx', 'index.html', 'vite.config.mts', 'package.json'])('is built again when %s changed after the build', (file) => {
    at('dist/index.html', 2_000);
    at(file, 3_000);
    expect(webAppIsStale(dir)).toBe(true);
  });
});
