/** The thumbnailer's real handlers, for `consumer-share --handlers bench/support/thumbnailer-handlers.ts`. */
export { thumbnailerHandlers as makeHandlers } from '../../services/thumbnailer/src/handlers';
