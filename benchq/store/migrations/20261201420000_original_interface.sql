-- The original system's SQL interface, on benchq's tables: its functions and views,
-- with its signatures and its results, so its push script, its check script and
-- any query written against it keep working on a benchq database.
--
-- benchq keeps scores as double precision; the original's columns were
-- NUMERIC(5,4) (precision, recall, F1), NUMERIC(10,2) (latency) and
-- NUMERIC(10,6) (cost), so everything here rounds to those places, which
-- gives the values (and the regression verdicts) the original gave. Writes go
-- through benchq's own functions (benchmark_publish, benchmark_checkout), so
-- they take the same per-configuration lock and keep one current snapshot.
-- Differences (docs/migrating.md): a new transaction's error_count and
-- success_count are unknown (NULL) instead of 0; an empty commit_sha or a
-- metrics value that is not a JSON object is refused; only the service role
-- may call the two writing functions. Never edit this file once applied.

-- --- writes ------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION upsert_benchmark_result(
    p_commit_sha TEXT,
    p_branch_name TEXT,
    p_model_version TEXT,
    p_model_provider TEXT,
    p_dataset_version TEXT,
    p_dataset_size INTEGER,
    p_prompt_version TEXT,
    p_environment TEXT,
    p_run_id TEXT,
    p_triggered_by TEXT,
    p_metrics JSONB,
    p_duration_seconds NUMERIC,
    p_tags TEXT[],
    p_notes TEXT
) RETURNS UUID LANGUAGE plpgsql AS $$
DECLARE
    snap jsonb;
BEGIN
    IF p_metrics IS NULL THEN
        RAISE EXCEPTION 'null value in column "metrics" of relation "benchmark_transactions"'
            USING ERRCODE = 'not_null_violation';
    END IF;
    snap := benchmark_publish(
        jsonb_build_object(
            'model_version', p_model_version, 'model_provider', p_model_provider,
            'dataset_version', p_dataset_version, 'dataset_size', p_dataset_size,
            'prompt_version', p_prompt_version, 'metrics', p_metrics,
            'duration_seconds', p_duration_seconds),
        jsonb_build_object(
            'commit_sha', p_commit_sha, 'branch_name', p_branch_name,
            'environment', p_environment, 'run_id', p_run_id, 'triggered_by', p_triggered_by,
            'tags', coalesce(to_jsonb(p_tags), '[]'::jsonb), 'notes', p_notes));
    RETURN (snap ->> 'transaction_id')::uuid;
END;
$$;

CREATE OR REPLACE FUNCTION checkout_snapshot(
    p_model_version TEXT,
    p_dataset_version TEXT,
    p_prompt_version TEXT,
    p_environment TEXT,
    p_snapshot_version INTEGER
) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM benchmark_snapshots
        WHERE model_version = p_model_version AND dataset_version = p_dataset_version
          AND prompt_version = p_prompt_version AND environment = p_environment
          AND snapshot_version = p_snapshot_version AND is_active
    ) THEN
        RAISE EXCEPTION 'Snapshot version % not found', p_snapshot_version;
    END IF;
    PERFORM benchmark_checkout(p_model_version, p_dataset_version, p_prompt_version,
        p_environment, p_snapshot_version);
    RETURN TRUE;
END;
$$;

-- --- reads --------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION detect_regression(
    p_model_version TEXT,
    p_threshold NUMERIC DEFAULT 0.05
) RETURNS TABLE (
    current_f1 NUMERIC,
    baseline_f1 NUMERIC,
    f1_drop NUMERIC,
    is_regression BOOLEAN
) LANGUAGE sql STABLE AS $$
    -- As the original: any configuration of the model version (it had no
    -- other key), the newest when there are several.
    WITH cur AS (
        SELECT benchmark_stored_score(f1_score) AS f1 FROM benchmark_snapshots
        WHERE model_version = p_model_version AND is_current AND is_active
        ORDER BY created_at DESC, snapshot_version DESC LIMIT 1
    ), base AS (
        SELECT benchmark_stored_score(f1_score) AS f1 FROM benchmark_snapshots
        WHERE model_version = p_model_version AND is_baseline
        ORDER BY created_at DESC, snapshot_version DESC LIMIT 1
    )
    SELECT c.f1, b.f1, b.f1 - c.f1, (b.f1 - c.f1) > p_threshold FROM cur c, base b;
$$;

CREATE OR REPLACE FUNCTION get_snapshot_history(
    p_model_version TEXT,
    p_dataset_version TEXT,
    p_prompt_version TEXT,
    p_environment TEXT,
    p_limit INTEGER DEFAULT 10
) RETURNS TABLE (
    snapshot_version INTEGER,
    created_at TIMESTAMPTZ,
    commit_sha TEXT,
    f1_score NUMERIC,
    precision_score NUMERIC,
    recall_score NUMERIC,
    latency_ms NUMERIC,
    is_current BOOLEAN,
    is_baseline BOOLEAN
) LANGUAGE sql STABLE AS $$
    SELECT s.snapshot_version, s.created_at, s.commit_sha,
           benchmark_stored_score(s.f1_score), benchmark_stored_score(s.precision_score),
           benchmark_stored_score(s.recall_score), round(s.latency_ms::numeric, 2),
           s.is_current, s.is_baseline
    FROM benchmark_snapshots s
    WHERE s.model_version = p_model_version AND s.dataset_version = p_dataset_version
      AND s.prompt_version = p_prompt_version AND s.environment = p_environment
      AND s.is_active
    ORDER BY s.snapshot_version DESC
    LIMIT p_limit;
