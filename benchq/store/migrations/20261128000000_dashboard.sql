-- benchq dashboard: aggregates computed in the database, and the documents
-- behind case results. Beside 20261127000000_init.sql; never edit either once
-- applied: add a later migration instead.
--
-- Every read function here is STABLE and runs as its caller (no SECURITY
-- DEFINER), so the anon key reads through the tables' row-level security.
-- The dashboard calls them with filters as arguments; lists are jsonb arrays
-- because PostgREST passes a JSON array as jsonb without a cast.

-- --- the documents a run showed its models ------------------------------------------

CREATE TABLE IF NOT EXISTS benchmark_case_documents (
    run_id          text NOT NULL,
    case_id         text NOT NULL,
    document_type   text NOT NULL,
    text            text NOT NULL,
    expected_issues jsonb NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (run_id, case_id)
);

-- Filters of the dashboard: environment, time (created_at) and model.
CREATE INDEX IF NOT EXISTS benchmark_snapshots_environment_created
    ON benchmark_snapshots (environment, created_at);
CREATE INDEX IF NOT EXISTS benchmark_snapshots_run
    ON benchmark_snapshots (benchq_run_id);

-- p_documents: a JSON array of CaseDocument dumps; keyed upsert, last one wins.
CREATE OR REPLACE FUNCTION benchmark_save_case_documents(p_run_id text, p_documents jsonb)
RETURNS integer LANGUAGE sql AS $$
    WITH input AS (
        SELECT d, ord FROM jsonb_array_elements(p_documents) WITH ORDINALITY AS e(d, ord)
    ), last AS (
        SELECT DISTINCT ON (d ->> 'case_id') d FROM input ORDER BY d ->> 'case_id', ord DESC
    ), ins AS (
        INSERT INTO benchmark_case_documents (run_id, case_id, document_type, text,
                                              expected_issues)
        SELECT p_run_id, d ->> 'case_id', d ->> 'document_type', d ->> 'text',
               coalesce(d -> 'expected_issues', '[]'::jsonb)
        FROM last
        ON CONFLICT (run_id, case_id) DO UPDATE SET
            document_type = excluded.document_type, text = excluded.text,
            expected_issues = excluded.expected_issues
        RETURNING 1
    )
    SELECT count(*)::integer FROM ins;
$$;

-- --- shared filter ---------------------------------------------------------------------

-- True when a snapshot passes the dashboard's sidebar: environment (NULL: all),
-- models (NULL or []: all), the last p_days UTC days including today (NULL: all).
CREATE OR REPLACE FUNCTION benchmark_dashboard_match(
    s benchmark_snapshots, p_environment text, p_models jsonb, p_days integer
) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT s.is_active
       AND (p_environment IS NULL OR s.environment = p_environment)
       AND (p_models IS NULL OR jsonb_array_length(p_models) = 0
            OR p_models ? s.model_version)
       AND (p_days IS NULL OR s.created_at >=
            (((now() AT TIME ZONE 'UTC')::date - (p_days - 1))::timestamp AT TIME ZONE 'UTC'));
$$;

-- --- configurations --------------------------------------------------------------------

CREATE OR REPLACE FUNCTION benchmark_dashboard_configurations(p_environment text DEFAULT NULL)
RETURNS TABLE (
    model_version text, dataset_version text, prompt_version text, environment text,
    snapshots integer, first_at timestamptz, last_at timestamptz,
    current_version integer, baseline_version integer,
    current_precision double precision, current_recall double precision,
    current_f1 double precision, current_latency_ms double precision,
    current_cost double precision, baseline_precision double precision,
    baseline_recall double precision, baseline_f1 double precision
) LANGUAGE sql STABLE AS $$
    SELECT s.model_version, s.dataset_version, s.prompt_version, s.environment,
           count(*)::integer, min(s.created_at), max(s.created_at),
           max(s.snapshot_version) FILTER (WHERE s.is_current),
           max(s.snapshot_version) FILTER (WHERE s.is_baseline),
           max(s.precision_score) FILTER (WHERE s.is_current),
           max(s.recall_score) FILTER (WHERE s.is_current),
           max(s.f1_score) FILTER (WHERE s.is_current),
           max(s.latency_ms) FILTER (WHERE s.is_current),
           max(s.cost_per_analysis) FILTER (WHERE s.is_current),
           max(s.precision_score) FILTER (WHERE s.is_baseline),
           max(s.recall_score) FILTER (WHERE s.is_baseline),
           max(s.f1_score) FILTER (WHERE s.is_baseline)
    FROM benchmark_snapshots s
    WHERE s.is_active AND (p_environment IS NULL OR s.environment = p_environment)
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4;
$$;

-- --- per day, per model ----------------------------------------------------------------

CREATE OR REPLACE FUNCTION benchmark_dashboard_daily(
    p_environment text DEFAULT NULL, p_models jsonb DEFAULT NULL, p_days integer DEFAULT NULL,
    p_per_model boolean DEFAULT false
) RETURNS TABLE (
    day date, model_version text, runs integer,
    f1_mean double precision, f1_std double precision, f1_min double precision,
    f1_max double precision, precision_mean double precision, recall_mean double precision,
    latency_mean double precision, cost_mean double precision
) LANGUAGE sql STABLE AS $$
    SELECT (s.created_at AT TIME ZONE 'UTC')::date,
           CASE WHEN p_per_model THEN s.model_version END,
           count(*)::integer, avg(s.f1_score), stddev_samp(s.f1_score), min(s.f1_score),
           max(s.f1_score), avg(s.precision_score), avg(s.recall_score), avg(s.latency_ms),
           avg(s.cost_per_analysis)
    FROM benchmark_snapshots s
    WHERE benchmark_dashboard_match(s, p_environment, p_models, p_days)
    GROUP BY 1, 2
    ORDER BY 1, 2;
