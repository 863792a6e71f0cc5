import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Tripwires for inputs that try to make ffmpeg open something else: a TCP
 * listener on 127.0.0.2 (loopback, so a connection never leaves the
 * machine) that counts connections, and a named pipe standing for a local
 * file. A reader that opens the pipe blocks until a writer comes, so a
 * watcher that keeps trying to open it for writing (which succeeds only
 * while a reader has it open) sees any attempt to read it.
 */
export class Tripwires {
  connections = 0;
  pipeOpened = false;
  private server?: net.Server;
  private watcher?: NodeJS.Timeout;
  port = 0;

  constructor(readonly pipePath: string) {}

  static async arm(dir: string): Promise<Tripwires> {
    const wires = new Tripwires(path.join(dir, 'sentinel-secret'));
    await run('mkfifo', [wires.pipePath]);
    wires.server = net.createServer((socket) => {
      wires.connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      wires.server!.once('error', reject);
      wires.server!.listen(0, '127.0.0.2', resolve);
    });
    wires.port = (wires.server.address() as net.AddressInfo).port;
    wires.watcher = setInterval(() => {
      fs.open(wires.pipePath, constants.O_WRONLY | constants.O_NONBLOCK).then(
        async (handle) => {
          wires.pipeOpened = true;
          await handle.close();
        },
        () => undefined, // ENXIO: nobody is reading it
      );
    }, 20);
    return wires;
  }

  get url(): string {
    return `http://127.0.0.2:${this.port}/stolen.ts`;
  }

  async disarm(): Promise<void> {
    clearInterval(this.watcher);
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** Files that try to make ffmpeg open other places, each as a name and its bytes. */
export function hostileFiles(wires: Tripwires): { hlsPlaylist: string; concatScript: string; dashManifest: string } {
  return {
    hlsPlaylist: `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n${wires.url}\n#EXTINF:4.0,\nfile://${wires.pipePath}\n#EXTINF:4.0,\n${wires.pipePath}\n#EXT-X-ENDLIST\n`,
    concatScript: `ffconcat version 1.0\nfile '${wires.pipePath}'\nfile '${wires.url}'\n`,
    dashManifest: `<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT4S"><BaseURL>${wires.url}</BaseURL><Period><AdaptationSet><Representation id="1" bandwidth="1000"><SegmentList><SegmentURL media="${wires.url}"/></SegmentList></Representation></AdaptationSet></Period></MPD>\n`,
  };
}

/** A command wrapper that logs each call to `log`, then runs `target`: to know whether ffmpeg or ffprobe ran at all. */
export async function recordingWrapper(dir: string, name: string, target: string, log: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, `#!/bin/sh\necho "$@" >> '${log}'\nexec '${target}' "$@"\n`, { mode: 0o755 });
  return file;
}
