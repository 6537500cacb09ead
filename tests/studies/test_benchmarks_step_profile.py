"""``python -m studies.benchmarks.step_profile``: the table's shape, never its timings."""

from __future__ import annotations

import pytest

from studies.benchmarks import step_profile


@pytest.mark.parametrize("backends", [["numpy"], ["numpy", "numba"]])
def test_profile_table_has_a_row_per_part_and_a_column_pair_per_backend(backends, tmp_path, monkeypatch,
                                                                          capsys):
    if "numba" in backends:
        pytest.importorskip("numba")
    monkeypatch.setenv("NETCORE_KERNELS", "auto")  # the command sets it; restored afterwards
    assert step_profile.main(["--arch", "20-8-6-4", "--batch-size", "4", "--n-train", "16",
                              "--repeats", "3", "--kernels", *backends, "--out", str(tmp_path)]) == 0
    written = (tmp_path / "step_profile.md").read_text(encoding="utf-8")
    assert written.startswith("# One training step, part by part")
    assert written.strip() in capsys.readouterr().out
    lines = [line for line in written.splitlines() if line.startswith("|")]
    assert lines[0] == "| part | " + " | ".join(f"{b} µs | {b} %" for b in backends) + " |"
    rows = lines[2:]
    assert [row.split("|")[1].strip() for row in rows] == [*step_profile.PARTS, "step"]
    assert all(len(row.strip("|").split("|")) == 1 + 2 * len(backends) for row in rows)
    assert rows[-1].count("| 100.0 |") == len(backends)
    share = next(line for line in written.splitlines() if line.startswith("GEMM-only share"))
    assert [part.split()[0] for part in share.split(": ")[1].split(", ")] == backends


def test_split_gives_dense_time_beyond_gemms_to_bias_and_the_rest_to_other():
    medians = {"step": 10.0, "batch gather": 1.0, "forward GEMMs": 3.0, "dense forward": 3.5,
               "activation forward": 0.5, "softmax + loss + gradient": 1.0, "backward GEMMs": 2.0,
               "dense backward": 2.25, "activation backward": 0.25, "Adam update": 1.0}
    parts = step_profile.split(medians)
    assert parts["bias add + activation (forward)"] == 1.0
    assert parts["activation derivative + bias gradients (backward)"] == 0.5
    assert parts["other (Python, calls)"] == pytest.approx(0.5)
    assert parts["step"] == 10.0
