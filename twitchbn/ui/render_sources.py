"""HTML formatting of where a number comes from: its source (links, seed titles) and what it means.

Pure functions, shared by the explorer's panels, the knowledge-base browser, the teaching views and
the printable summary. No widget import and no medical logic here.
"""

from __future__ import annotations

import re

from twitchbn.knowledge import Knowledge
from twitchbn.ui.render import esc
from twitchbn.wording import state_label

URL = re.compile(r"https?://[^\s;,]+")
SEEDS = {  # the two seed articles, named for people instead of by file hash
    "000_0b4f9497a7fa5b7f.txt": "Seed article: muscle twitching, everyday causes and diseases",
    "003_d14b87ccbcc0eca4.txt": "Seed article: why your muscles twitch (exercise, stress, caffeine, sleep, nutrients)",
}


def source_html(source: str) -> str:
    """A number's source for reading: links for URLs and DOIs, seed file names as titles."""
    text = esc(source)
    for name, title in SEEDS.items():
        text = text.replace(esc(name), f'<span title="{esc(name)}">{esc(title)}</span>')
    return URL.sub(_link, text)


def _link(match: re.Match) -> str:
    """One URL as a link; a closing bracket or full stop that ends the sentence stays outside."""
    url, tail = match.group(0), ""
    while url[-1] in ".)]" and (url[-1] == "." or url.count(url[-1]) > url.count({")": "(", "]": "["}[url[-1]])):
        url, tail = url[:-1], url[-1] + tail
    return f'<a href="{url}" target="_blank" rel="noopener">{url}</a>{tail}'


WHERE = re.compile(r"^\w+\.yaml (?P<id>\S+) (?P<what>.+)$")


def number_meaning(kb: Knowledge, where: str, state: str | None = None) -> str:
    """What a hand-set number is, in words, from its place in the knowledge base.

    >>> import twitchbn
    >>> kb = twitchbn.load_model("tests/fixtures/tiny").kb
    >>> number_meaning(kb, "conditions.yaml sleep_deprivation causes_twitching")
    'How often Not enough sleep, when present, causes the twitching'
    >>> number_meaning(kb, "findings.yaml twitch_eyelid link from sleep_deprivation", "yes")
    'Eyelid twitch: yes, when Not enough sleep is present'
    """
    match = WHERE.match(where)
    if not match:
        return where
    vid, what = match["id"], match["what"]
    label = kb.label(vid)
    answer = f"{label}: {state_label(state)}" if state else label
    if what.startswith("prior[") and what.endswith("]"):
        return f"How common “{label}: {state_label(what[6:-1])}” is"
    if what == "baseline":
        return f"How common {label} is with no listed risk factor"
    if what == "causes_twitching":
        return f"How often {label}, when present, causes the twitching"
    if what == "leak":
        return f"{answer}, with none of the listed conditions present"
    if what.startswith("link from "):
        return f"{answer}, when {kb.label(what[len('link from '):])} is present"
    factor = re.fullmatch(r"risk_factors\[(\d+)\]", what)
    condition = next((c for c in kb.conditions if c.id == vid), None)
    if factor and condition is not None and int(factor[1]) < len(condition.risk_factors):
        rf = condition.risk_factors[int(factor[1])]
        return f"How likely {label} is when {kb.label(rf.exposure)}: {state_label(rf.state)}"
    return f"{label}: {state_label(what)}"
