/** The transcoder's real handlers, for `consumer-share --handlers bench/support/transcoder-handlers.ts`. */
export { transcoderHandlers as makeHandlers } from '../../services/transcoder/src/handlers';
