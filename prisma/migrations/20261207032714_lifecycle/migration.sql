-- CreateEnum
CREATE TYPE "moderation_decision" AS ENUM ('approved', 'rejected', 'needs_review');

-- CreateEnum
CREATE TYPE "moderation_decider" AS ENUM ('policy', 'reviewer');

-- AlterEnum
ALTER TYPE "media_stage" ADD VALUE 'moderation';

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "stage_status" ADD VALUE 'approved';
ALTER TYPE "stage_status" ADD VALUE 'rejected';
ALTER TYPE "stage_status" ADD VALUE 'needs_review';

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "video_status" ADD VALUE 'processing';
ALTER TYPE "video_status" ADD VALUE 'ready';
ALTER TYPE "video_status" ADD VALUE 'rejected';
ALTER TYPE "video_status" ADD VALUE 'failed';

-- AlterTable
ALTER TABLE "videos" ADD COLUMN     "description" TEXT;

-- CreateTable
CREATE TABLE "video_moderation" (
    "video_id" UUID NOT NULL,
    "decision" "moderation_decision" NOT NULL,
    "decided_by" "moderation_decider" NOT NULL,
    "reviewer" TEXT,
    "note" TEXT,
    "reasons" JSONB NOT NULL,
    "decided_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "video_moderation_pkey" PRIMARY KEY ("video_id")
);

-- CreateTable
CREATE TABLE "moderation_reviews" (
    "id" BIGSERIAL NOT NULL,
    "video_id" UUID NOT NULL,
    "reviewer" TEXT NOT NULL,
    "decision" "moderation_decision" NOT NULL,
    "note" TEXT,
    "decided_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "moderation_reviews_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "video_changes" (
    "seq" BIGSERIAL NOT NULL,
    "video_id" UUID NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "video_changes_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE INDEX "moderation_reviews_video_id_idx" ON "moderation_reviews"("video_id");

-- CreateIndex
CREATE INDEX "video_changes_video_id_seq_idx" ON "video_changes"("video_id", "seq");

-- AddForeignKey
ALTER TABLE "video_moderation" ADD CONSTRAINT "video_moderation_video_id_fkey" FOREIGN KEY ("video_id") REFERENCES "videos"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written: the change log behind the API's event streams (GET /v1/videos/:id/events).
-- Every change of a video's status or of one of its stages (status, progress, error) adds a row
-- and NOTIFYs channel `video_changes` with the video id, delivered on commit. The per-video
-- advisory lock, held to the end of the writing transaction, makes one video's `seq` values
-- commit in order, so a reader that has seen seq N never sees a smaller one appear later.
CREATE FUNCTION video_change_log() RETURNS trigger AS $$
DECLARE
  changed_video UUID;
  change JSONB;
BEGIN
  IF TG_TABLE_NAME = 'videos' THEN
    IF TG_OP = 'DELETE' THEN
      changed_video := OLD.id;
      change := jsonb_build_object('type', 'deleted');
    ELSE
      changed_video := NEW.id;
      change := jsonb_build_object('type', 'status', 'status', NEW.status);
    END IF;
  ELSE
    changed_video := NEW.video_id;
    change := jsonb_build_object('type', 'stage', 'stage', NEW.stage, 'status', NEW.status, 'progress', NEW.progress,
      'error', CASE WHEN NEW.error_code IS NULL THEN NULL ELSE jsonb_build_object('code', NEW.error_code, 'message', left(coalesce(NEW.error_message, ''), 500)) END);
  END IF;
  PERFORM pg_advisory_xact_lock(20, hashtext(changed_video::text));
  INSERT INTO video_changes (video_id, data) VALUES (changed_video, change);
  PERFORM pg_notify('video_changes', changed_video::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER videos_change_log_insert AFTER INSERT ON videos
  FOR EACH ROW EXECUTE FUNCTION video_change_log();
CREATE TRIGGER videos_change_log_status AFTER UPDATE OF status ON videos
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION video_change_log();
CREATE TRIGGER videos_change_log_delete AFTER DELETE ON videos
  FOR EACH ROW EXECUTE FUNCTION video_change_log();
CREATE TRIGGER video_stages_change_log_insert AFTER INSERT ON video_stages
  FOR EACH ROW EXECUTE FUNCTION video_change_log();
CREATE TRIGGER video_stages_change_log_update AFTER UPDATE ON video_stages
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress OR OLD.error_code IS DISTINCT FROM NEW.error_code)
  EXECUTE FUNCTION video_change_log();
