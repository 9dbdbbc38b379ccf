-- The rank of a submit is planned once per connection, not once per call.
--
-- lb_count_before runs once per score of every submit of up to 16 scores, to put the new
-- rank in the ack. PL/pgSQL caches a plan for its one statement, but PostgreSQL's plan
-- cache keeps building a custom plan for each call's values while the generic plan's
-- estimated cost is higher than the custom plans'. For this statement it always is (a
-- range over a row comparison with unknown bounds is estimated at a third of the index),
-- so every call planned six subqueries again. Measured with perf on the benchmark's
-- cluster under 32 single-score submitters: planning was 18% of all PostgreSQL CPU, and
-- nearly all of it was this statement. With the generic plan, the same load acked 1,026
-- and 1,097 submits/s against 809 and 905 without it (runs interleaved), and the
-- statement's mean time went from 2.0-2.4 ms to 1.0 ms.
--
-- The generic plan is the one the custom plans chose anyway: four ordered index probes
-- and their sums, none of which depends on where the key falls (the bounds come from the
-- probes, not from statistics). The client's own prepared statements (FETCH_RANK_ONLY
-- and the rest, through asyncpg) already switch to their generic plans after five calls.

ALTER FUNCTION lb_count_before(integer, bigint, timestamptz, text)
    SET plan_cache_mode = force_generic_plan;
