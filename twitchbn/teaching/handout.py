"""A printable handout: one page per lesson and case of a pack, from the same files as the notebook.

Each page holds the story, the findings step by step, the model's ranking once every finding is
known, its advice and must-not-miss list, the author's expected answer, the teaching point and
its sources. The HTML is self-contained and deterministic (same pack and model, same bytes);
print CSS starts every case on a new page.
"""

from __future__ import annotations

from twitchbn.inference import Model
from twitchbn.teaching.pack import Pack, TeachingFile
from twitchbn.ui.render import DISCLAIMER, LEVELS, esc
from twitchbn.ui.render_sources import source_html
from twitchbn.wording import finding_text, percent

TOP = 5  # conditions of the model's ranking on each page

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #0f172a; max-width: 760px; margin: 24px auto; }
.page { border-bottom: 1px dashed #94a3b8; padding-bottom: 16px; margin-bottom: 24px; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-bottom: 4px; } h3 { font-size: 14px; margin: 10px 0 2px; }
.kind { color: #64748b; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
table { border-collapse: collapse; font-size: 13px; } td, th { padding: 2px 8px; border-bottom: 1px solid #e2e8f0; text-align: left; }
td.num, th.num { text-align: right; } .note { color: #475569; font-size: 12px; } .point { background: #f1f5f9; padding: 6px 10px; }
@media print {
  body { margin: 0; max-width: none; font-size: 12pt; }
  .page { break-after: page; page-break-after: always; border: none; }
  .page:last-child { break-after: auto; page-break-after: auto; }
  a { color: inherit; text-decoration: none; }
  .cover { break-after: page; page-break-after: always; }
}
"""


def handout_html(pack: Pack, model: Model, title: str = "twitchbn teaching pack") -> str:
    """The whole handout as one HTML document."""
    pages = "".join(page_html(item, model) for item in pack.items)
    cover = (f'<div class="cover"><h1>{esc(title)}</h1><p>{len(pack.lessons)} lessons and {len(pack.cases)} quiz cases. '
             f'Probabilities from the twitchbn network.</p><p class="note"><b>Not a diagnosis.</b> {esc(DISCLAIMER)}</p></div>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body>{cover}{pages}</body></html>\n")


def page_html(item: TeachingFile, model: Model) -> str:
    """One lesson or case on one page."""
    kb = model.kb
    result = model.query(item.evidence())
    frame = result.conditions
    steps = "".join(
        f'<li>{"; ".join(esc(finding_text(kb, v, s)) for v, s in step.reveal.items())}'
        f'{f" <span class=note>({esc(step.say)})</span>" if step.say else ""}</li>'
        for step in item.steps
    )
    ranking = "".join(
        f'<tr data-condition="{esc(cid)}"><td class="num">{rank}</td><td>{esc(frame.at[cid, "label"])}</td>'
        f'<td class="num">{percent(float(frame.at[cid, "explains"]))}</td>'
        f'<td class="num">{percent(float(frame.at[cid, "probability"]))}</td></tr>'
        for rank, cid in enumerate(frame.index[:TOP], start=1)
    )
    dont_miss = ", ".join(esc(kb.label(c)) for c in result.dont_miss) or "none"
    expected = (f'First: {" or ".join(esc(kb.label(c)) for c in item.expected.first)}. '
                f'Must not miss: {", ".join(esc(kb.label(c)) for c in item.expected.must_not_miss) or "none"}. '
                f'Advice: {esc(LEVELS[item.expected.triage][0].lower())}.')
    disagreement = f'<p class="note"><b>Where the network differs:</b> {esc(item.disagreement)}</p>' if item.disagreement else ""
    sources = "".join(f"<li>{source_html(s)}</li>" for s in item.sources)
    return (
        f'<section class="page" data-id="{esc(item.id)}"><div class="kind">{esc(item.kind)}</div><h2>{esc(item.title)}</h2>'
        f"<p>{esc(item.story)}</p><h3>Findings, step by step</h3><ol>{steps}</ol>"
        f"<h3>Question</h3><p>{esc(item.question)}</p>"
        f'<h3>The network, with every finding known</h3><table><tr><th class="num">#</th><th>Condition</th>'
        f'<th class="num">Explains</th><th class="num">Present</th></tr>{ranking}</table>'
        f'<p>Advice: <b>{esc(LEVELS[result.triage.level][0].lower())}</b>. Must not miss: {dont_miss}.</p>'
        f"<h3>Expected answer</h3><p>{expected}</p>{disagreement}"
        f'<h3>Teaching point</h3><p class="point">{esc(item.teaching_point)}</p><h3>Sources</h3><ul class="note">{sources}</ul></section>'
    )
