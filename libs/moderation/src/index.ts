// @video-pipeline/moderation-rules: the moderation group's checks, and the API's re-check of edited text.
export { TextBlocklist, normalizeText } from './text-rules';
export { dHash, hammingDistance, isFrameHash, nearestKnownBad } from './frame-hash';
export { checkMediaPolicy, type MediaPolicy } from './media-policy';
export { askClassifier, type ClassifierOptions } from './classifier';
export { decide, type Decision } from './decision';
