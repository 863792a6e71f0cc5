// @video-pipeline/moderation-rules: the moderation group's checks, and the API's re-check of edited text.
export { TextBlocklist, normalizeText } from './text-rules';
