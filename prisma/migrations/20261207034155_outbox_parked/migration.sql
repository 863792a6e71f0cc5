-- CreateTable
CREATE TABLE "outbox_parked" (
    "position" BIGINT NOT NULL,
    "topic" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "parked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbox_parked_pkey" PRIMARY KEY ("position")
);
