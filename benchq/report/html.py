# ruff: noqa: E501, RUF001 - the page template below is HTML, not Python
"""One run as one self-contained HTML file: opens in any browser, offline, with no server.

Everything is inlined (styles, a few lines of script for the filters); the
page loads nothing from anywhere. It shows the run, each model's totals
with their confidence intervals when the run has them, the regression
verdicts, the grid of cases by models coloured by outcome, and every case:
its document with the lines the answers cite marked, the expected issues,
and each model's answer side by side.

Rendered with Jinja2, autoescaping on: documents and answers are text from
outside and are always escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import DictLoader, Environment

from benchq.report.collect import RunData
from benchq.report.outcomes import (
    OUTCOME_COLOURS,
    ModelTotals,
    Outcome,
    answer_issues,
    cited_lines,
    disagreement,
    format_interval,
    model_totals,
    outcome,
)
from benchq.scoring.schema import CaseResult
from benchq.store.explorer import CaseCell, base_case_id

#: Styles shared by the page and the dashboard's case panes.
_STYLE = """<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1400px; padding: 0 16px 48px; color: #1d232a; }
h1 { font-size: 22px; margin: 18px 0 4px; } h2 { font-size: 18px; margin-top: 28px; }
h3 { font-size: 15px; margin: 0 0 8px; }
.meta { color: #4a5560; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d5dae0; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #eef1f4; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
{% for name, colour in colours.items() %}.o-{{ name|replace(' ', '-') }} { background: {{ colour }}; }
{% endfor %}
.badge { display: inline-block; padding: 0 5px; margin: 1px 0; border-radius: 3px; font-size: 12px;
         white-space: nowrap; }
small.ci { color: #4a5560; white-space: nowrap; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 6px; border-radius: 3px; }
.filters { margin: 8px 0; display: flex; gap: 12px; align-items: center; font-size: 13px; }
.grid-wrap { max-height: 560px; overflow: auto; border: 1px solid #d5dae0; }
article { border-top: 2px solid #d5dae0; padding: 12px 0; }
.cols { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 6fr); gap: 16px; }
.answers { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 10px; }
.answer { border: 1px solid #d5dae0; border-radius: 4px; padding: 6px 8px; font-size: 13px; }
.answer h4 { margin: 0 0 4px; font-size: 13px; }
pre.doc { white-space: pre-wrap; font-size: 12px; background: #f7f8fa; padding: 8px;
          max-height: 480px; overflow: auto; margin: 0; }
pre.doc mark { background: #ffe58f; }
pre.raw { white-space: pre-wrap; font-size: 11px; max-height: 240px; overflow: auto; }
.error { color: #8a1c24; white-space: pre-wrap; }
ul.issues { margin: 4px 0; padding-left: 18px; } .muted { color: #6b7580; }
</style>"""

#: Each model's totals (`totals`: a list of `ModelTotals`).
_TOTALS = """<table id="totals">
<tr><th>model</th><th>cases</th><th>errors</th><th>precision<br><small>95% interval</small></th>
<th>recall<br><small>95% interval</small></th><th>F1<br><small>95% interval</small></th>
<th>latency (ms)<br><small>answered cases</small></th><th>tokens/case</th><th>cost (USD)</th>
<th>outcomes</th></tr>
{% for t in totals %}
<tr><td>{{ t.model_name }}</td><td class="num">{{ t.cases }}</td><td class="num">{{ t.errors }}</td>
<td class="num">{{ "%.3f"|format(t.precision) }}<br><small class="ci">{{ ci(t.precision_ci) }}</small></td>
<td class="num">{{ "%.3f"|format(t.recall) }}<br><small class="ci">{{ ci(t.recall_ci) }}</small></td>
<td class="num">{{ "%.3f"|format(t.f1) }}<br><small class="ci">{{ ci(t.f1_ci) }}</small></td>
<td class="num">{{ num(t.avg_latency_ms, 0) }}</td><td class="num">{{ num(t.avg_total_tokens, 0) }}</td>
<td class="num">{{ "%.5f"|format(t.total_cost_usd) }}</td>
<td>{% for o in outcomes %}<span class="badge o-{{ o|replace(' ', '-') }}" title="{{ o }}">{{ o }}: {{ t.outcomes[o] }}</span> {% endfor %}</td></tr>
{% endfor %}
</table>"""

#: One case (`c`: an item of `case_views`): document, expected issues, answers.
_CASE = """<article id="case-{{ c.id }}" data-case="{{ c.id }}" data-outcomes="{{ c.outcome_list }}">
<h3>{{ c.id }} · {{ c.document_type }} · disagreement {{ c.disagreement }}</h3>
<div class="cols">
<div><b>Document</b>{% if c.marked %} <span class="muted">(marked: lines an answer cites)</span>{% endif %}
{% if c.lines is none %}<p class="muted">The run did not store this document.</p>
{% else %}<pre class="doc">{% for line in c.lines %}{% if line.labels %}<mark title="{{ line.labels }}">{{ line.text }}</mark>{% else %}{{ line.text }}{% endif %}{{ nl }}{% endfor %}</pre>{% endif %}
</div>
<div>
<b>Expected issues</b>
{% if c.expected %}<ul class="issues">{% for e in c.expected %}<li><b>{{ e.type }}</b>{% if e.get('should_detect') == false %} (need not be detected){% endif %}{% if e.description %}: {{ e.description }}{% endif %}</li>{% endfor %}</ul>
{% else %}<p class="muted">None: this bill has no issue to find.</p>{% endif %}
<div class="answers">
{% for a in c.answers %}
<div class="answer o-{{ a.outcome|replace(' ', '-') }}">
<h4>{{ a.model }}: {{ a.outcome }}</h4>
<div>TP {{ a.tp }} · FP {{ a.fp }} · FN {{ a.fn }} · {{ num(a.latency, 0) }} ms · {{ num(a.tokens, 0) }} tokens · ${{ "%.5f"|format(a.cost) }}</div>
{% if a.error %}<div class="error"><b>Error:</b> {{ a.error }}</div>{% endif %}
{% if a.issues %}<ul class="issues">{% for i in a.issues %}<li><b>{{ i.type }}</b>{% if i.code %} [{{ i.code }}]{% endif %}{% if i.summary %}: {{ i.summary }}{% endif %}{% if i.evidence %}<br><span class="muted">“{{ i.evidence }}”</span>{% endif %}</li>{% endfor %}</ul>
{% elif not a.error %}<div class="muted">reported no issue</div>{% endif %}
{% if a.raw %}<details><summary>raw answer</summary><pre class="raw">{{ a.raw }}</pre></details>{% endif %}
</div>
{% endfor %}
</div>
</div>
</div>
</article>"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>benchq report: run {{ run.run_id }}</title>
{% include "style" %}
</head>
<body>
<h1>Run {{ run.run_id }}</h1>
<p class="meta">
suite <b>{{ run.suite }}</b> · dataset <b>{{ run.dataset_version }}</b> · prompt
<b>{{ run.prompt_version }}</b> · environment <b>{{ run.environment }}</b> · started
{{ run.created_at }} · status <b>{{ run.status.value }}</b>
{% if run.commit_sha %} · commit {{ run.commit_sha }}{% endif %}
{% if run.branch_name %} ({{ run.branch_name }}){% endif %}
· {{ cases|length }} cases × {{ models|length }} models · report written {{ written }}
</p>
{% if run_error %}<p class="error"><b>The run failed:</b> {{ run_error }}</p>{% endif %}
{% for s in failed_models %}<p class="error"><b>{{ s.model_name }} failed</b> (published no snapshot): {{ s.error or "no reason given" }}</p>{% endfor %}

<h2 id="summary">Summary</h2>
{% include "totals" %}

<h2 id="verdicts">Regression verdicts</h2>
{% if verdicts %}
<table>
<tr><th>model</th><th>model version</th><th>snapshot</th><th>verdict</th><th>baseline</th>
<th>current</th><th>F1 change (current − baseline)</th></tr>
{% for v in verdicts %}
<tr><td>{{ v.model_name }}</td><td>{{ v.model_version }}</td><td>{{ v.snapshot_version or "—" }}</td>
<td>{{ v.status }}{% if v.detail %}: {{ v.detail }}{% endif %}</td>
<td>{{ v.baseline_version or "—" }}</td><td>{{ v.current_version or "—" }}</td>
<td class="num">{{ signed(v.f1_change) }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="muted">No model of this run published a snapshot, so there is no verdict.</p>{% endif %}

<h2 id="grid">Cases by model</h2>
<p class="legend">{% for o in outcomes %}<span class="o-{{ o|replace(' ', '-') }}">{{ o }}</span>{% endfor %}
Sorted by disagreement between the models, most first. Select a case to read it below.</p>
<div class="filters">
<label>Outcome <select id="f-outcome"><option value="">any</option>
{% for o in outcomes %}<option>{{ o }}</option>{% endfor %}</select></label>
<label>Text <input id="f-text" type="search" placeholder="case id, type, document text"></label>
<span id="f-count"></span>
</div>
<div class="grid-wrap"><table id="case-grid">
<tr><th>case</th><th>document type</th><th>disagreement</th>
{% for m in models %}<th>{{ m }}</th>{% endfor %}</tr>
{% for c in cases %}
<tr data-case="{{ c.id }}" data-outcomes="{{ c.outcome_list }}"><td><a href="#case-{{ c.id }}">{{ c.id }}</a></td>
<td>{{ c.document_type }}</td><td class="num">{{ c.disagreement }}</td>
{% for m in models %}{% set cell = c.cells.get(m) %}
{% if cell %}<td class="o-{{ cell.outcome|replace(' ', '-') }}" title="TP {{ cell.tp }} / FP {{ cell.fp }} / FN {{ cell.fn }}">{{ cell.outcome }}</td>
{% else %}<td class="muted">—</td>{% endif %}
{% endfor %}</tr>
{% endfor %}
</table></div>

<h2 id="cases">Every case</h2>
{% for c in cases %}
{% include "case" %}
{% endfor %}
<script>
(function () {
  var outcome = document.getElementById("f-outcome"), text = document.getElementById("f-text");
  var rows = document.querySelectorAll("#case-grid tr[data-case]");
  var articles = document.querySelectorAll("article[data-case]");
  var count = document.getElementById("f-count");
  function apply() {
    var o = outcome.value, t = text.value.trim().toLowerCase(), shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var ok = (!o || rows[i].dataset.outcomes.split("|").indexOf(o) >= 0) &&
               (!t || articles[i].textContent.toLowerCase().indexOf(t) >= 0);
      rows[i].style.display = ok ? "" : "none";
      articles[i].style.display = ok ? "" : "none";
      if (ok) { shown++; }
    }
    count.textContent = shown + " of " + rows.length + " cases";
  }
  outcome.addEventListener("change", apply);
  text.addEventListener("input", apply);
  apply();
})();
</script>
</body>
</html>
"""


def _num(value: float | None, places: int) -> str:
    return "—" if value is None else f"{value:,.{places}f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3f}"


def _answer(result: CaseResult | None, cell: CaseCell) -> dict[str, Any]:
    """One model's answer card."""
    raw = result.raw_output if result is not None else ""
    return {
        "model": cell.model_name,
        "outcome": outcome(cell).value,
        "tp": cell.true_positives,
        "fp": cell.false_positives,
        "fn": cell.false_negatives,
        "latency": cell.extraction_latency_ms if cell.extraction_success else None,
        "tokens": cell.total_tokens,
        "cost": cell.cost_usd,
        "error": cell.error_message if not cell.extraction_success else None,
        "issues": answer_issues(raw),
        "raw": raw,
    }


def _case_order(case: dict[str, Any]) -> tuple[int, str]:
    return (-int(case["disagreement"]), str(case["id"]))


def case_views(data: RunData) -> list[dict[str, Any]]:
    """Every case of the run as the template shows it, most disagreement first."""
    by_case: dict[str, list[CaseCell]] = {}
    for cell in data.cells:
        by_case.setdefault(cell.case_id, []).append(cell)
    cases = []
    for case_id, cells in by_case.items():
        results = {r.model_name: r for r in data.answers.get(case_id, [])}
        answers = [_answer(results.get(c.model_name), c) for c in cells]
        document = data.documents.get(base_case_id(case_id))
        cites: dict[int, list[str]] = {}
        for a in answers:
            for index, labels in cited_lines(
                document.text if document else "", a["issues"]
            ).items():
                cites.setdefault(index, []).extend(f"{a['model']}: {label}" for label in labels)
        lines = (
            [
                {"text": line, "labels": ", ".join(cites.get(i, []))}
                for i, line in enumerate(document.text.splitlines())
            ]
            if document is not None
            else None
        )
        cases.append(
            {
                "id": case_id,
                "document_type": cells[0].document_type,
                "disagreement": disagreement(cells),
                "cells": {
                    c.model_name: {
                        "outcome": outcome(c).value,
                        "tp": c.true_positives,
                        "fp": c.false_positives,
                        "fn": c.false_negatives,
                    }
                    for c in cells
                },
                "outcome_list": "|".join(sorted({outcome(c).value for c in cells})),
                "answers": answers,
                "lines": lines,
                "marked": bool(cites),
                "expected": (
                    document.expected_issues
                    if document is not None
                    else [{"type": t} for t in cells[0].expected_types]
                ),
            }
        )
    cases.sort(key=_case_order)
    return cases


_ENV = Environment(
    loader=DictLoader({"page": _PAGE, "style": _STYLE, "totals": _TOTALS, "case": _CASE}),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: What every template may call.
_HELPERS: dict[str, Any] = {
    "ci": format_interval,
    "num": _num,
    "signed": _signed,
    "nl": "\n",
    "outcomes": [o.value for o in Outcome],
    "colours": {o.value: colour for o, colour in OUTCOME_COLOURS.items()},
}


def render_style() -> str:
    """The `<style>` element the pieces below need."""
    return _ENV.get_template("style").render(**_HELPERS)


def render_totals(totals: list[ModelTotals]) -> str:
    """Each model's totals as an HTML table."""
    return _ENV.get_template("totals").render(totals=totals, **_HELPERS)


def render_case(case: dict[str, Any]) -> str:
    """One case (an item of `case_views`) as an HTML article."""
    return _ENV.get_template("case").render(c=case, **_HELPERS)


def render_report(data: RunData, *, written: datetime | None = None) -> str:
    """The report of one run as one HTML document (a string)."""
    return _ENV.get_template("page").render(
        run=data.run,
        run_error=data.run.error,
        failed_models=[s for s in data.summaries if s.status == "failed"],
        written=(written or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        models=sorted({c.model_name for c in data.cells}),
        totals=model_totals(data.cells, data.aggregated()),
        verdicts=data.verdicts,
        cases=case_views(data),
        **_HELPERS,
    )
