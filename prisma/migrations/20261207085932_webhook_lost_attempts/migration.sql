-- An attempt lost with its dispatcher gets a row when its delivery is claimed again: dated by the claim
-- (claimed_at), with no answer known (latency_ms null).
-- AlterTable
ALTER TABLE "webhook_attempts" ALTER COLUMN "latency_ms" DROP NOT NULL;

-- AlterTable
ALTER TABLE "webhook_deliveries" ADD COLUMN     "claimed_at" TIMESTAMPTZ(3);
