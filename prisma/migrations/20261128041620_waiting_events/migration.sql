-- CreateTable
CREATE TABLE "waiting_events" (
    "consumer_group" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "original_offset" BIGINT NOT NULL,
    "event_id" TEXT,
    "waiting_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "waiting_events_pkey" PRIMARY KEY ("consumer_group","topic","key","original_offset")
);
