-- Private data stays private. Bills are medical records (names, dates of birth,
-- member ids), and so are the models' answers and errors about them.
--
-- * `anon` and `authenticated` (Supabase's public and signed-in API roles) read
--   aggregates only: snapshots, transactions, the views over them and the
--   dashboard's aggregate functions. No document, no raw output, no case
--   result, no run record or per-run summary (the summary's aggregate holds
--   every case's outcome and error).
-- * `benchq_reader`, a new role, reads everything and writes nothing: the
--   dashboard's case views use it. docs/operations.md says how to give it a
--   key on Supabase and a login on plain Postgres.
-- * `service_role` writes, as before.
--
-- Self-contained: it names only objects of the migrations before it, and it
-- runs again harmlessly. Never edit it once applied: add a later migration.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'benchq_reader') THEN
        CREATE ROLE benchq_reader NOLOGIN NOINHERIT;
    END IF;
    -- Supabase's API connects as `authenticator` and switches to the role a
    -- key's `role` claim names; it may switch only to roles it is a member of.
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
        GRANT benchq_reader TO authenticator;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO benchq_reader;

-- --- case-level tables: closed to anon and authenticated ---------------------------------

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['benchmark_runs', 'benchmark_case_results',
        'benchmark_run_models', 'benchmark_case_documents']
    LOOP
        -- Both locks: no grant (the API answers "permission denied" instead of
        -- an empty list, so a misconfigured reader is noticed) and no policy.
        EXECUTE format('DROP POLICY IF EXISTS %I ON %I', t || '_read', t);
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated', t);
    END LOOP;
END
$$;

-- --- the reader: every benchq table and view, read-only ------------------------------------

-- benchq's relations by name, so a Supabase project's other tables stay out of reach.
DO $$
DECLARE
    rel record;
BEGIN
    FOR rel IN
        SELECT c.relname, c.relkind, c.relrowsecurity
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')
          AND (c.relname LIKE 'benchmark\_%'
               OR c.relname IN ('latest_benchmarks', 'performance_trends',
                                'v_latest_benchmarks', 'v_performance_trends'))
    LOOP
        EXECUTE format('GRANT SELECT ON %I TO benchq_reader', rel.relname);
        IF rel.relrowsecurity THEN
            EXECUTE format('DROP POLICY IF EXISTS %I ON %I', rel.relname || '_reader', rel.relname);
            EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO benchq_reader USING (true)',
                           rel.relname || '_reader', rel.relname);
        END IF;
    END LOOP;
END
$$;

-- --- functions that read case-level tables -------------------------------------------------

-- The model name behind a snapshot's run: a per-run lookup, not an aggregate.
-- (Functions are executable by PUBLIC unless revoked, and anon is in PUBLIC.)
REVOKE EXECUTE ON FUNCTION benchmark_snapshot_model_name(text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION benchmark_snapshot_model_name(text, text)
    TO benchq_reader, service_role;

-- Tokens and cost behind each current snapshot are aggregates (counts, sums,
-- means), which anon may read; the rows they come from are not. So this one
-- function runs as its owner, with a fixed search path (no object of the
-- caller's can stand in for ours), and returns only the aggregates.
ALTER FUNCTION benchmark_dashboard_usage(text, jsonb)
    SECURITY DEFINER SET search_path = public, pg_temp;
GRANT EXECUTE ON FUNCTION benchmark_dashboard_usage(text, jsonb)
    TO anon, authenticated, benchq_reader, service_role;

NOTIFY pgrst, 'reload schema';
