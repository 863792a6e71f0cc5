-- Idempotency records go back to one row per (group, event id), with that pair as the primary key:
-- the key, not a lock or a watermark, is what lets only one commit of an event id apply its effects.

-- CreateTable
CREATE TABLE "processed_events" (
    "consumer_group" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer_group","event_id")
);

-- CreateIndex
CREATE INDEX "processed_events_consumer_group_processed_at_idx" ON "processed_events"("consumer_group", "processed_at");

-- ---------------------------------------------------------------------------
-- Hand-written below: every record carries over, or its event would run again.
-- ---------------------------------------------------------------------------

-- Each id of a set becomes a row of its own, stamped with its commit's time. Two sets can hold the
-- same id (their race was what the primary key now prevents): it is kept once, at its first commit.
INSERT INTO "processed_events" ("consumer_group", "event_id", "processed_at")
SELECT "consumer_group", "event_id", min("processed_at")
FROM "processed_event_sets", unnest("event_ids") AS "event_id"
GROUP BY "consumer_group", "event_id";

-- The watermarks only spared lookups; nothing in them is a record of its own.
-- DropTable
DROP TABLE "processed_event_sets";

-- DropTable
DROP TABLE "processed_watermarks";

-- Only the sets' GiST index (dropped with its table) used it.
DROP FUNCTION "uuid_order_key"(UUID);
