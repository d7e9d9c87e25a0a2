"""The exported network, read by pyAgrum (and pgmpy), gives the engine's posteriors.

XMLBIF is read by pyAgrum at full precision: posteriors must agree to 1e-9. pyAgrum parses BIF
numbers in single precision, so the BIF export is checked against it to 1e-6 only, and against
pgmpy's ``BIFReader`` (full precision) table by table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyagrum as gum
import pytest
from conftest import run_cli
from pgmpy.readwrite import BIFReader

from twitchbn import ImpossibleEvidenceError, Model

EXACT = 1e-9
SINGLE = 1e-6


def random_evidence_sets(model: Model, seed: int, count: int, sizes: tuple[int, int]) -> list[dict[str, str]]:
    """``count`` seeded evidence sets over the vocabulary variables (conditions included)."""
    rng = np.random.default_rng(seed)
    names = sorted(model.variables)
    out = []
    for _ in range(count):
        chosen = rng.choice(len(names), size=int(rng.integers(sizes[0], sizes[1] + 1)), replace=False)
        out.append({names[i]: model.variables[names[i]][int(rng.integers(len(model.variables[names[i]])))] for i in chosen})
    return out


def exported(tmp_path_factory: pytest.TempPathFactory, fmt: str, suffix: str) -> Path:
    path = tmp_path_factory.mktemp("export") / f"twitchbn{suffix}"
    done = run_cli("export", "--format", fmt, "-o", path)
    assert done.returncode == 0, done.stderr
    return path


class Agrum:
    """pyAgrum LazyPropagation on an exported file, targeting every condition and cause node."""

    def __init__(self, path: Path, model: Model):
        self.bn = gum.loadBN(str(path))
        self.ie = gum.LazyPropagation(self.bn)
        self.conditions = [c.id for c in model.kb.conditions]
        for cid in self.conditions:
            self.ie.addTarget(cid)
            self.ie.addTarget(f"cause_{cid}")

    def posteriors(self, evidence: dict[str, str]) -> dict[str, tuple[float, float]]:
        """P(present) and P(cause_=yes) of every condition."""
        self.ie.setEvidence(evidence)
        self.ie.makeInference()
        out = {}
        for cid in self.conditions:
            present = self.ie.posterior(cid)[{cid: "present"}]
            cause = self.ie.posterior(f"cause_{cid}")[{f"cause_{cid}": "yes"}]
            out[cid] = (float(present), float(cause))
        return out


@pytest.fixture(scope="module")
def agrum_xml(model: Model, tmp_path_factory: pytest.TempPathFactory) -> Agrum:
    return Agrum(exported(tmp_path_factory, "xmlbif", ".bifxml"), model)


@pytest.fixture(scope="module")
def bif_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return exported(tmp_path_factory, "bif", ".bif")


def compare(model: Model, agrum: Agrum, evidence_sets: list[dict[str, str]], tolerance: float) -> tuple[int, int]:
    """Assert every condition's probability and explains match pyAgrum; return (checked, impossible)."""
    checked = impossible = 0
    for evidence in evidence_sets:
        try:
            frame = model.query(evidence).conditions
        except ImpossibleEvidenceError:
            impossible += 1
            continue
        for cid, (present, cause) in agrum.posteriors(evidence).items():
            assert abs(frame.at[cid, "probability"] - present) <= tolerance, (evidence, cid, frame.at[cid, "probability"], present)
            assert abs(frame.at[cid, "explains"] - cause) <= tolerance, (evidence, cid, frame.at[cid, "explains"], cause)
        checked += 1
    return checked, impossible


def test_xmlbif_priors_match_pyagrum(model: Model, agrum_xml: Agrum):
    assert compare(model, agrum_xml, [{}], EXACT) == (1, 0)


def test_xmlbif_posteriors_match_pyagrum_on_150_small_random_evidence_sets(model: Model, agrum_xml: Agrum):
    checked, impossible = compare(model, agrum_xml, random_evidence_sets(model, seed=1, count=150, sizes=(1, 6)), EXACT)
    assert checked + impossible == 150 and impossible <= 8


@pytest.mark.slow
def test_xmlbif_posteriors_match_pyagrum_on_60_large_random_evidence_sets(model: Model, agrum_xml: Agrum):
    checked, impossible = compare(model, agrum_xml, random_evidence_sets(model, seed=2, count=60, sizes=(7, 12)), EXACT)
    assert checked + impossible == 60 and impossible <= 6


def test_xmlbif_posteriors_match_pyagrum_on_the_worked_example(model: Model, agrum_xml: Agrum):
    evidence = {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    assert compare(model, agrum_xml, [evidence], EXACT) == (1, 0)


def test_bif_export_read_by_pgmpy_has_the_network_tables_at_full_precision(model: Model, bif_path: Path):
    read = BIFReader(str(bif_path)).get_model()
    assert set(read.nodes()) == set(model.network.nodes())
    for cpd in model.network.get_cpds():
        mine, theirs = cpd.to_factor(), read.get_cpds(cpd.variable).to_factor()
        assert set(theirs.variables) == set(mine.variables), cpd.variable
        assert all(theirs.state_names[v] == mine.state_names[v] for v in mine.variables), cpd.variable
        values = np.transpose(theirs.values, [theirs.variables.index(v) for v in mine.variables])
        np.testing.assert_allclose(values, mine.values, rtol=0, atol=EXACT, err_msg=cpd.variable)


def test_bif_posteriors_match_pyagrum_in_single_precision(model: Model, bif_path: Path):
    agrum = Agrum(bif_path, model)
    checked, _ = compare(model, agrum, [{}, *random_evidence_sets(model, seed=3, count=20, sizes=(1, 5))], SINGLE)
    assert checked >= 18
