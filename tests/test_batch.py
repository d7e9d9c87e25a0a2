"""``twitchbn batch``: many cases at once, equal to single queries, bad rows never silently dropped."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_cli

import twitchbn.engine as engine_module
from twitchbn import TwitchbnError, batch
from twitchbn.batch import read_cases, run_batch
from twitchbn.evaluation import load_cases

EXACT = 1e-12
CASE_FILES = ("heldout.yaml", "vignettes.yaml", "own_cases.yaml")


def settable(model) -> list[str]:
    return [*model.variables, *(f"cause_{c.id}" for c in model.kb.conditions)]


def to_csv(rows: list[dict[str, str]], columns: list[str]) -> io.StringIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    out.seek(0)
    return out


def clinical_cases(model) -> tuple[list[dict[str, str]], list[str]]:
    cases = [case for name in CASE_FILES for case in load_cases(REPO / "tests" / "cases" / name)]
    rows = [{"id": case.id, **model.check_evidence(case.evidence)} for case in cases]
    return rows, ["id", *sorted({v for row in rows for v in row if v != "id"})]


def random_cases(model, n: int, seed: int) -> tuple[list[dict[str, str]], list[str]]:
    """Seeded cases over findings and exposures; findings mostly in their first state."""
    rng = np.random.default_rng(seed)
    names = [x.id for x in model.kb.exposures] + [f.id for f in model.kb.findings]
    rows = []
    for i in range(n):
        row = {"id": f"r{i}"}
        for v in rng.choice(names, size=int(rng.integers(0, 9)), replace=False):
            states = model.states(str(v))
            row[str(v)] = states[0] if rng.random() < 0.6 else states[int(rng.integers(len(states)))]
        rows.append(row)
    return rows, ["id", *names]


def assert_equals_queries(model, result, rows, top: int) -> None:
    """Every output row equals Model.query: ranked ids, explains, probability, triage."""
    frame = result.results
    assert len(frame) == len(rows)
    for (_, out), row in zip(frame.iterrows(), rows, strict=True):
        assert out["id"] == row["id"]
        query = model.query({k: v for k, v in row.items() if k != "id" and v})
        expected = query.conditions.head(top)
        assert [out[f"top{k}"] for k in range(1, top + 1)] == list(expected.index), row["id"]
        for k, (_, want) in enumerate(expected.iterrows(), start=1):
            assert abs(out[f"top{k}_explains"] - want["explains"]) <= EXACT
            assert abs(out[f"top{k}_probability"] - want["probability"]) <= EXACT
        assert out["triage"] == query.triage.level
        assert out["triage_reasons"] == " | ".join(query.triage.reasons)


def test_batch_equals_single_queries_on_held_out_clinical_cases(model):
    rows, columns = clinical_cases(model)
    result = run_batch(model, read_cases(to_csv(rows, columns), settable(model)), top=5)
    assert result.bad == ()
    assert_equals_queries(model, result, rows, top=5)


def test_batch_equals_single_queries_on_random_cases(model):
    rows, columns = random_cases(model, 300, seed=5)
    result = run_batch(model, read_cases(to_csv(rows, columns), settable(model)), top=3)
    assert result.bad == ()
    assert_equals_queries(model, result, rows, top=3)


def test_cases_too_wide_for_the_fixed_order_take_an_order_of_their_own_and_stay_exact(model, monkeypatch):
    rows, columns = random_cases(model, 80, seed=9)
    variants = [model.variant({k: v for k, v in r.items() if k != "id"}) for r in rows]
    entries = model.engine._broad.entries(model.engine._held(variants))[0]
    monkeypatch.setattr(engine_module, "KEEP_ENTRIES", int(np.median(entries)))  # half the cases leave the fixed order
    assert 0 < model.engine.fits(variants).sum() < len(variants)
    assert_equals_queries(model, run_batch(model, read_cases(to_csv(rows, columns), settable(model))), rows, top=3)


def test_a_case_too_heavy_even_for_a_query_is_a_bad_row_not_a_crash(model):
    every = {f.id: f.states[-1] for f in model.kb.findings if f.links}  # every finding positive: beyond exact inference
    rows = [{"id": "light", "twitch_calf": "yes"}, {"id": "heavy", **every}]
    text = to_csv(rows, ["id", *every]).getvalue()
    result = run_batch(model, read_cases(io.StringIO(text), settable(model)))
    assert list(result.results["id"]) == ["light"]
    assert len(result.bad) == 1
    assert str(result.bad[0]).startswith("line 3: exact inference") and "leave some of them unknown" in str(result.bad[0])
    with pytest.raises(TwitchbnError, match="line 3: exact inference"):
        run_batch(model, read_cases(io.StringIO(text), settable(model)), on_error="refuse")


def test_each_distinct_case_is_solved_once_in_few_calls(model, monkeypatch):
    calls: list[int] = []
    solve = batch._solve

    def recording(model, cases, *args):
        calls.append(len(cases))
        return solve(model, cases, *args)

    monkeypatch.setattr(batch, "_solve", recording)
    monkeypatch.setattr(batch, "GROUP", 64)
    rows, columns = random_cases(model, 200, seed=3)
    rows += [dict(rows[0], id="again")]
    run_batch(model, read_cases(to_csv(rows, columns), settable(model)))
    distinct = {tuple(sorted((k, v) for k, v in r.items() if k != "id")) for r in rows}
    assert sum(calls) == len(distinct) < len(rows)
    assert len(calls) == -(-len(distinct) // 64)


def test_tiny_model_batch_equals_queries(tiny):
    rows, columns = random_cases(tiny, 120, seed=2)
    rows.append({"id": "prior"})
    result = run_batch(tiny, read_cases(to_csv(rows, columns), settable(tiny)), top=4)
    assert_equals_queries(tiny, result, rows, top=4)


def test_conditions_and_cause_nodes_can_be_columns(tiny):
    rows = [{"id": "a", "als": "present", "twitch_calf": "yes"}, {"id": "b", "cause_sleep_deprivation": "yes", "twitch_eyelid": "yes"}]
    columns = ["id", "als", "cause_sleep_deprivation", "twitch_calf", "twitch_eyelid"]
    assert_equals_queries(tiny, run_batch(tiny, read_cases(to_csv(rows, columns), settable(tiny))), rows, top=3)


def test_repeated_cases_are_all_written_with_their_own_ids(tiny):
    rows = [{"id": f"x{i}", "twitch_calf": "yes"} for i in range(4)] + [{"id": "y", "twitch_eyelid": "yes"}]
    result = run_batch(tiny, read_cases(to_csv(rows, ["id", "twitch_calf", "twitch_eyelid"]), settable(tiny)))
    assert list(result.results["id"]) == ["x0", "x1", "x2", "x3", "y"]
    assert_equals_queries(tiny, result, rows, top=3)


BAD = "id,twitch_calf,muscle_weakness\na,yes,no\nb,maybe,no\nc,yes\nd,,\ne,no,yes\n"


def test_skip_reports_every_bad_row_with_its_line_and_keeps_the_good_ones(tiny):
    result = run_batch(tiny, read_cases(io.StringIO(BAD), settable(tiny)), on_error="skip")
    assert list(result.results["id"]) == ["a", "d", "e"]
    assert [str(b) for b in result.bad] == [
        "line 3: state 'maybe' of twitch_calf is not valid; valid states: no, yes",
        "line 4: has 2 fields; the header has 3",
    ]


def test_refuse_names_the_first_bad_line(tiny):
    cases = read_cases(io.StringIO(BAD), settable(tiny))
    with pytest.raises(TwitchbnError) as err:
        run_batch(tiny, cases, on_error="refuse")
    assert str(err.value) == ("'cases' line 3: state 'maybe' of twitch_calf is not valid; valid states: no, yes; "
                              "nothing was written (--on-error skip leaves bad rows out)")


def test_impossible_evidence_is_a_bad_row_not_a_silent_drop(tiny):
    text = "id,als,cause_als\nok,present,yes\nnever,absent,yes\nnever2,absent,yes\n"
    result = run_batch(tiny, read_cases(io.StringIO(text), settable(tiny)))
    assert list(result.results["id"]) == ["ok"]
    assert [b.line for b in result.bad] == [3, 4]
    assert all("evidence is impossible under the model" in b.message for b in result.bad)


def test_quoted_multiline_fields_keep_true_line_numbers(tiny):
    text = 'id,twitch_calf\n"a\nb",yes\nc,maybe\n'
    result = run_batch(tiny, read_cases(io.StringIO(text), settable(tiny)))
    assert [b.line for b in result.bad] == [4]


def test_an_unknown_column_refuses_the_file_with_the_closest_ids(tiny):
    with pytest.raises(TwitchbnError) as err:
        read_cases(io.StringIO("id,twitch_calff\na,yes\n"), settable(tiny))
    assert str(err.value) == "column 'twitch_calff' of 'cases' (line 1) is not a variable; closest valid ids: twitch_calf, twitch_eyelid"


def test_an_empty_file_and_a_repeated_column_are_refused(tiny):
    with pytest.raises(TwitchbnError, match="is empty; it needs a header of variable ids"):
        read_cases(io.StringIO(""), settable(tiny))
    with pytest.raises(TwitchbnError, match=r"column 'twitch_calf' of 'cases' \(line 1\) appears twice"):
        read_cases(io.StringIO("twitch_calf,twitch_calf\nyes,no\n"), settable(tiny))


def test_bad_options_are_refused(tiny):
    cases = read_cases(io.StringIO("twitch_calf\nyes\n"), settable(tiny))
    with pytest.raises(TwitchbnError, match="on_error must be one of skip, refuse; got 'drop'"):
        run_batch(tiny, cases, on_error="drop")
    with pytest.raises(TwitchbnError, match="top must be a whole number of at least 1; got 0"):
        run_batch(tiny, cases, top=0)


def test_progress_is_reported_only_to_a_callback(tiny, capsys):
    rows, columns = random_cases(tiny, 50, seed=4)  # includes repeated cases (computed once, counted each)
    assert len({tuple(sorted(r.items() - {("id", r["id"])})) for r in rows}) < 50
    seen: list[tuple[int, int]] = []
    run_batch(tiny, read_cases(to_csv(rows, columns), settable(tiny)), progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (50, 50) and all(d <= t for d, t in seen)
    run_batch(tiny, read_cases(to_csv(rows, columns), settable(tiny)))
    assert capsys.readouterr() == ("", "")


def test_terminal_progress_draws_a_bar():
    stream = io.StringIO()
    bar = batch.TerminalProgress(stream, width=10)
    bar(5, 10)
    bar(10, 10)
    assert stream.getvalue() == "\r[#####.....] 5/10 cases\r[##########] 10/10 cases\n"


def test_results_csv_round_trips_at_full_precision(tiny, tmp_path):
    rows, columns = random_cases(tiny, 30, seed=8)
    result = run_batch(tiny, read_cases(to_csv(rows, columns), settable(tiny)))
    batch.write_results(result, tmp_path / "out.csv")
    back = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, dtype=str)
    assert list(back.columns) == list(result.results.columns)
    assert [float(x) for x in back["top1_explains"]] == list(result.results["top1_explains"])


def test_cli_batch_skip_writes_good_rows_and_lists_bad_lines(tiny, tmp_path):
    cases = tmp_path / "cases.csv"
    cases.write_text(BAD)
    out = tmp_path / "results.csv"
    done = run_cli("batch", cases, "-o", out, "--kb", str(REPO / "tests" / "fixtures" / "tiny"), "--top", "2")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "twitchbn: skipped line 3: state 'maybe' of twitch_calf is not valid; valid states: no, yes",
        "twitchbn: skipped line 4: has 2 fields; the header has 3",
        f"twitchbn: 3 case(s) written to {out}; 2 bad row(s) skipped",
    ]
    frame = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert list(frame["id"]) == ["a", "d", "e"] and "top2_probability" in frame and "top3" not in frame


def test_cli_batch_refuse_exits_2_and_writes_nothing(tmp_path):
    cases = tmp_path / "cases.csv"
    cases.write_text(BAD)
    out = tmp_path / "results.csv"
    done = run_cli("batch", cases, "-o", out, "--on-error", "refuse", "--kb", str(REPO / "tests" / "fixtures" / "tiny"))
    assert done.returncode == 2 and not out.exists()
    assert done.stderr == ("twitchbn: error: 'cases.csv' line 3: state 'maybe' of twitch_calf is not valid; valid states: no, yes; "
                           "nothing was written (--on-error skip leaves bad rows out)\n")


def test_cli_batch_to_stdout_has_no_progress_output(tmp_path):
    cases = tmp_path / "cases.csv"
    cases.write_text("id,twitch_eyelid\nx,yes\n")
    done = run_cli("batch", cases, "--kb", str(REPO / "tests" / "fixtures" / "tiny"))
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines()[0].startswith("id,twitch_eyelid,top1,top1_explains,top1_probability,")
