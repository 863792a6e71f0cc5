// @video-pipeline/media: ffmpeg (through fluent-ffmpeg, only in ffmpeg-process.ts) and sharp, wrapped once.
export { MediaToolkit, type MediaToolkitOptions, type OpenedSource } from './media-toolkit';
export { runFfmpeg, runFfprobe, FfmpegError, defaultBinaries, type FfmpegJob, type RunOptions, type MediaBinaries, type ProbeData } from './ffmpeg-process';
export { asMediaError } from './ffmpeg-errors';
export { demuxerFor, guardedInputOptions, protocolsFor, HEAD_BYTES } from './input-guard';
export { sourceInfo, type SourceInfo, type MediaLimits } from './source-info';
export { planLadder, cappedFrameRate, standardRungs, KEYFRAME_INTERVAL_SECONDS, SEGMENT_SECONDS, type Rung } from './ladder';
export { transcodeLadder, ladderCommand, clampPercent, contentTypes, MASTER_PLAYLIST, type LadderFile, type LadderJob, type LadderResult, type Rendition } from './hls-ladder';
export { avcCodecString, bandwidthOf, masterPlaylist, readRungListing, vodPlaylist } from './hls-playlists';
export { makeThumbnails, blurHashOf, type ThumbnailSet, type PosterFile } from './thumbnails';
export { sampleFrames, type FrameSample, type FrameSampleJob } from './frame-samples';
export { storyboardLayout, storyboardVtt, type StoryboardLayout } from './storyboard';
export { judge, bestFrame, scoreFrame, type FrameScore } from './frame-score';
export { WorkDirs } from './work-dirs';
export { refuse, isMediaRefusal, type MediaRefusalCode } from './refusal';
export type { Logger } from './logger';
