-- CreateTable
CREATE TABLE "processed_watermarks" (
    "consumer_group" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "max_event_id" UUID NOT NULL,

    CONSTRAINT "processed_watermarks_pkey" PRIMARY KEY ("consumer_group","topic","partition")
);
