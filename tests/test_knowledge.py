"""The shipped knowledge base validates, covers the vocabulary, and cites every number;
broken copies of it are refused with one message naming file, entry and fault."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import DATA, read_yaml, run_cli

from twitchbn import Knowledge, KnowledgeBaseError, load_knowledge
from twitchbn.errors import closest
from twitchbn.numbers import CONVENTION, SEED_FILES, is_cited, is_seeded, is_valid_source, source_counts


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture(scope="module")
def vocabulary() -> dict:
    return read_yaml(DATA / "vocabulary.yaml")


# -- the shipped knowledge base -------------------------------------------------------------------
def test_shipped_knowledge_base_validates_and_covers_its_vocabulary(kb: Knowledge, vocabulary: dict):
    exposures = {x.id for x in kb.exposures}
    assert len(kb.conditions) == len(vocabulary["conditions"])
    assert len(kb.exposures) + len(kb.findings) == len(vocabulary["findings"]) + len(vocabulary["tests"])
    assert exposures and exposures < {f["id"] for f in vocabulary["findings"]}
    assert kb.sha256 == load_knowledge(DATA).sha256  # the package ships the repository's data/


def test_every_vocabulary_condition_is_present_with_its_label_and_category(kb: Knowledge, vocabulary: dict):
    got = {c.id: (c.label, c.category) for c in kb.conditions}
    assert got == {c["id"]: (c["label"], c["category"]) for c in vocabulary["conditions"]}


def test_every_vocabulary_finding_is_present_with_exactly_its_states(kb: Knowledge, vocabulary: dict):
    expected = {f["id"]: tuple(f["states"]) for f in (*vocabulary["findings"], *vocabulary["tests"])}  # tests are findings too
    got = {x.id: x.states for x in kb.exposures} | {f.id: f.states for f in kb.findings}
    assert got == expected
    assert set(kb.variables) == set(expected) | {c["id"] for c in vocabulary["conditions"]}


def test_every_number_has_a_one_line_why_and_a_valid_source(kb: Knowledge):
    bad = [n.where for n in kb.numbers() if not n.why.strip() or "\n" in n.why or not is_valid_source(n.source)]
    assert bad == []
    assert len(kb.numbers()) > 100


def test_at_most_a_quarter_of_the_numbers_rest_on_clinical_convention_alone(kb: Knowledge):
    counts = source_counts(kb.numbers())
    assert counts["convention"] <= 0.25 * counts["numbers"], counts


def test_at_least_a_hundred_numbers_cite_a_url_or_doi(kb: Knowledge):
    assert source_counts(kb.numbers())["cited"] >= 100


def test_every_disease_and_deficiency_prior_cites_an_epidemiological_source(kb: Knowledge):
    """Baselines and age-group risk factors of serious conditions carry a URL or DOI."""
    uncited = [
        n.where for c in kb.conditions if c.category in ("disease", "deficiency")
        for n in (c.baseline, *(rf.number for rf in c.risk_factors if rf.exposure == "age_group"))
        if not is_cited(n.source)
    ]
    assert uncited == []


def test_source_kinds_are_recognised():
    assert is_cited("Amyotrophic lateral sclerosis (Lancet 2017) https://doi.org/10.1016/S0140-6736(16)31946-X")
    assert is_cited("a review, doi: 10.1001/jama.2016.0001") and not is_cited("clinical convention")
    assert is_seeded(f"{SEED_FILES[0]}: a paraphrase") and not is_seeded(f"see {SEED_FILES[0]}")
    assert not is_valid_source("my guess") and is_valid_source(CONVENTION)


def test_every_range_contains_its_point(kb: Knowledge):
    for n in kb.numbers():
        if n.range is not None:
            point = n.value[-1] if isinstance(n.value, tuple) else n.value  # a binary link stores (1 - p, p)
            assert n.range[0] <= point <= n.range[1], n.where


def test_every_triage_floor_has_a_reason_and_a_source(kb: Knowledge):
    assert kb.triage.floors
    for floor in kb.triage.floors:
        assert floor.reason.strip() and is_valid_source(floor.source), floor


def test_data_vocabulary_extends_the_shared_spec_and_never_drops_an_id_or_state(shared_dir: Path, vocabulary: dict):
    spec = read_yaml(shared_dir / "spec" / "vocabulary.yaml")
    ours = {c["id"]: c for c in vocabulary["conditions"]}
    for c in spec["conditions"]:
        assert (ours[c["id"]]["label"], ours[c["id"]]["category"]) == (c["label"], c["category"])
    states = {f["id"]: f["states"] for f in vocabulary["findings"]}
    assert all(states.get(f["id"]) == f["states"] for f in spec["findings"])
    assert vocabulary["triage_levels"] == spec["triage_levels"]


# -- broken copies ----------------------------------------------------------------------------------
def edit(root: Path, name: str, change: Callable[[dict], object]) -> object:
    """Load root/name, apply ``change`` to the document, write it back; return what change returned."""
    path = root / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def first_with_risk_factors(doc: dict) -> dict:
    return next(c for c in doc["conditions"] if c.get("risk_factors"))


def first_multi_state_link(doc: dict) -> tuple[dict, dict]:
    for f in doc["findings"]:
        for link in f.get("links") or []:
            if "dist" in link and len(link["dist"]) > 2:
                return f, link
    raise AssertionError("no multi-state link in findings.yaml")


def hint(name: str, root: Path, key: str) -> str:
    """The 'closest' hint for ``name`` among the vocabulary's ids under ``key``."""
    return ", ".join(closest(name, sorted(x["id"] for x in read_yaml(root / "vocabulary.yaml")[key])))


