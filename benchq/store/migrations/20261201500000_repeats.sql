-- `--repeat N`: a case runs N times in one run; each repeat is its own row.
-- The row's key is the case id, or `id~repeat` for repeats after the first
-- (`CaseResult.result_key`; `~` is never in a case id), so the primary key
-- (run, model, case) stays as it is and a run without repeats is unchanged.

CREATE OR REPLACE FUNCTION benchmark_save_case_results(p_results jsonb) RETURNS integer
LANGUAGE sql AS $$
    WITH input AS (
        SELECT r, ord FROM jsonb_array_elements(p_results) WITH ORDINALITY AS e(r, ord)
    ), last AS (
        SELECT DISTINCT ON (r ->> 'run_id', r ->> 'model_name', coalesce(r ->> 'result_key', r ->> 'document_name')) r
        FROM input
        ORDER BY r ->> 'run_id', r ->> 'model_name',
                 coalesce(r ->> 'result_key', r ->> 'document_name'), ord DESC
    ), ins AS (
        INSERT INTO benchmark_case_results AS c
        SELECT r ->> 'run_id', r ->> 'model_name', coalesce(r ->> 'result_key', r ->> 'document_name'),
               r ->> 'document_type', (r ->> 'extraction_success')::boolean,
               (r ->> 'json_valid')::boolean, (r ->> 'true_positives')::integer,
               (r ->> 'false_positives')::integer, (r ->> 'false_negatives')::integer,
               r ->> 'error_message', coalesce(r ->> 'raw_output', ''), r
        FROM last
        ON CONFLICT (run_id, model_name, case_id) DO UPDATE SET
            document_type = excluded.document_type,
            extraction_success = excluded.extraction_success,
            json_valid = excluded.json_valid, true_positives = excluded.true_positives,
            false_positives = excluded.false_positives,
            false_negatives = excluded.false_negatives,
            error_message = excluded.error_message, raw_output = excluded.raw_output,
            result = excluded.result
        RETURNING 1
    )
    SELECT count(*)::integer FROM ins;
$$;

NOTIFY pgrst, 'reload schema';
