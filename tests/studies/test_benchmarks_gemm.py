"""The GEMM count of a training step and epoch, and the peak worker that times those GEMMs."""

from __future__ import annotations

import pytest

from studies.benchmarks import gemm, peak


def test_step_gemms_skip_the_first_layers_input_gradient():
    names = [g.name for g in gemm.step_gemms((4, 3, 2), batch=5)]
    assert names == ["L1 forward X @ W", "L1 dW = X.T @ dZ",
                     "L2 forward X @ W", "L2 dW = X.T @ dZ", "L2 dX = dZ @ W.T"]


def test_flops_of_a_small_net_counted_by_hand():
    # 4-3-2 at batch 5: layer 1 (4->3) forward 2*5*4*3 = 120 and dW 120, no dX;
    # layer 2 (3->2) forward, dW and dX 2*5*3*2 = 60 each.
    assert gemm.step_flops((4, 3, 2), batch=5) == 120 + 120 + 60 + 60 + 60
    # 12 samples: two full batches of 5, then one of 2 (48 + 48 + 24 + 24 + 24 = 168).
    assert gemm.epoch_batches(12, 5) == [5, 5, 2]
    assert gemm.epoch_flops((4, 3, 2), n_train=12, batch=5) == 2 * 420 + 168
    assert gemm.epoch_flops((4, 3, 2), n_train=10, batch=5) == 2 * 420


def test_gemm_shapes_match_the_layer():
    forward, grad_w, grad_x = gemm.step_gemms((6, 4, 3), batch=8)[2:]
    assert (forward.m, forward.k, forward.n) == (8, 4, 3)
    assert (grad_w.m, grad_w.k, grad_w.n, grad_w.a_transposed) == (4, 8, 3, True)
    assert (grad_x.m, grad_x.k, grad_x.n, grad_x.b_transposed) == (8, 3, 4, True)


@pytest.mark.parametrize("text", ["784", "784-x-10", "784-0-10", ""])
def test_parse_widths_rejects_bad_text(text):
    with pytest.raises(ValueError, match="widths are positive integers"):
        gemm.parse_widths(text)


def test_operands_are_laid_out_as_in_the_step(rng):
    a, b, out = peak.operands(gemm.Gemm("dW", 4, 8, 3, a_transposed=True), rng)
    assert a.shape == (4, 8) and a.T.flags.c_contiguous and b.flags.c_contiguous
    assert out.shape == (4, 3) and out.dtype == a.dtype == b.dtype == "float32"


def test_peak_worker_record_and_summary():
    record = peak.measure([(6, 4, 3)], threads=1, batch=8, repeats=2, square=16)
    step = record["steps"][0]
    assert step["step_flops"] == gemm.step_flops((6, 4, 3), 8) and len(step["gemms"]) == 5
    assert step["peak_step_s"] == pytest.approx(sum(g["best_s"] for g in step["gemms"]))
    worse = {**record, "steps": [{**step, "peak_step_s": 2 * step["peak_step_s"],
                                  "peak_gflops": step["peak_gflops"] / 2}]}
    summary = peak.summarize([worse, record, {"error": "exit code 1"}])
    assert [row["peak_gflops"] for row in summary["steps"]] == [step["peak_gflops"]]
    assert summary["square"][0]["n"] == 16 and summary["square"][0]["gflops"] > 0
