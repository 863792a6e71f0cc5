-- AlterTable
ALTER TABLE "processed_watermarks" ADD COLUMN     "version" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "processed_event_sets" (
    "id" BIGSERIAL NOT NULL,
    "consumer_group" TEXT NOT NULL,
    "first_event_id" UUID NOT NULL,
    "last_event_id" UUID NOT NULL,
    "event_ids" UUID[],
    "time_ordered" BOOLEAN NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_event_sets_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "processed_event_sets_consumer_group_last_event_id_idx" ON "processed_event_sets"("consumer_group", "last_event_id");

-- ---------------------------------------------------------------------------
-- Hand-written below (Prisma does not generate these; its diff leaves them alone).
-- ---------------------------------------------------------------------------

-- A uuid's first 8 bytes as a bigint that orders as the uuids do (Postgres orders uuids by
-- their bytes, unsigned; flipping the top bit makes the signed bigint order the same way).
-- There is no uuid range type to index, so a set's ids are indexed as the range of these keys.
CREATE FUNCTION "uuid_order_key"(id UUID) RETURNS BIGINT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ('x' || translate(left(id::text, 18), '-', ''))::bit(64)::bigint # (-9223372036854775808)::bigint
$$;

-- Finds the sets whose span holds an id: a few per id (one per partition committing at the
-- time), each then checked with = ANY(event_ids).
CREATE INDEX "processed_event_sets_span_idx" ON "processed_event_sets" USING gist (
    int8range(uuid_order_key("first_event_id"), uuid_order_key("last_event_id"), '[]')
);

-- The ids are random bits after their time: compressing them only costs CPU.
ALTER TABLE "processed_event_sets" ALTER COLUMN "event_ids" SET STORAGE EXTERNAL;

-- Records made before this migration move into sets: time-ordered ids (UUIDv7) in sets of up to
-- 1000 neighbours, any other id in a set of its own (random ids would widen a shared set's span
-- over every lookup), as the runtime records them.
INSERT INTO "processed_event_sets" ("consumer_group", "first_event_id", "last_event_id", "event_ids", "time_ordered", "processed_at")
SELECT "consumer_group", ids[1], ids[array_upper(ids, 1)], ids, "time_ordered", "processed_at"
FROM (
    SELECT "consumer_group", "time_ordered", array_agg("event_id" ORDER BY "event_id") AS ids, max("processed_at") AS "processed_at"
    FROM (
        SELECT "consumer_group", "event_id", "processed_at", "time_ordered",
               CASE WHEN "time_ordered" THEN (row_number() OVER (PARTITION BY "consumer_group", "time_ordered" ORDER BY "event_id") - 1) / 1000
                    ELSE row_number() OVER (PARTITION BY "consumer_group", "time_ordered" ORDER BY "event_id") END AS chunk
        FROM (SELECT *, substr("event_id"::text, 15, 1) = '7' AS "time_ordered" FROM "processed_events") AS versioned
    ) AS numbered
    GROUP BY "consumer_group", "time_ordered", chunk
) AS chunks;

-- A partition without a watermark row of its own takes the group's unattributed watermark
-- (topic '', partition -1): the highest id recorded without a known partition, which the records
-- made before watermarks existed are.
INSERT INTO "processed_watermarks" ("consumer_group", "topic", "partition", "max_event_id", "version")
SELECT "consumer_group", '', -1, (array_agg("event_id" ORDER BY "event_id" DESC))[1], 0
FROM "processed_events"
GROUP BY "consumer_group";

-- DropTable
DROP TABLE "processed_events";
