import { recordVideoReceipt, type EventHandler } from '@video-pipeline/consumer';

/** A video was uploaded: the notifications sends signed webhooks (coming); for now it records the receipt. */
export const handleVideoUploaded: EventHandler<'video.uploaded'> = async (event, context) => {
  context.logger.info({ sizeBytes: event.data.object.sizeBytes }, 'video uploaded');
  return recordVideoReceipt(event, context);
};
