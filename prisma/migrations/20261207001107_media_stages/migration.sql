-- CreateEnum
CREATE TYPE "media_stage" AS ENUM ('transcode', 'thumbnails');

-- CreateEnum
CREATE TYPE "stage_status" AS ENUM ('pending', 'running', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "video_stages" (
    "video_id" UUID NOT NULL,
    "stage" "media_stage" NOT NULL,
    "status" "stage_status" NOT NULL,
    "progress" INTEGER NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),
    "error_code" TEXT,
    "error_message" TEXT,

    CONSTRAINT "video_stages_pkey" PRIMARY KEY ("video_id","stage")
);

-- CreateTable
CREATE TABLE "video_renditions" (
    "video_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "bandwidth" INTEGER NOT NULL,
    "average_bandwidth" INTEGER NOT NULL,
    "codecs" TEXT NOT NULL,
    "frame_rate" DOUBLE PRECISION NOT NULL,
    "playlist_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "video_renditions_pkey" PRIMARY KEY ("video_id","name")
);

-- CreateTable
CREATE TABLE "video_ladders" (
    "video_id" UUID NOT NULL,
    "master_playlist_key" TEXT NOT NULL,
    "duration_seconds" DOUBLE PRECISION NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "video_ladders_pkey" PRIMARY KEY ("video_id")
);

-- CreateTable
CREATE TABLE "video_thumbnails" (
    "video_id" UUID NOT NULL,
    "posters" JSONB NOT NULL,
    "placeholder" TEXT NOT NULL,
    "poster_time_seconds" DOUBLE PRECISION NOT NULL,
    "storyboard" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "video_thumbnails_pkey" PRIMARY KEY ("video_id")
);

-- AddForeignKey
ALTER TABLE "video_stages" ADD CONSTRAINT "video_stages_video_id_fkey" FOREIGN KEY ("video_id") REFERENCES "videos"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "video_renditions" ADD CONSTRAINT "video_renditions_video_id_fkey" FOREIGN KEY ("video_id") REFERENCES "videos"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "video_ladders" ADD CONSTRAINT "video_ladders_video_id_fkey" FOREIGN KEY ("video_id") REFERENCES "videos"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "video_thumbnails" ADD CONSTRAINT "video_thumbnails_video_id_fkey" FOREIGN KEY ("video_id") REFERENCES "videos"("id") ON DELETE CASCADE ON UPDATE CASCADE;
