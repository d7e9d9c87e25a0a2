"""The knowledge-base schema: every structural slip in a copy of data/ is refused by
``twitchbn validate`` with exit 2 and one exact line per fault naming file, entry and key."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import DATA, TINY, run_cli

from twitchbn import KnowledgeBaseError, load_knowledge
from twitchbn.schema import DontMissRule

DONT_MISS = {
    "conditions": ["als", "multiple_sclerosis"], "threshold": 0.05, "lift": 5, "max": 3, "level": "see_doctor",
    "reason": "should be ruled out by a doctor", "source": "clinical convention",
}


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge base."""
    root = tmp_path / "kb"
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    return root


def edit(root: Path, name: str, change: Callable[[dict], object]) -> None:
    """Apply ``change`` to the document of root/name and write it back."""
    path = root / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def entry(doc: dict, key: str, eid: str) -> dict:
    return next(e for e in doc[key] if e["id"] == eid)


def assert_refused(root: Path, *lines: str) -> None:
    """``twitchbn validate root`` exits 2 with exactly these faults on stderr and nothing on stdout."""
    done = run_cli("validate", root)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [f"twitchbn: error: {line}" for line in lines]


# -- the shipped knowledge base -------------------------------------------------------------------
def test_the_shipped_knowledge_base_validates():
    done = run_cli("validate")
    assert (done.returncode, done.stderr) == (0, "")
    assert ": valid — " in done.stdout


def test_a_knowledge_base_without_dont_miss_validates():
    assert load_knowledge(TINY).triage.dont_miss is None


def test_dont_miss_is_read_as_a_typed_rule(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d.update(dont_miss=DONT_MISS))
    rule = load_knowledge(kb_copy).triage.dont_miss
    assert rule == DontMissRule(conditions=("als", "multiple_sclerosis"), threshold=0.05, lift=5.0, max=3,
                                level="see_doctor", reason="should be ruled out by a doctor", source="clinical convention")


# -- one slip, one line ------------------------------------------------------------------------------
def test_a_misspelt_key_of_a_condition_is_named_with_the_valid_keys(kb_copy: Path):
    def change(doc: dict) -> None:
        condition = entry(doc, "conditions", "caffeine_excess")
        condition["risk_factor"] = condition.pop("risk_factors")

    edit(kb_copy, "conditions.yaml", change)
    assert_refused(kb_copy, "conditions.yaml: condition 'caffeine_excess': unknown key 'risk_factor'; "
                            "valid keys: id, baseline, risk_factors, causes_twitching")


def test_a_misspelt_triage_section_is_named_with_the_valid_keys(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d.update(likley=d.pop("likely")))
    assert_refused(kb_copy, "triage.yaml: unknown key 'likley'; "
                            "valid keys: floors, likely, everyday_causes, unexplained, persistent, dont_miss")


def test_an_unknown_condition_category_is_refused(kb_copy: Path):
    edit(kb_copy, "vocabulary.yaml", lambda d: entry(d, "conditions", "als").update(category="neurological"))
    assert_refused(kb_copy, "vocabulary.yaml: condition 'als': category must be one of lifestyle, deficiency, local, disease; "
                            "got 'neurological'")


def test_an_unknown_category_in_a_triage_rule_is_refused(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d["likely"].update(categories=["deficiency", "diseases"]))
    assert_refused(kb_copy, "triage.yaml: likely.categories[1] must be one of lifestyle, deficiency, local, disease; got 'diseases'")


def test_an_entry_without_its_id_is_named_by_its_position(kb_copy: Path):
    edit(kb_copy, "conditions.yaml", lambda d: d["conditions"][0].update(idd=d["conditions"][0].pop("id")))
    assert_refused(kb_copy, "conditions.yaml: conditions[0]: missing key 'id'",
                   "conditions.yaml: conditions[0]: unknown key 'idd'; valid keys: id, baseline, risk_factors, causes_twitching")


def test_a_probability_of_400_digits_is_refused_and_echoed_shortened(kb_copy: Path):
    edit(kb_copy, "conditions.yaml", lambda d: entry(d, "conditions", "als")["baseline"].update(p=int("1" * 400)))
    assert_refused(kb_copy, f"conditions.yaml: condition 'als': baseline.p must be a probability in [0, 1]; got {'1' * 39}…")


def test_states_that_are_not_a_list_are_refused(kb_copy: Path):
    edit(kb_copy, "vocabulary.yaml", lambda d: entry(d, "findings", "twitch_eyelid").update(states=5))
    assert_refused(kb_copy, "vocabulary.yaml: finding 'twitch_eyelid': states must be a list; got 5")


def test_a_floor_written_as_a_plain_string_is_refused(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d["floors"].__setitem__(0, "breathing_difficulty yes urgent"))
    assert_refused(kb_copy, "triage.yaml: floors[0]: must be a mapping with keys finding, state, level, reason, source; "
                            "got 'breathing_difficulty yes urgent'")


