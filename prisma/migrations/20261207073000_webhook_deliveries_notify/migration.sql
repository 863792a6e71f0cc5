-- Hand-written: wakes the webhook dispatchers (LISTEN webhook_deliveries) when deliveries become due,
-- delivered on commit: new deliveries (one NOTIFY per statement, a fan-out writes many), and a
-- delivery made due at once (a retry asked for through the API, an attempt given back at shutdown).
-- A claim pushes next_attempt_at into the future, so the dispatchers' own leases wake nobody.
CREATE FUNCTION webhook_deliveries_due() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('webhook_deliveries', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER webhook_deliveries_due_insert AFTER INSERT ON webhook_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_due();
CREATE TRIGGER webhook_deliveries_due_update AFTER UPDATE OF next_attempt_at, status ON webhook_deliveries
  FOR EACH ROW WHEN (NEW.status = 'pending' AND NEW.next_attempt_at <= now()) EXECUTE FUNCTION webhook_deliveries_due();
