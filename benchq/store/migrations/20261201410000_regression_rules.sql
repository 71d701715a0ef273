-- The regression check judges by the original's rule by default, with two others by name.
--
-- `original`: the baseline's F1 minus the current F1 is more than the
-- threshold (0.05): an absolute drop, F1 only, as the original's
-- detect_regression. `absolute`: the same on precision, recall and F1.
-- `relative`: precision, recall or F1 fell by more than threshold x baseline
-- (the rule of 20261127000000_init.sql). Every score is taken at four decimal
-- places (the original's NUMERIC(5,4) columns) and compared as numeric, so
-- 0.400 -> 0.350 is a drop of exactly 0.05, which is not more than 0.05;
-- benchq/regression/original.py is the same rule in Python (SQLite).
-- Never edit this file once applied: add a later migration instead.

DROP FUNCTION IF EXISTS benchmark_regression_check(text, text, text, text, double precision);

-- A score as the original's NUMERIC(5,4) column held it.
CREATE OR REPLACE FUNCTION benchmark_stored_score(p_value double precision)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT round(p_value::numeric, 4);
$$;

CREATE OR REPLACE FUNCTION benchmark_regression_check(
    p_model_version text, p_dataset_version text, p_prompt_version text, p_environment text,
    p_threshold double precision DEFAULT 0.05, p_rule text DEFAULT 'original'
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    cur benchmark_snapshots;
    base benchmark_snapshots;
    checks jsonb;
    any_regressed boolean;
    limit_ numeric := p_threshold::numeric;
BEGIN
    IF p_rule IS NULL OR p_rule NOT IN ('original', 'absolute', 'relative') THEN
        RAISE EXCEPTION 'unknown regression rule %; the rules are original, absolute, relative',
            p_rule USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO cur FROM benchmark_snapshots
    WHERE model_version = p_model_version AND dataset_version = p_dataset_version
      AND prompt_version = p_prompt_version AND environment = p_environment AND is_current;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('status', 'no_current', 'regressed', false,
            'threshold', p_threshold, 'rule', p_rule, 'current_version', NULL,
            'baseline_version', NULL, 'checks', '[]'::jsonb);
    END IF;
    SELECT * INTO base FROM benchmark_snapshots
    WHERE model_version = p_model_version AND dataset_version = p_dataset_version
      AND prompt_version = p_prompt_version AND environment = p_environment AND is_baseline;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('status', 'no_baseline', 'regressed', false,
            'threshold', p_threshold, 'rule', p_rule, 'current_version', cur.snapshot_version,
            'baseline_version', NULL, 'checks', '[]'::jsonb);
    END IF;
    WITH pairs(metric, bv, cv) AS (
        VALUES ('precision', base.precision_score, cur.precision_score),
               ('recall', base.recall_score, cur.recall_score),
               ('f1', base.f1_score, cur.f1_score)
    ), checked AS (
        SELECT metric, bv, cv, cv - bv AS delta,
               CASE WHEN bv IS NULL OR cv IS NULL OR bv = 0 THEN NULL
                    ELSE 100.0 * (cv - bv) / bv END AS pct,
               coalesce(
                   (p_rule <> 'original' OR metric = 'f1')
                   AND benchmark_stored_score(bv) - benchmark_stored_score(cv) >
                       CASE WHEN p_rule = 'relative'
                            THEN limit_ * benchmark_stored_score(bv) ELSE limit_ END,
                   false) AS regressed
        FROM pairs
    )
    SELECT jsonb_agg(jsonb_build_object('metric', metric, 'baseline', bv, 'current', cv,
               'delta', delta, 'pct_change', pct, 'regressed', regressed)
               ORDER BY benchmark_metric_rank(metric)),
           bool_or(regressed)
    INTO checks, any_regressed FROM checked;
    RETURN jsonb_build_object(
        'status', CASE WHEN any_regressed THEN 'regression' ELSE 'ok' END,
        'regressed', any_regressed, 'threshold', p_threshold, 'rule', p_rule,
        'current_version', cur.snapshot_version, 'baseline_version', base.snapshot_version,
        'checks', checks);
END;
$$;

GRANT EXECUTE ON FUNCTION
    benchmark_stored_score(double precision),
    benchmark_regression_check(text, text, text, text, double precision, text)
TO anon, authenticated, service_role;

NOTIFY pgrst, 'reload schema';
