import type { ModerationConfig } from '@video-pipeline/config';
import type { WorkerDeps } from '@video-pipeline/consumer';
import { mediaJobDeps, type MediaJobDeps } from '@video-pipeline/media-jobs';
import { TextBlocklist, type ClassifierOptions, type MediaPolicy } from '@video-pipeline/moderation-rules';

/** What the moderation group is given once: the media group's means (storage, ffmpeg) and its policy. */
export interface ModerationDeps extends MediaJobDeps {
  blocklist: TextBlocklist;
  knownBadFrames: { hashes: string[]; maxDistance: number; samples: number };
  policy: MediaPolicy;
  classifier: ClassifierOptions | null;
  now: () => Date;
}

export function moderationDeps(worker: WorkerDeps, moderation: ModerationConfig = worker.config.moderation): ModerationDeps {
  return {
    ...mediaJobDeps('moderation', worker),
    blocklist: new TextBlocklist(moderation.blocklist),
    knownBadFrames: { hashes: moderation.blockedFrameHashes, maxDistance: moderation.frameHashDistance, samples: moderation.frameSamples },
    policy: moderation.policy,
    classifier: moderation.classifier,
    now: () => new Date(),
  };
}
