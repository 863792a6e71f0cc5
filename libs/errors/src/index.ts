export { errorCodes, type ErrorCode } from './codes';
export { PipelineError, isPipelineError, toPipelineError } from './pipeline-error';