$$;

CREATE OR REPLACE FUNCTION benchmark_dashboard_model_stats(
    p_environment text DEFAULT NULL, p_models jsonb DEFAULT NULL, p_days integer DEFAULT NULL
) RETURNS TABLE (
    model_version text, runs integer,
    f1_mean double precision, f1_std double precision, f1_min double precision,
    f1_max double precision, precision_mean double precision, recall_mean double precision,
    latency_mean double precision, cost_mean double precision,
    first_at timestamptz, last_at timestamptz
) LANGUAGE sql STABLE AS $$
    SELECT s.model_version, count(*)::integer, avg(s.f1_score), stddev_samp(s.f1_score),
           min(s.f1_score), max(s.f1_score), avg(s.precision_score), avg(s.recall_score),
           avg(s.latency_ms), avg(s.cost_per_analysis), min(s.created_at), max(s.created_at)
    FROM benchmark_snapshots s
    WHERE benchmark_dashboard_match(s, p_environment, p_models, p_days)
    GROUP BY 1
    ORDER BY 1;
$$;

-- --- tokens and cost behind current snapshots ---------------------------------------------

-- The model name a run stored its case results under, for a published model
-- version: the run summary says which model published it; else the run's model
-- list (`<model>-v1.0` is the default version); else the version itself.
CREATE OR REPLACE FUNCTION benchmark_snapshot_model_name(p_run_id text, p_model_version text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT rm.model_name FROM benchmark_run_models rm
         WHERE rm.run_id = p_run_id AND rm.monitoring ->> 'model_version' = p_model_version
         ORDER BY rm.model_name LIMIT 1),
        (SELECT m.name FROM benchmark_runs r, jsonb_array_elements_text(r.models) AS m(name)
         WHERE r.run_id = p_run_id AND p_model_version IN (m.name, m.name || '-v1.0')
         LIMIT 1),
        p_model_version);
$$;

CREATE OR REPLACE FUNCTION benchmark_dashboard_usage(
    p_environment text DEFAULT NULL, p_models jsonb DEFAULT NULL
) RETURNS TABLE (
    model_version text, dataset_version text, prompt_version text, environment text,
    snapshot_version integer, cases integer, failed_cases integer,
    avg_input_tokens double precision, avg_output_tokens double precision,
    avg_total_tokens double precision, total_cost_usd double precision,
    cost_per_case_usd double precision, avg_latency_ms double precision
) LANGUAGE sql STABLE AS $$
    WITH cur AS (
        SELECT s.*, benchmark_snapshot_model_name(s.benchq_run_id, s.model_version) AS model_name
        FROM benchmark_snapshots s
        WHERE s.is_current AND benchmark_dashboard_match(s, p_environment, p_models, NULL)
    )
    SELECT cur.model_version, cur.dataset_version, cur.prompt_version, cur.environment,
           cur.snapshot_version, count(c.case_id)::integer,
           (count(c.case_id) FILTER (WHERE NOT c.extraction_success))::integer,
           avg((c.result ->> 'input_tokens')::double precision),
           avg((c.result ->> 'output_tokens')::double precision),
           avg((c.result ->> 'total_tokens')::double precision),
           sum((c.result ->> 'cost_usd')::double precision),
           avg((c.result ->> 'cost_usd')::double precision),
           avg((c.result ->> 'extraction_latency_ms')::double precision)
               FILTER (WHERE c.extraction_success)
    FROM cur
    LEFT JOIN benchmark_case_results c
        ON c.run_id = cur.benchq_run_id AND c.model_name = cur.model_name
    GROUP BY cur.id, cur.model_version, cur.dataset_version, cur.prompt_version,
             cur.environment, cur.snapshot_version
    ORDER BY 1, 2, 3, 4;
$$;

-- --- row-level security and grants (as in the first migration) ----------------------------

ALTER TABLE benchmark_case_documents ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS benchmark_case_documents_read ON benchmark_case_documents;
CREATE POLICY benchmark_case_documents_read ON benchmark_case_documents
    FOR SELECT TO anon, authenticated USING (true);
DROP POLICY IF EXISTS benchmark_case_documents_write ON benchmark_case_documents;
CREATE POLICY benchmark_case_documents_write ON benchmark_case_documents
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON benchmark_case_documents FROM PUBLIC, anon, authenticated;
GRANT SELECT ON benchmark_case_documents TO anon, authenticated;
GRANT ALL ON benchmark_case_documents TO service_role;

REVOKE EXECUTE ON FUNCTION benchmark_save_case_documents(text, jsonb)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION benchmark_save_case_documents(text, jsonb) TO service_role;
GRANT EXECUTE ON FUNCTION
    benchmark_dashboard_match(benchmark_snapshots, text, jsonb, integer),
    benchmark_dashboard_configurations(text),
    benchmark_dashboard_daily(text, jsonb, integer, boolean),
    benchmark_dashboard_model_stats(text, jsonb, integer),
    benchmark_snapshot_model_name(text, text),
    benchmark_dashboard_usage(text, jsonb)
TO anon, authenticated, service_role;

NOTIFY pgrst, 'reload schema';
