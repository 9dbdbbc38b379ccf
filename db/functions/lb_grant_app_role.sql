-- The service's own database role, and exactly what it may do.
--
-- On AWS the Lambdas connect through RDS Proxy as this role (LEADERBOARD_DB_IAM_USER,
-- leaderboard_app) with IAM tokens, so it gets rds_iam where that role exists (Aurora).
-- The migration custom resource runs this, as the master user, after every migration
-- (db/roles.py), so tables and functions added later are granted too.
--
-- What the service does and nothing more: read and write rows of every table, use the
-- sequences, execute the functions. It owns nothing and may create nothing in the schema,
-- so it can alter, drop or truncate nothing (no DDL). What the migrations and the
-- deployment own (the ledgers, lb_setting) it may only read; the moderation audit log
-- (lb_audit) it may add to and pseudonymise, never delete from. The compactor VACUUMs
-- lb_rank_delta, which from PostgreSQL 17 on a non-owner may do with MAINTAIN; before
-- that the VACUUM is skipped with a warning and autovacuum does the work.
CREATE OR REPLACE FUNCTION lb_grant_app_role(app text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    schema_ text := current_schema();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', app);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        EXECUTE format('GRANT rds_iam TO %I', app);
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), app);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_, app);
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM %I', schema_, app);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                   schema_, app);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', schema_, app);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO %I', schema_, app);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON lb_schema_migration, lb_schema_function, '
                   'lb_setting FROM %I', app);
    -- the audit log is the service's to append to and to pseudonymise (erasure), never
    -- to delete from
    EXECUTE format('REVOKE DELETE, TRUNCATE ON lb_audit FROM %I', app);
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE format('GRANT MAINTAIN ON lb_rank_delta TO %I', app);
    END IF;
END;
$$;
