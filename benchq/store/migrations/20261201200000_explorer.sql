-- benchq dashboard, second part: failed runs are failures, not scores of 0, and
-- the sidebar filters by dataset (suite). Beside 20261128000000_dashboard.sql;
-- never edit either once applied: add a later migration instead.
--
-- Nothing here reads case results or documents: the run explorer reads those
-- through the tables themselves (benchq/store/postgres_explorer.py), exactly
-- as `case_results` and `case_documents` do, so this file opens no new access
-- path to case data. The functions below cover snapshots and their uploads
-- only, which anonymous readers could already read.

-- --- snapshots with their outcome ----------------------------------------------------

-- failed: the upload reported cases and none of them succeeded (every model
-- call failed). Its F1 of 0 and latency of 0 ms are not results: the
-- dashboard shows it as a failure and leaves it out of means and rankings.
--
-- No view: a view would pin the id columns of snapshots and transactions,
-- which a later migration changes (20261201400000_uuid_ids.sql). Function
-- bodies below join the upload inline and are planned when they run.

-- True when a snapshot passes the sidebar: environment, models, days (as
-- benchmark_dashboard_match) and dataset (NULL: all).
CREATE OR REPLACE FUNCTION benchmark_dashboard_passes(
    s benchmark_snapshots, p_environment text, p_models jsonb, p_days integer,
    p_dataset text
) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT s.is_active
       AND (p_environment IS NULL OR s.environment = p_environment)
       AND (p_dataset IS NULL OR s.dataset_version = p_dataset)
       AND (p_models IS NULL OR jsonb_array_length(p_models) = 0
            OR p_models ? s.model_version)
       AND (p_days IS NULL OR s.created_at >=
            (((now() AT TIME ZONE 'UTC')::date - (p_days - 1))::timestamp AT TIME ZONE 'UTC'));
$$;

-- --- the aggregates, now with failures counted apart ------------------------------------