$$;

CREATE OR REPLACE FUNCTION compare_snapshots(
    p_model_version TEXT,
    p_dataset_version TEXT,
    p_prompt_version TEXT,
    p_environment TEXT,
    p_version_a INTEGER,
    p_version_b INTEGER
) RETURNS TABLE (
    metric TEXT,
    version_a_value NUMERIC,
    version_b_value NUMERIC,
    delta NUMERIC,
    percent_change NUMERIC
) LANGUAGE sql STABLE AS $$
    WITH snaps AS (
        SELECT snapshot_version AS v,
               benchmark_stored_score(f1_score) AS f1,
               benchmark_stored_score(precision_score) AS p,
               benchmark_stored_score(recall_score) AS r,
               round(latency_ms::numeric, 2) AS lat,
               round(cost_per_analysis::numeric, 6) AS cost
        FROM benchmark_snapshots
        WHERE model_version = p_model_version AND dataset_version = p_dataset_version
          AND prompt_version = p_prompt_version AND environment = p_environment
    ), a AS (SELECT * FROM snaps WHERE v = p_version_a),
       b AS (SELECT * FROM snaps WHERE v = p_version_b),
       pairs(ord, metric, va, vb) AS (
        SELECT 1, 'f1_score', a.f1, b.f1 FROM a, b
        UNION ALL SELECT 2, 'precision', a.p, b.p FROM a, b
        UNION ALL SELECT 3, 'recall', a.r, b.r FROM a, b
        UNION ALL SELECT 4, 'latency_ms', a.lat, b.lat FROM a, b
        UNION ALL SELECT 5, 'cost_per_analysis', a.cost, b.cost FROM a, b
    )
    SELECT metric, va, vb, vb - va, ((vb - va) / NULLIF(va, 0) * 100)
    FROM pairs ORDER BY ord;
$$;

-- --- views ----------------------------------------------------------------------------

-- The original's views had no security_invoker (PostgreSQL 15 added it); benchq's
-- run as the caller so row-level security holds through them.
CREATE OR REPLACE VIEW v_latest_benchmarks WITH (security_invoker = true) AS
SELECT
    s.model_version,
    s.dataset_version,
    s.prompt_version,
    s.environment,
    s.snapshot_version,
    benchmark_stored_score(s.f1_score) AS f1_score,
    benchmark_stored_score(s.precision_score) AS precision_score,
    benchmark_stored_score(s.recall_score) AS recall_score,
    round(s.latency_ms::numeric, 2) AS latency_ms,
    round(s.cost_per_analysis::numeric, 6) AS cost_per_analysis,
    s.created_at,
    s.commit_sha,
    t.run_id,
    t.triggered_by,
    s.metrics
FROM benchmark_snapshots s
JOIN benchmark_transactions t ON s.transaction_id = t.id
WHERE s.is_current = TRUE
  AND s.is_active = TRUE
ORDER BY s.f1_score DESC;

CREATE OR REPLACE VIEW v_performance_trends WITH (security_invoker = true) AS
SELECT
    DATE_TRUNC('day', created_at) AS date,
    model_version,
    environment,
    COUNT(*) AS run_count,
    AVG((metrics->>'f1')::NUMERIC) AS avg_f1,
    AVG((metrics->>'precision')::NUMERIC) AS avg_precision,
    AVG((metrics->>'recall')::NUMERIC) AS avg_recall,
    AVG((metrics->>'latency_ms')::NUMERIC) AS avg_latency_ms,
    AVG((metrics->>'analysis_cost')::NUMERIC) AS avg_cost
FROM benchmark_transactions
WHERE metrics IS NOT NULL
GROUP BY DATE_TRUNC('day', created_at), model_version, environment
ORDER BY date DESC, model_version;

-- --- grants (as benchq's own: anyone reads, only the service role writes) --------------

REVOKE EXECUTE ON FUNCTION
    upsert_benchmark_result(text, text, text, text, text, integer, text, text, text, text,
                            jsonb, numeric, text[], text),
    checkout_snapshot(text, text, text, text, integer)
FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION
    upsert_benchmark_result(text, text, text, text, text, integer, text, text, text, text,
                            jsonb, numeric, text[], text),
    checkout_snapshot(text, text, text, text, integer)
TO service_role;
GRANT EXECUTE ON FUNCTION
    detect_regression(text, numeric),
    get_snapshot_history(text, text, text, text, integer),
    compare_snapshots(text, text, text, text, integer, integer)
TO anon, authenticated, service_role;
GRANT SELECT ON v_latest_benchmarks, v_performance_trends TO anon, authenticated, service_role;

NOTIFY pgrst, 'reload schema';
