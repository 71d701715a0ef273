-- Every result says what produced it, and a failed model is a failure, not a score.
--
-- * snapshots and transactions record the provider's model id and the prompt's
--   digest beside model_version / prompt_version (which are only labels);
-- * a run records the error that failed it (in its record, `error`), and when
--   its notification was claimed (`notified_at`: one message per run);
-- * a run's model summary says where its chain is (aggregated, published or
--   failed, and why) and holds the regression verdict of its snapshot.

ALTER TABLE benchmark_snapshots
    ADD COLUMN IF NOT EXISTS model_id text,
    ADD COLUMN IF NOT EXISTS prompt_digest text;
ALTER TABLE benchmark_transactions
    ADD COLUMN IF NOT EXISTS model_id text,
    ADD COLUMN IF NOT EXISTS prompt_digest text;
ALTER TABLE benchmark_run_models
    ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'published'
        CHECK (status IN ('aggregated', 'published', 'failed')),
    ADD COLUMN IF NOT EXISTS error text,
    ADD COLUMN IF NOT EXISTS verdict jsonb;
ALTER TABLE benchmark_runs ADD COLUMN IF NOT EXISTS notified_at timestamptz;

-- New columns go last: CREATE OR REPLACE VIEW may only append.
CREATE OR REPLACE VIEW latest_benchmarks WITH (security_invoker = true) AS
SELECT s.id, s.snapshot_version, s.created_at, s.model_version, s.dataset_version,
       s.prompt_version, s.environment, s.transaction_id, s.commit_sha, s.metrics,
       s.precision_score, s.recall_score, s.f1_score, s.latency_ms, s.cost_per_analysis,
       s.is_current, s.is_baseline, s.is_active, s.benchq_run_id,
       t.model_provider, t.branch_name, t.run_id, t.triggered_by, t.dataset_size,
       s.model_id, s.prompt_digest
FROM benchmark_snapshots s
JOIN benchmark_transactions t ON t.id = s.transaction_id
WHERE s.is_current AND s.is_active;

-- One function with an optional error, not two overloads: PostgREST resolves
-- rpc calls by argument names and refuses to choose between overloads.
DROP FUNCTION IF EXISTS benchmark_set_run_status(text, text);
CREATE OR REPLACE FUNCTION benchmark_set_run_status(
    p_run_id text, p_status text, p_error text DEFAULT NULL
) RETURNS void LANGUAGE sql AS $$
    UPDATE benchmark_runs
    SET status = p_status,
        -- the first error is the one that decided the run; later ones follow from it
        record = CASE WHEN p_error IS NOT NULL AND record ->> 'error' IS NULL
                      THEN record || jsonb_build_object('error', p_error) ELSE record END
    WHERE run_id = p_run_id;
$$;