def unknown_condition_id(root: Path) -> tuple[str, str]:
    old = edit(root, "conditions.yaml", lambda d: (d["conditions"][0]["id"], d["conditions"][0].update(id="not_a_condition"))[0])
    return (f"conditions.yaml: condition 'not_a_condition': id must be a condition of vocabulary.yaml; got 'not_a_condition' "
            f"(closest: {hint('not_a_condition', root, 'conditions')})",
            f"conditions.yaml: condition '{old}' of vocabulary.yaml is missing")


def unknown_finding_id(root: Path) -> tuple[str, str]:
    old = edit(root, "findings.yaml", lambda d: (d["findings"][0]["id"], d["findings"][0].update(id="twitch_elbow"))[0])
    return (f"findings.yaml: finding 'twitch_elbow': id must be a finding of vocabulary.yaml; got 'twitch_elbow' "
            f"(closest: {hint('twitch_elbow', root, 'findings')})",
            f"exposures.yaml + findings.yaml: finding '{old}' of vocabulary.yaml is missing")


def bad_state(root: Path) -> tuple[str]:
    def change(doc: dict) -> tuple[str, str]:
        c = first_with_risk_factors(doc)
        c["risk_factors"][0]["state"] = "sometimes"
        return c["id"], c["risk_factors"][0]["exposure"]

    cid, exposure = edit(root, "conditions.yaml", change)
    states = ", ".join(next(f["states"] for f in read_yaml(root / "vocabulary.yaml")["findings"] if f["id"] == exposure))
    return (f"conditions.yaml: condition '{cid}': risk_factors[0].state must be a state of {exposure} ({states}); got 'sometimes'",)


def probability_above_one(root: Path) -> tuple[str]:
    cid = edit(root, "conditions.yaml", lambda d: (d["conditions"][0]["id"], d["conditions"][0]["baseline"].update(p=1.5))[0])
    return (f"conditions.yaml: condition '{cid}': baseline.p must be a probability in [0, 1]; got 1.5",)


def dist_not_summing_to_one(root: Path) -> tuple[str]:
    def change(doc: dict) -> tuple[str, int, float]:
        finding, link = first_multi_state_link(doc)
        link["dist"] = {s: v / 2 for s, v in link["dist"].items()}
        return finding["id"], finding["links"].index(link), sum(link["dist"].values())

    fid, index, total = edit(root, "findings.yaml", change)
    return (f"findings.yaml: finding '{fid}': links[{index}].dist must sum to 1; got {total!r}",)


def prior_not_summing_to_one(root: Path) -> tuple[str]:
    def change(doc: dict) -> tuple[str, float]:
        x = doc["exposures"][0]
        for number in x["prior"].values():
            number["p"] = number["p"] / 2
        return x["id"], sum(n["p"] for n in x["prior"].values())

    eid, total = edit(root, "exposures.yaml", change)
    return (f"exposures.yaml: exposure '{eid}': prior must sum to 1; got {total!r}",)


