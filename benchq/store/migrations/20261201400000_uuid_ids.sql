-- Snapshot and transaction ids become UUIDs, the original schema's type.
--
-- A database created by the original's schema file already has them (and
-- `benchq db upgrade` keeps its ids as they are); one created by earlier
-- benchq migrations had bigint ids, converted here: each old id N becomes
-- the fixed UUID 0000000T-0000-4000-8000-<N in hex>, T = 1 for transactions
-- and 2 for snapshots (the same as benchq/store/sqlite_ids.py), and every
-- snapshot keeps pointing at its transaction. Never edit this file once
-- applied: add a later migration instead.

CREATE OR REPLACE FUNCTION benchmark_legacy_uuid(p_tag integer, p_id bigint)
RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT (lpad(to_hex(p_tag), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(p_id), 12, '0'))::uuid;
$$;

DO $$
BEGIN
    IF (SELECT data_type FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'benchmark_transactions'
          AND column_name = 'id') = 'bigint' THEN
        -- The view reads both id columns; it is created again below.
        DROP VIEW IF EXISTS latest_benchmarks;

        ALTER TABLE benchmark_transactions ADD COLUMN uuid_id uuid;
        UPDATE benchmark_transactions SET uuid_id = benchmark_legacy_uuid(1, id);
        ALTER TABLE benchmark_snapshots ADD COLUMN uuid_id uuid, ADD COLUMN uuid_transaction_id uuid;
        UPDATE benchmark_snapshots SET uuid_id = benchmark_legacy_uuid(2, id),
            uuid_transaction_id = benchmark_legacy_uuid(1, transaction_id);

        ALTER TABLE benchmark_snapshots DROP CONSTRAINT benchmark_snapshots_transaction_id_fkey;
        ALTER TABLE benchmark_snapshots DROP COLUMN id, DROP COLUMN transaction_id;
        ALTER TABLE benchmark_transactions DROP COLUMN id;

        ALTER TABLE benchmark_transactions RENAME COLUMN uuid_id TO id;
        ALTER TABLE benchmark_transactions ALTER COLUMN id SET DEFAULT gen_random_uuid(),
            ADD PRIMARY KEY (id);
        ALTER TABLE benchmark_snapshots RENAME COLUMN uuid_id TO id;
        ALTER TABLE benchmark_snapshots RENAME COLUMN uuid_transaction_id TO transaction_id;
        ALTER TABLE benchmark_snapshots ALTER COLUMN id SET DEFAULT gen_random_uuid(),
            ADD PRIMARY KEY (id),
            ALTER COLUMN transaction_id SET NOT NULL,
            ADD CONSTRAINT benchmark_snapshots_transaction_id_fkey
                FOREIGN KEY (transaction_id) REFERENCES benchmark_transactions (id);
    END IF;
END
$$;

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
GRANT SELECT ON latest_benchmarks TO anon, authenticated, service_role;

-- Snapshots are read by their transaction (the latest view's join).
CREATE INDEX IF NOT EXISTS benchmark_snapshots_transaction
    ON benchmark_snapshots (transaction_id);

-- As in 20261201300000_provenance_and_failures.sql, with a uuid transaction id
-- (and a metrics value that must be a JSON object). A later redefinition must
-- declare tx_id uuid too.
CREATE OR REPLACE FUNCTION benchmark_publish(
    p_record jsonb, p_meta jsonb, p_benchq_run_id text DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    m jsonb := p_record -> 'metrics';
    tx_id uuid;
    next_version integer;
    snap benchmark_snapshots;
BEGIN
    IF coalesce(p_meta ->> 'commit_sha', '') = '' THEN
        RAISE EXCEPTION 'commit_sha is required' USING ERRCODE = 'not_null_violation';
    END IF;
    IF m IS NULL OR jsonb_typeof(m) = 'null' THEN
        RAISE EXCEPTION 'metrics is required' USING ERRCODE = 'not_null_violation';
    ELSIF jsonb_typeof(m) <> 'object' THEN
        RAISE EXCEPTION 'metrics must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
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

REVOKE EXECUTE ON FUNCTION benchmark_publish(jsonb, jsonb, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION benchmark_publish(jsonb, jsonb, text) TO service_role;
GRANT EXECUTE ON FUNCTION benchmark_legacy_uuid(integer, bigint)
    TO anon, authenticated, service_role;

NOTIFY pgrst, 'reload schema';
