"""Export to BIF / XMLBIF, read back with ``interop.read_network``, and open the files in pyAgrum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyagrum as gum
import pytest
from conftest import REPO, TINY

from twitchbn import Model, TwitchbnError
from twitchbn.evaluation import load_cases
from twitchbn.interop import read_network
from twitchbn.model import export_network

EXACT = 1e-9
SINGLE = 1e-6  # pyAgrum parses BIF numbers in single precision
SMALL = [{}, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}, {"twitch_calf": "yes", "muscle_weakness": "no", "age_group": "adult"}]
EVIDENCE = [*SMALL,
            *(case.evidence for case in load_cases(REPO / "tests" / "cases" / "heldout.yaml")[::4])]


@pytest.fixture(scope="module")
def files(model: Model, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("interop")
    out = {"bif": folder / "twitchbn.bif", "xmlbif": folder / "twitchbn.bifxml"}
    for fmt, path in out.items():
        export_network(model.network, fmt, path)
    return out


@pytest.fixture(scope="module")
def back(files: dict[str, Path]) -> dict[str, Model]:
    return {fmt: read_network(path) for fmt, path in files.items()}


def posteriors(model: Model, evidence: dict) -> np.ndarray:
    frame = model.query(evidence).conditions.sort_index()
    return frame[["probability", "explains"]].to_numpy()


def agrum_posteriors(path: Path, model: Model, evidence: dict) -> np.ndarray:
    ie = gum.LazyPropagation(gum.loadBN(str(path)))
    ids = sorted(c.id for c in model.kb.conditions)
    for c in ids:  # targets let pyAgrum prune the finding chains it does not need
        ie.addTarget(c)
        ie.addTarget(f"cause_{c}")
    ie.setEvidence(dict(evidence))
    ie.makeInference()
    return np.asarray([[ie.posterior(c)[{c: "present"}], ie.posterior(f"cause_{c}")[{f"cause_{c}": "yes"}]] for c in ids])


@pytest.mark.parametrize("fmt", ["bif", "xmlbif"])
def test_round_trip_gives_identical_posteriors(model, back, fmt):
    for evidence in EVIDENCE:
        assert np.abs(posteriors(back[fmt], evidence) - posteriors(model, evidence)).max() <= EXACT


@pytest.mark.parametrize("fmt", ["bif", "xmlbif"])
def test_round_trip_keeps_ranking_and_triage(model, back, fmt):
    for evidence in EVIDENCE:
        a, b = model.query(evidence), back[fmt].query(evidence)
        assert list(a.conditions.index[:5]) == list(b.conditions.index[:5])
        assert a.triage == b.triage


def test_read_back_takes_labels_and_rules_from_the_shipped_knowledge_base(model, back):
    kb = back["xmlbif"].kb
    assert [c.id for c in kb.conditions] == [c.id for c in model.kb.conditions]
    assert kb.condition("als").label == model.kb.condition("als").label and kb.triage == model.kb.triage
    assert kb.condition("als").baseline.source == "imported: twitchbn.bifxml"


def test_read_back_recovers_the_hand_set_numbers_where_they_are_identifiable(tiny, tmp_path):
    path = tmp_path / "tiny.xml"
    export_network(tiny.network, "xmlbif", path)
    kb = read_network(path, reference=TINY).kb
    for f in tiny.kb.findings:
        got = {link.condition: link.number.value for link in kb.finding(f.id).links}
        assert np.allclose(kb.finding(f.id).leak.value, f.leak.value, atol=1e-12)
        for link in f.links:
            assert np.allclose(got[link.condition], link.number.value, atol=1e-12)
    for c in tiny.kb.conditions:
        assert kb.condition(c.id).causes_twitching.value == pytest.approx(c.causes_twitching.value, abs=1e-15)


@pytest.mark.parametrize(("source", "suffix", "tolerance"),
                         [("bif", ".bifxml", EXACT), ("xmlbif", ".bifxml", EXACT), ("bif", ".bif", SINGLE)])
def test_a_read_back_model_exports_again_and_pyagrum_agrees(back, tmp_path, source, suffix, tolerance):
    """pyAgrum reads XMLBIF (.bifxml) at full precision and BIF in single precision."""
    again = tmp_path / f"again{suffix}"
    export_network(back[source].network, "xmlbif" if suffix == ".bifxml" else "bif", again)
    for evidence in EVIDENCE[:6]:
        assert np.abs(agrum_posteriors(again, back[source], evidence) - posteriors(back[source], evidence)).max() <= tolerance


def _corrupt(text: str, node: str, table: str) -> str:
    start = text.index("<TABLE>", text.index(f"<FOR>{node}</FOR>"))
    return text[:start] + f"<TABLE>{table} </TABLE>" + text[text.index("</TABLE>", start) + len("</TABLE>"):]


def test_a_table_not_of_the_exported_form_is_refused_naming_the_node(tiny, tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text(_corrupt(export_network(tiny.network, "xmlbif"), "twitch_calf__2", "0.5 0.5 0.5 0.5 0.0 1.0 0.0 1.0"))
    with pytest.raises(TwitchbnError) as err:
        read_network(path, reference=TINY)
    assert str(err.value) == ("node 'twitch_calf__2' of 'bad.xml' is not a noisy-MAX chain step (max of the previous step and its "
                              "parent's link) (its table differs by 0.5 from the nearest one); twitchbn reads only networks it exported")


def test_a_cause_node_active_without_its_condition_is_refused(tiny, tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text(_corrupt(export_network(tiny.network, "xmlbif"), "cause_als", "0.9 0.1 0.2 0.8"))
    with pytest.raises(TwitchbnError, match=r"^node 'cause_als' of 'bad\.xml' is not 'yes' only when the condition is present"):
        read_network(path, reference=TINY)


def test_a_condition_table_that_is_no_noisy_or_is_refused(tiny, tmp_path):
    path = tmp_path / "bad.xml"  # sleep_deprivation has two exposures: a non-product table is not noisy-OR
    path.write_text(_corrupt(export_network(tiny.network, "xmlbif"), "sleep_deprivation", "0.9 0.1 0.1 0.9 0.1 0.9 0.9 0.1"))
    with pytest.raises(TwitchbnError, match=r"^node 'sleep_deprivation' of 'bad\.xml' is not a noisy-OR of its exposures"):
        read_network(path, reference=TINY)


def test_files_that_are_not_twitchbn_networks_are_refused(tmp_path):
    junk = tmp_path / "junk.bif"
    junk.write_text("network x { }\n")
    with pytest.raises(TwitchbnError) as err:
        read_network(junk)
    assert str(err.value) == ("'junk.bif' holds no twitchbn network (no condition with a cause_<condition> node); "
                              "twitchbn reads only networks it exported")
    with pytest.raises(TwitchbnError, match="does not exist"):
        read_network(tmp_path / "missing.bif")


def test_a_reference_with_other_variables_is_refused(files):
    with pytest.raises(TwitchbnError, match="reference knowledge base 'tiny' does not have the network's variables"):
        read_network(files["xmlbif"], reference=TINY)