DROP FUNCTION IF EXISTS benchmark_dashboard_configurations(text);
CREATE FUNCTION benchmark_dashboard_configurations(p_environment text DEFAULT NULL)
RETURNS TABLE (
    model_version text, dataset_version text, prompt_version text, environment text,
    snapshots integer, first_at timestamptz, last_at timestamptz,
    current_version integer, baseline_version integer,
    current_precision double precision, current_recall double precision,
    current_f1 double precision, current_latency_ms double precision,
    current_cost double precision, baseline_precision double precision,
    baseline_recall double precision, baseline_f1 double precision,
    current_failed boolean, baseline_failed boolean, failed_snapshots integer
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
           max(s.f1_score) FILTER (WHERE s.is_baseline),
           coalesce(bool_or(f.failed) FILTER (WHERE s.is_current), false),
           coalesce(bool_or(f.failed) FILTER (WHERE s.is_baseline), false),
           (count(*) FILTER (WHERE f.failed))::integer
    FROM benchmark_snapshots s
    LEFT JOIN benchmark_transactions t ON t.id = s.transaction_id
    CROSS JOIN LATERAL (SELECT coalesce(t.success_count = 0 AND t.error_count > 0, false)
                        AS failed) f
    WHERE s.is_active AND (p_environment IS NULL OR s.environment = p_environment)
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4;
$$;

DROP FUNCTION IF EXISTS benchmark_dashboard_daily(text, jsonb, integer, boolean);
CREATE FUNCTION benchmark_dashboard_daily(
    p_environment text DEFAULT NULL, p_models jsonb DEFAULT NULL, p_days integer DEFAULT NULL,
    p_per_model boolean DEFAULT false, p_dataset text DEFAULT NULL
) RETURNS TABLE (
    day date, model_version text, runs integer, failed integer,
    f1_mean double precision, f1_std double precision, f1_min double precision,
    f1_max double precision, precision_mean double precision, recall_mean double precision,
    latency_mean double precision, cost_mean double precision
) LANGUAGE sql STABLE AS $$
    SELECT (s.created_at AT TIME ZONE 'UTC')::date,
           CASE WHEN p_per_model THEN s.model_version END,
           count(*)::integer, (count(*) FILTER (WHERE f.failed))::integer,
           avg(s.f1_score) FILTER (WHERE NOT f.failed),
           stddev_samp(s.f1_score) FILTER (WHERE NOT f.failed),
           min(s.f1_score) FILTER (WHERE NOT f.failed),
           max(s.f1_score) FILTER (WHERE NOT f.failed),
           avg(s.precision_score) FILTER (WHERE NOT f.failed),
           avg(s.recall_score) FILTER (WHERE NOT f.failed),
           avg(s.latency_ms) FILTER (WHERE NOT f.failed),
           avg(s.cost_per_analysis) FILTER (WHERE NOT f.failed)
    FROM benchmark_snapshots s
    LEFT JOIN benchmark_transactions t ON t.id = s.transaction_id
    CROSS JOIN LATERAL (SELECT coalesce(t.success_count = 0 AND t.error_count > 0, false)
                        AS failed) f
    WHERE benchmark_dashboard_passes(s, p_environment, p_models, p_days, p_dataset)
    GROUP BY 1, 2
    ORDER BY 1, 2;
$$;

DROP FUNCTION IF EXISTS benchmark_dashboard_model_stats(text, jsonb, integer);
CREATE FUNCTION benchmark_dashboard_model_stats(
    p_environment text DEFAULT NULL, p_models jsonb DEFAULT NULL, p_days integer DEFAULT NULL,
    p_dataset text DEFAULT NULL
) RETURNS TABLE (
    model_version text, runs integer, failed integer,
    f1_mean double precision, f1_std double precision, f1_min double precision,
    f1_max double precision, precision_mean double precision, recall_mean double precision,
    latency_mean double precision, cost_mean double precision,
    first_at timestamptz, last_at timestamptz
) LANGUAGE sql STABLE AS $$
    SELECT s.model_version, count(*)::integer, (count(*) FILTER (WHERE f.failed))::integer,
           avg(s.f1_score) FILTER (WHERE NOT f.failed),
           stddev_samp(s.f1_score) FILTER (WHERE NOT f.failed),
           min(s.f1_score) FILTER (WHERE NOT f.failed),
           max(s.f1_score) FILTER (WHERE NOT f.failed),
           avg(s.precision_score) FILTER (WHERE NOT f.failed),
           avg(s.recall_score) FILTER (WHERE NOT f.failed),
           avg(s.latency_ms) FILTER (WHERE NOT f.failed),
           avg(s.cost_per_analysis) FILTER (WHERE NOT f.failed),
           min(s.created_at), max(s.created_at)
    FROM benchmark_snapshots s
    LEFT JOIN benchmark_transactions t ON t.id = s.transaction_id
    CROSS JOIN LATERAL (SELECT coalesce(t.success_count = 0 AND t.error_count > 0, false)
                        AS failed) f
    WHERE benchmark_dashboard_passes(s, p_environment, p_models, p_days, p_dataset)
    GROUP BY 1
    ORDER BY 1;
$$;

-- --- each snapshot as a point (trends over a short span) --------------------------------------

-- The newest p_limit snapshots of the filter. Snapshot rows and their outcome
-- only: what anonymous readers could already read from the table.
CREATE OR REPLACE FUNCTION benchmark_dashboard_points(
    p_environment text DEFAULT NULL, p_models jsonb DEFAULT NULL, p_days integer DEFAULT NULL,
    p_dataset text DEFAULT NULL, p_limit integer DEFAULT 1000
) RETURNS TABLE (
    created_at timestamptz, model_version text, dataset_version text, prompt_version text,
    environment text, snapshot_version integer, f1_score double precision,
    precision_score double precision, recall_score double precision,
    latency_ms double precision, failed boolean, benchq_run_id text
) LANGUAGE sql STABLE AS $$
    SELECT s.created_at, s.model_version, s.dataset_version, s.prompt_version, s.environment,
           s.snapshot_version, s.f1_score, s.precision_score, s.recall_score, s.latency_ms,
           coalesce(t.success_count = 0 AND t.error_count > 0, false), s.benchq_run_id
    FROM benchmark_snapshots s
    LEFT JOIN benchmark_transactions t ON t.id = s.transaction_id
    WHERE benchmark_dashboard_passes(s, p_environment, p_models, p_days, p_dataset)
    ORDER BY s.created_at DESC
    LIMIT p_limit;
$$;

-- --- grants: aggregates and snapshot rows, as before ---------------------------------------

GRANT EXECUTE ON FUNCTION
    benchmark_dashboard_passes(benchmark_snapshots, text, jsonb, integer, text),
    benchmark_dashboard_points(text, jsonb, integer, text, integer),
    benchmark_dashboard_configurations(text),
    benchmark_dashboard_daily(text, jsonb, integer, boolean, text),
    benchmark_dashboard_model_stats(text, jsonb, integer, text)
TO anon, authenticated, service_role;

NOTIFY pgrst, 'reload schema';
