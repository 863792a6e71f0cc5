-- CreateEnum
CREATE TYPE "upload_kind" AS ENUM ('tus', 'direct');

-- CreateTable
CREATE TABLE "upload_completions" (
    "upload_id" TEXT NOT NULL,
    "video_id" UUID NOT NULL,
    "owner_id" TEXT NOT NULL,
    "completed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "upload_completions_pkey" PRIMARY KEY ("upload_id")
);

-- CreateTable
CREATE TABLE "pending_uploads" (
    "id" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "kind" "upload_kind" NOT NULL,
    "object_key" TEXT NOT NULL,
    "s3_upload_id" TEXT,
    "size_bytes" BIGINT,
    "part_size_bytes" BIGINT,
    "title" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "pending_uploads_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "owner_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "fingerprint" TEXT,
    "status" INTEGER,
    "headers" JSONB,
    "body" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("owner_id","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "upload_completions_video_id_key" ON "upload_completions"("video_id");

-- CreateIndex
CREATE INDEX "pending_uploads_expires_at_idx" ON "pending_uploads"("expires_at");

-- CreateIndex
CREATE INDEX "pending_uploads_owner_id_created_at_idx" ON "pending_uploads"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys"("expires_at");
