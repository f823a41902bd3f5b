#!/usr/bin/python3
"""The benchmark as a smoke test: bench/run --smoke builds its tools, runs
every scenario with tiny counts against the built daemon, and every row of
the table is there. Figures are never asserted (they come from manual
runs: see bench/README.md)."""

import json
import os
import subprocess

from harness import STREAMD, TOP, SkipTest, run, test

SECTIONS = ("throughput", "sustained", "latency", "cpu", "recovery")


def asan_build():
    """valgrind (the CPU section) cannot run an AddressSanitizer build."""
    with open(STREAMD, "rb") as f:
        return b"__asan_init" in f.read()


@test
def test_bench_smoke_every_row(env):
    argv = ["/usr/bin/python3", os.path.join(TOP, "bench", "run"), "--smoke",
            "--out", env.dir]
    skipped = []
    if asan_build():
        argv += ["--only", "throughput,baselines,latency,memory,recovery"]
        skipped = ["cpu"]
    p = subprocess.run(argv, env=dict(os.environ, STREAMD=STREAMD),
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    with open(os.path.join(env.dir, "results-smoke.json")) as f:
        res = json.load(f)
    for section in SECTIONS:
        if section not in skipped:
            assert res[section], "no %s rows" % section
    assert len(res["throughput"]) == 9, res["throughput"]  # 3 sizes x 3 readers
    assert res["baselines"]["socat"] and res["baselines"]["direct"]
    assert res["memory"]["idle"] and res["memory"]["flood"]
    for title in ("Throughput", "Latency", "Memory", "Recovery", "Targets"):
        assert title in p.stdout, "table lacks its %s part" % title


if __name__ == "__main__":
    run()
