"""Latency, throughput and memory of twitchbn, side by side with pyAgrum (``python -m benchmarks``).

The suite runs in one process over a fixed, seeded list of evidence sets (the clinical cases plus
random sets of 1 to 25 findings), prints a table against the targets of issue #6 and writes
``benchmarks/results.json``. Timing targets are reported as PASS/MISS and never fail the run;
only a disagreement between twitchbn and pyAgrum larger than 1e-9 makes the exit status non-zero.

Modules: ``sets`` (the evidence sets), ``timing`` (repetitions, summaries, cold start),
``agrum`` (pyAgrum reference and the agreement check), ``optional`` (next question, intervals,
batch — timed only when those modules exist), ``report`` (table and JSON).
"""
