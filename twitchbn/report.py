"""The printable one-page case summary: findings, ranking, can't-miss list, triage, next questions, sources.

``case_summary_html`` is a pure function of a ``QueryResult`` and a ``reasoning.next_questions``
frame: the same evidence always gives the same bytes (no date, no random ids), so a test can
compare it. The explorer offers it as a download and ``twitchbn report`` writes it to a file;
both call this function.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from twitchbn.inference import Model, QueryResult
from twitchbn.knowledge import Knowledge
from twitchbn.numbers import Number
from twitchbn.ui.render import DISCLAIMER, LEVELS, esc
from twitchbn.ui.render_sources import SEEDS, source_html
from twitchbn.wording import finding_text, percent, state_label

RANKED = 10  # conditions listed
QUESTIONS = 5  # next questions listed
EXPLAINED = 3  # leading conditions whose numbers are cited under "Sources"
SOURCES = 8  # sources listed at most (the knowledge-base notebook lists them all)

PRINT_STYLE = """<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; font-size: 11pt;
  color: #111827; max-width: 180mm; margin: 10mm auto; line-height: 1.35; }
h1 { font-size: 16pt; margin: 0 0 2mm 0; }
h2 { font-size: 12pt; margin: 4mm 0 1mm 0; border-bottom: 1px solid #cbd5e1; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 1px 4px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
ul { margin: 1mm 0; padding-left: 6mm; }
.disclaimer { border: 1px solid #64748b; padding: 2mm 3mm; font-weight: 600; margin: 2mm 0; }
.triage { border-left: 4px solid #64748b; padding: 1mm 3mm; }
.triage-urgent { border-color: #b91c1c; } .triage-see_doctor { border-color: #b45309; } .triage-self_care { border-color: #047857; }
.small { font-size: 9pt; color: #374151; }
a { color: #1d4ed8; word-break: break-all; }
@page { size: A4; margin: 10mm 12mm; }
@media print { body { margin: 0; max-width: none; font-size: 8pt; line-height: 1.2; } a { color: #111827; }
  h1 { font-size: 12pt; margin-bottom: 1mm; } h2 { font-size: 9.5pt; margin: 2mm 0 0.5mm 0; break-after: avoid; }
  th, td { padding: 0 3px; } ul, ol { margin: 0.5mm 0; } .disclaimer { padding: 1mm 2mm; margin: 1mm 0; }
  tr, li { break-inside: avoid; } }
</style>"""


def pct(p: float) -> str:
    """A probability as a percentage, escaped for HTML ('&lt;1%')."""
    return esc(percent(p))


def _cited_numbers(kb: Knowledge, evidence: dict[str, str], conditions: list[str]) -> Iterator[tuple[Number, str | None]]:
    """The hand-set numbers that tie the entered findings to ``conditions`` (with the finding state they describe)."""
    for cid in conditions:
        condition = next((c for c in kb.conditions if c.id == cid), None)
        if condition is None:
            continue
        yield condition.causes_twitching, None
        for rf in condition.risk_factors:
            if evidence.get(rf.exposure) == rf.state:
                yield rf.number, None
        for finding in kb.findings:
            if finding.id in evidence:
                for link in finding.links:
                    if link.condition == cid:
                        yield link.number, finding.states[-1]


def references(source: str) -> list[str]:
    """The works a number's source names: a seed article by its title, a publication with its link
    (a seed's paraphrase is left out; it is in the knowledge-base notebook)."""
    out = []
    for part in (p.strip() for p in source.split(";")):
        seed = part.split(":", 1)[0].strip()
        if seed in SEEDS:
            out.append(SEEDS[seed])
        elif part:
            out.append(part)
    return out


def sources_html(kb: Knowledge, evidence: dict[str, str], conditions: list[str]) -> str:
    """The works behind the numbers that tie the findings to ``conditions``, each once, links kept."""
    works = list(dict.fromkeys(work for number, _ in _cited_numbers(kb, evidence, conditions) for work in references(number.source)))
    if not works:
        return "<p>No hand-set number links these findings to the leading conditions.</p>"
    items = "".join(f"<li>{source_html(work)}</li>" for work in works[:SOURCES])
    more = len(works) - SOURCES
    rest = f'<li class="small">and {more} more (see the knowledge-base notebook)</li>' if more > 0 else ""
    return f'<ul class="sources">{items}{rest}</ul>'


def _ranking(result: QueryResult, top: int) -> str:
    rows = "".join(
        f'<tr data-condition="{esc(cid)}"><td class="num">{rank}</td><td>{esc(r["label"])}</td>'
        f'<td class="num">{pct(float(r["explains"]))}</td><td class="num">{pct(float(r["probability"]))}</td>'
        f'<td class="num">{pct(float(r["prior"]))}</td></tr>'
        for rank, (cid, r) in enumerate(result.conditions.head(top).iterrows(), start=1)
    )
    head = ('<tr><th class="num">#</th><th>Condition</th><th class="num">Explains the twitching</th>'
            '<th class="num">Present</th><th class="num">Before any finding</th></tr>')
    return f'<table class="ranking">{head}{rows}</table>'


def _dont_miss(result: QueryResult) -> str:
    if not result.dont_miss:
        return "<p>No serious condition is kept in play by these findings.</p>"
    frame = result.conditions
    items = "".join(f'<li data-condition="{esc(cid)}"><b>{esc(frame.at[cid, "label"])}</b> '
                    f'(present {pct(float(frame.at[cid, "probability"]))}): a doctor should rule it out.</li>'
                    for cid in result.dont_miss)
    return f'<ul class="dont-miss">{items}</ul>'


def _triage(result: QueryResult) -> str:
    triage = result.triage
    if triage.decided:
        title, hint = LEVELS.get(triage.level, (triage.level.upper(), ""))
        level = f"<b>{esc(title)}</b> — {esc(hint)}"
    else:
        level = "<b>NO VERDICT YET</b>"
    reasons = "".join(f"<li>{esc(reason)}</li>" for reason in triage.reasons)
    css = esc(triage.level if triage.decided else "none")
    return f'<div class="triage triage-{css}" data-level="{css}">{level}<ul>{reasons}</ul></div>'


def _questions(kb: Knowledge, frame: pd.DataFrame | None, top: int) -> str:
    if frame is None or frame.empty:
        return "<p>Every question the model knows is already answered.</p>"
    items = []
    for fid, r in frame.head(top).iterrows():
        effect = ""
        if "moves" in r and isinstance(r["moves"], str):
            effect = (f" — would move {esc(kb.label(r['moves']))} from {pct(float(r['moves_from']))} "
                      f"to {pct(float(r['moves_to']))}")
        items.append(f'<li data-finding="{esc(fid)}">{esc(r["label"])} <span class="small">(most telling answer: '
                     f'{esc(state_label(r["best_state"]))}{effect})</span></li>')
    return f'<ol class="next-questions">{"".join(items)}</ol>'


def case_summary_html(kb: Knowledge, result: QueryResult, questions: pd.DataFrame | None, top: int = RANKED,
                      n_questions: int = QUESTIONS) -> str:
    """The one-page case summary as a standalone HTML document (print CSS included).

    ``questions`` is ``reasoning.next_questions`` for the same evidence (None leaves that part out).
    """
    order = {vid: n for n, vid in enumerate([*(f.id for f in kb.findings), *(x.id for x in kb.exposures), *(c.id for c in kb.conditions)])}
    # the knowledge base's order, so the same findings give the same page whatever order they were entered in
    evidence = dict(sorted(result.evidence.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
    entered = ("<ul class=\"findings\">" + "".join(f"<li>{esc(finding_text(kb, v, s))}</li>" for v, s in evidence.items()) + "</ul>"
               if evidence else "<p>No findings entered: the ranking is the prior.</p>")
    leaders = list(result.conditions.index[:EXPLAINED]) + [c for c in result.dont_miss if c not in result.conditions.index[:EXPLAINED]]
    model = result.model
    parts = [
        "<h1>twitchbn case summary</h1>",
        f'<div class="disclaimer">{esc(DISCLAIMER)}</div>',
        f"<h2>Findings entered</h2>{entered}",
        f"<h2>Advice (triage)</h2>{_triage(result)}",
        f"<h2>Must not miss</h2>{_dont_miss(result)}",
        f"<h2>Ranked differential (top {min(top, len(result.conditions))} of {len(result.conditions)})</h2>{_ranking(result, top)}",
        '<p class="small">Explains: the chance that the condition is present and is what causes this twitching. '
        "Present: the chance that it is present at all.</p>",
    ]
    if questions is not None:
        parts.append(f"<h2>Best next questions</h2>{_questions(kb, questions, n_questions)}")
    parts += [
        f"<h2>Sources behind the leading conditions</h2>{sources_html(kb, evidence, leaders)}",
        f'<p class="small">Computed by {esc(model.get("name", "twitchbn"))} {esc(model.get("version", ""))}, knowledge base '
        f'{esc(str(model.get("knowledge_base_sha256", ""))[:12])}. Every number is hand-set from published sources and '
        "clinical convention; see the knowledge-base notebook for each one.</p>",
    ]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>twitchbn case summary</title>{PRINT_STYLE}</head>\n'
            f'<body><main class="case-summary">\n{body}\n</main></body></html>\n')


def case_summary(model: Model, evidence: dict[str, str], serious: bool = False) -> str:
    """The case summary for ``evidence`` (queried and with its next questions), as ``twitchbn report`` writes it."""
    from twitchbn import reasoning

    result = model.query(evidence)
    return case_summary_html(model.kb, result, reasoning.next_questions(model, dict(result.evidence), serious=serious))