CREATE OR REPLACE FUNCTION benchmark_save_run_summary(p_summary jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO benchmark_run_models (run_id, model_name, finished_at, snapshot_version,
                                      aggregated, monitoring, status, error, verdict)
    VALUES (p_summary ->> 'run_id', p_summary ->> 'model_name', p_summary ->> 'finished_at',
            (p_summary ->> 'snapshot_version')::integer, p_summary -> 'aggregated',
            p_summary -> 'monitoring', coalesce(p_summary ->> 'status', 'published'),
            p_summary ->> 'error', nullif(p_summary -> 'verdict', 'null'::jsonb))
    ON CONFLICT (run_id, model_name) DO UPDATE SET
        finished_at = excluded.finished_at, snapshot_version = excluded.snapshot_version,
        aggregated = excluded.aggregated, monitoring = excluded.monitoring,
        status = excluded.status, error = excluded.error, verdict = excluded.verdict;
$$;

-- True for exactly one caller per run: whoever sends the run's notification.
CREATE OR REPLACE FUNCTION benchmark_claim_notification(p_run_id text) RETURNS boolean
LANGUAGE sql AS $$
    WITH claimed AS (
        UPDATE benchmark_runs SET notified_at = now()
        WHERE run_id = p_run_id AND notified_at IS NULL
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM claimed);
$$;

-- `benchq resume`: the run is open again (queued, its error and its
-- notification's claim cleared); what it already stored stays.
CREATE OR REPLACE FUNCTION benchmark_reopen_run(p_run_id text) RETURNS void
LANGUAGE sql AS $$
    UPDATE benchmark_runs
    SET status = 'queued', record = record - 'error', notified_at = NULL
    WHERE run_id = p_run_id;
$$;

-- A notification that could not be delivered: let a later attempt claim it again.
CREATE OR REPLACE FUNCTION benchmark_release_notification(p_run_id text) RETURNS void
LANGUAGE sql AS $$
    UPDATE benchmark_runs SET notified_at = NULL WHERE run_id = p_run_id;
$$;

CREATE OR REPLACE FUNCTION benchmark_publish(
    p_record jsonb, p_meta jsonb, p_benchq_run_id text DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    m jsonb := p_record -> 'metrics';
    tx_id bigint;
    next_version integer;
    snap benchmark_snapshots;
BEGIN
    IF coalesce(p_meta ->> 'commit_sha', '') = '' THEN
        RAISE EXCEPTION 'commit_sha is required' USING ERRCODE = 'not_null_violation';
    END IF;
    PERFORM benchmark_lock_config(p_record ->> 'model_version', p_record ->> 'dataset_version',
        p_record ->> 'prompt_version', p_meta ->> 'environment');

    -- A run publishes each configuration once: a chord callback delivered
    -- again (its worker died after publishing) gets the snapshot it made.
    IF p_benchq_run_id IS NOT NULL THEN
        SELECT * INTO snap FROM benchmark_snapshots
        WHERE benchq_run_id = p_benchq_run_id
          AND model_version = p_record ->> 'model_version'
          AND dataset_version = p_record ->> 'dataset_version'
          AND prompt_version = p_record ->> 'prompt_version'
          AND environment = p_meta ->> 'environment';
        IF FOUND THEN
            RETURN to_jsonb(snap);
        END IF;
    END IF;

    INSERT INTO benchmark_transactions (
        commit_sha, branch_name, model_version, model_provider, dataset_version,
        dataset_size, prompt_version, environment, run_id, triggered_by, metrics,
        duration_seconds, error_count, success_count, tags, notes, recorded_at, benchq_run_id,
        model_id, prompt_digest)
    VALUES (
        p_meta ->> 'commit_sha', p_meta ->> 'branch_name', p_record ->> 'model_version',
        p_record ->> 'model_provider', p_record ->> 'dataset_version',
        (p_record ->> 'dataset_size')::integer, p_record ->> 'prompt_version',
        p_meta ->> 'environment', p_meta ->> 'run_id', p_meta ->> 'triggered_by', m,
        (p_record ->> 'duration_seconds')::double precision,
        (p_record ->> 'error_count')::integer, (p_record ->> 'success_count')::integer,
        ARRAY(SELECT jsonb_array_elements_text(coalesce(p_meta -> 'tags', '[]'::jsonb))),
        p_meta ->> 'notes', p_record ->> 'timestamp', p_benchq_run_id,
        p_record ->> 'model_id', p_record ->> 'prompt_digest')
    RETURNING id INTO tx_id;

    SELECT coalesce(max(snapshot_version), 0) + 1 INTO next_version
    FROM benchmark_snapshots
    WHERE model_version = p_record ->> 'model_version'
      AND dataset_version = p_record ->> 'dataset_version'
      AND prompt_version = p_record ->> 'prompt_version'
      AND environment = p_meta ->> 'environment';

    UPDATE benchmark_snapshots SET is_current = false
    WHERE model_version = p_record ->> 'model_version'
      AND dataset_version = p_record ->> 'dataset_version'
      AND prompt_version = p_record ->> 'prompt_version'
      AND environment = p_meta ->> 'environment'
      AND is_current;

    INSERT INTO benchmark_snapshots (
        snapshot_version, model_version, dataset_version, prompt_version, environment,
        transaction_id, commit_sha, metrics, precision_score, recall_score, f1_score,
        latency_ms, cost_per_analysis, is_current, benchq_run_id, model_id, prompt_digest)
    VALUES (
        next_version, p_record ->> 'model_version', p_record ->> 'dataset_version',
        p_record ->> 'prompt_version', p_meta ->> 'environment', tx_id,
        p_meta ->> 'commit_sha', m, (m ->> 'precision')::double precision,
        (m ->> 'recall')::double precision, (m ->> 'f1')::double precision,
        (m ->> 'latency_ms')::double precision, (m ->> 'analysis_cost')::double precision,
        true, p_benchq_run_id, p_record ->> 'model_id', p_record ->> 'prompt_digest')
    RETURNING * INTO snap;
    RETURN to_jsonb(snap);
END;
$$;

REVOKE EXECUTE ON FUNCTION
    benchmark_set_run_status(text, text, text),
    benchmark_claim_notification(text),
    benchmark_release_notification(text),
    benchmark_reopen_run(text)
FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION
    benchmark_set_run_status(text, text, text),
    benchmark_claim_notification(text),
    benchmark_release_notification(text),
    benchmark_reopen_run(text)
TO service_role;
GRANT SELECT ON latest_benchmarks TO anon, authenticated, service_role;

NOTIFY pgrst, 'reload schema';
