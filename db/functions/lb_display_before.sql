-- How many places ahead of sort score s a ladder's display rank puts an entry with that
-- score, by tie mode: 'competition' counts the entries with a strictly better score (the
-- entries before the key (s, -infinity, ''), so lb_count_before's bounded cost), 'dense'
-- the distinct better scores (lb_count_scores_before.sql); 'ordinal' has no tie rule
-- (NULL: the display rank is the exact rank). In the caller's snapshot.
CREATE OR REPLACE FUNCTION lb_display_before(n integer, mode text, s bigint)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE mode
        WHEN 'competition' THEN lb_count_before(n, s, '-infinity'::timestamptz, '')
        WHEN 'dense' THEN lb_count_scores_before(n, s)
    END;
$$;