def missing_file(root: Path) -> tuple[str]:
    (root / "findings.yaml").unlink()
    return ("findings.yaml: file is missing",)


def yaml_syntax_error(root: Path) -> tuple[str]:
    with (root / "conditions.yaml").open("a", encoding="utf-8") as handle:
        handle.write("  - id: [unclosed\n")
    lines = len((root / "conditions.yaml").read_text(encoding="utf-8").splitlines())
    return (f"conditions.yaml line {lines + 1}: must be valid YAML; did not find expected ',' or ']'",)


def missing_vocabulary_condition(root: Path) -> tuple[str]:
    cid = edit(root, "conditions.yaml", lambda d: d["conditions"].pop()["id"])
    return (f"conditions.yaml: condition '{cid}' of vocabulary.yaml is missing",)


def missing_vocabulary_finding(root: Path) -> tuple[str]:
    fid = edit(root, "findings.yaml", lambda d: d["findings"].pop(0)["id"])
    return (f"exposures.yaml + findings.yaml: finding '{fid}' of vocabulary.yaml is missing",)


def missing_source(root: Path) -> tuple[str]:
    cid = edit(root, "conditions.yaml", lambda d: (d["conditions"][0]["id"], d["conditions"][0]["causes_twitching"].pop("source"))[0])
    return (f"conditions.yaml: condition '{cid}': missing key 'source' in causes_twitching",)


def missing_why(root: Path) -> tuple[str]:
    cid = edit(root, "conditions.yaml", lambda d: (d["conditions"][0]["id"], d["conditions"][0]["baseline"].pop("why"))[0])
    return (f"conditions.yaml: condition '{cid}': missing key 'why' in baseline",)


def duplicate_id(root: Path) -> tuple[str]:
    cid = edit(root, "conditions.yaml", lambda d: (d["conditions"][0]["id"], d["conditions"].append(dict(d["conditions"][0])))[0])
    return (f"conditions.yaml: condition '{cid}': is defined twice; each id appears once",)


BREAKAGES = [
    unknown_condition_id, unknown_finding_id, bad_state, probability_above_one, dist_not_summing_to_one,
    prior_not_summing_to_one, missing_file, yaml_syntax_error, missing_vocabulary_condition, missing_vocabulary_finding,
    missing_source, missing_why, duplicate_id,
]


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge base."""
    root = tmp_path / "kb"
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    return root


def test_an_unchanged_copy_loads(kb_copy: Path, kb: Knowledge):
    assert load_knowledge(kb_copy).sha256 == kb.sha256


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.__name__)
def test_a_broken_copy_is_refused_naming_file_entry_and_fault(kb_copy: Path, breakage):
    expected = breakage(kb_copy)
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge(kb_copy)
    error = info.value
    assert error.faults[0] == expected[0]
    assert all(fault in error.faults for fault in expected)
    more = f" (and {len(error.faults) - 1} more fault(s); 'twitchbn validate {kb_copy}' lists them all)" if len(error.faults) > 1 else ""
    assert str(error) == expected[0] + more
    assert "\n" not in str(error)
    assert error.path == str(kb_copy)


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.__name__)
def test_validate_exits_2_listing_every_fault_of_a_broken_copy_one_per_line(kb_copy: Path, breakage):
    expected = breakage(kb_copy)
    done = run_cli("validate", kb_copy)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"twitchbn: error: {fault}" for fault in expected]


def test_every_fault_is_collected_in_one_pass(kb_copy: Path):
    first = probability_above_one(kb_copy)[0]
    second = missing_source(kb_copy)[0]
    third = prior_not_summing_to_one(kb_copy)[0]
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge(kb_copy)
    assert info.value.faults == [first, second, third]
    assert str(info.value) == f"{first} (and 2 more fault(s); 'twitchbn validate {kb_copy}' lists them all)"


def test_a_path_that_is_not_a_directory_is_refused(tmp_path: Path):
    with pytest.raises(KnowledgeBaseError, match=r"nowhere: knowledge base must be a directory laid out like data/ \(vocabulary\.yaml"):
        load_knowledge(tmp_path / "nowhere")


def test_sha256_changes_when_a_number_changes(kb_copy: Path, kb: Knowledge):
    edit(kb_copy, "conditions.yaml", lambda d: d["conditions"][0]["baseline"].update(why="edited rationale"))
    assert load_knowledge(kb_copy).sha256 != kb.sha256
