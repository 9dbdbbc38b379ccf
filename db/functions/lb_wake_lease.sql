-- How long a wake-up's lease lasts (db/lease.py): the writer that invokes the broadcaster
-- holds it this long, time enough for the invocation to start, and a working broadcaster
-- extends it by this much every round. `wake_lease_ms` in lb_setting, 1000 by default.
CREATE OR REPLACE FUNCTION lb_wake_lease() RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT value FROM lb_setting WHERE key = 'wake_lease_ms'), '1000')::int
           * interval '1 millisecond'
$$;