def test_links_that_are_not_a_list_are_refused(kb_copy: Path):
    edit(kb_copy, "findings.yaml", lambda d: entry(d, "findings", "twitch_eyelid").update(links=7))
    assert_refused(kb_copy, "findings.yaml: finding 'twitch_eyelid': links must be a list; got 7")


def test_conditions_given_as_a_scalar_are_refused(kb_copy: Path):
    edit(kb_copy, "conditions.yaml", lambda d: d.update(conditions="caffeine_excess"))
    assert_refused(kb_copy, "conditions.yaml: conditions must be a list; got 'caffeine_excess'")


def test_a_dont_miss_condition_must_be_a_condition_of_the_knowledge_base(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d.update(dont_miss={**DONT_MISS, "conditions": ["als", "multiple_sclerosiss"]}))
    assert_refused(kb_copy, "triage.yaml: dont_miss.conditions[1] must be a condition of the knowledge base; "
                            "got 'multiple_sclerosiss' (closest: multiple_sclerosis)")


def test_a_dont_miss_threshold_above_one_is_refused(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d.update(dont_miss={**DONT_MISS, "threshold": 2}))
    assert_refused(kb_copy, "triage.yaml: dont_miss.threshold must be a probability in [0, 1]; got 2")


@pytest.mark.parametrize(("change", "fault"), [
    ({"lift": 0.5}, "dont_miss.lift must be a number of at least 1; got 0.5"),
    ({"max": 6}, "dont_miss.max must be a whole number from 1 to 5; got 6"),
    ({"max": 2.5}, "dont_miss.max must be a whole number from 1 to 5; got 2.5"),
    ({"level": "soon"}, "dont_miss.level must be one of self_care, see_doctor, urgent; got 'soon'"),
    ({"reason": " "}, "dont_miss.reason must be a non-empty string; got ' '"),
    ({"conditions": []}, "dont_miss.conditions must be a list of at least 1 entry; got []"),
    ({"threshhold": 0.05}, "unknown key 'threshhold' in dont_miss; valid keys: conditions, threshold, lift, rare_threshold, "
                           "rare_lift, probable, max, level, reason, source"),
], ids=lambda v: next(iter(v)) if isinstance(v, dict) else "")
def test_every_key_of_dont_miss_is_checked(kb_copy: Path, change: dict, fault: str):
    edit(kb_copy, "triage.yaml", lambda d: d.update(dont_miss={**DONT_MISS, **change}))
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge(kb_copy)
    assert info.value.faults == [f"triage.yaml: {fault}"]


def test_a_bare_yes_is_refused_with_a_hint_to_quote_it(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d["floors"][0].update(state=True))
    assert_refused(kb_copy, "triage.yaml: floors[0]: state must be a name of letters, digits and _; got True "
                            '(YAML reads a bare yes or no as true or false: write "yes" or "no")')


# -- every fault in one pass -------------------------------------------------------------------------
def test_three_independent_faults_are_all_listed(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d.update(likley=d.pop("likely")))
    edit(kb_copy, "conditions.yaml", lambda d: entry(d, "conditions", "als")["causes_twitching"].pop("why"))

    def halve_prior(doc: dict) -> None:
        for number in entry(doc, "exposures", "sleep_hours")["prior"].values():
            number["p"] = number["p"] / 2

    edit(kb_copy, "exposures.yaml", halve_prior)
    assert_refused(
        kb_copy,
        "conditions.yaml: condition 'als': missing key 'why' in causes_twitching",
        "triage.yaml: unknown key 'likley'; valid keys: floors, likely, everyday_causes, unexplained, persistent, dont_miss",
        "exposures.yaml: exposure 'sleep_hours': prior must sum to 1; got 0.5",
    )


def test_other_commands_show_the_first_fault_and_point_to_validate(kb_copy: Path):
    edit(kb_copy, "triage.yaml", lambda d: d.update(likley=d.pop("likely"), unexplaind=d.pop("unexplained")))
    done = run_cli("query", "--kb", kb_copy, "-e", "twitch_eyelid=yes")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "twitchbn: error: triage.yaml: unknown key 'likley'; valid keys: floors, likely, everyday_causes, unexplained, "
        f"persistent, dont_miss (and 1 more fault(s); 'twitchbn validate {kb_copy}' lists them all)\n"
    )


def test_a_number_of_thousands_of_digits_is_one_line_naming_the_file(kb_copy: Path):
    path = kb_copy / "conditions.yaml"
    text = re.sub(r"baseline: \{p: [0-9.e-]+", "baseline: {p: " + "1" * 5000, path.read_text(encoding="utf-8"), count=1)
    path.write_text(text, encoding="utf-8")  # an integer of 5,000 digits: YAML cannot convert it
    done = run_cli("validate", kb_copy)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "twitchbn: error: conditions.yaml: must be valid YAML with numbers of at most 4,300 digits; got a longer one\n"
