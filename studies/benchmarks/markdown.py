"""The benchmark's Markdown report: one section per part measured, then targets and environment."""

from __future__ import annotations

SUMMARY_COLUMNS = ("arch", "threads", "framework", "median s", "min–max s", "netcore / peer",
                   "GFLOP/s", "of peak", "peak RSS MiB", "other load", "runs")
GEMM_COLUMNS = ("arch", "threads", "step GFLOP", "peak ms / step", "peak GFLOP/s")
SEARCH_COLUMNS = ("n_jobs", "trials", "median wall s", "min–max s", "trials/s", "steady trials/s",
                  "mean trial s", "trials/s vs n_jobs=1", "steady vs n_jobs=1", "runs")
COUNTING = ("GFLOP/s counts only the GEMMs a training step needs: per layer the forward X·W and "
            "the backward dW = Xᵀ·dZ and dX = dZ·Wᵀ, without the first layer's dX (the input "
            "needs no gradient), 2·m·k·n flops each, summed over the epoch's batches (the last "
            "one partial); bias adds, activations, loss and optimizer are not counted. It is "
            "that count over the median epoch time, the same count for every framework. `of "
            "peak` divides it by the GEMM peak of the same architecture and threads (below).")
def _cells(row: dict) -> list[str]:
    if "median_s" not in row:
        return [row["arch"], str(row["threads"]), row["framework"], "failed", "", "", "", "", "", "",
                f"0 ({row['failed']} failed)"]
    ratio, load, fraction = row.get("netcore_over_peer"), row["max_other_load"], row.get("fraction_of_peak")
    runs = str(row["runs"]) + (f" ({row['failed']} failed)" if row["failed"] else "")
    return [row["arch"], str(row["threads"]), row["framework"], f"{row['median_s']:.3f}",
            f"{row['min_s']:.3f}–{row['max_s']:.3f}", "—" if ratio is None else f"{ratio:.2f}",
            f"{row['gflops']:.1f}", "n/a" if fraction is None else f"{fraction:.0%}",
            f"{row['peak_rss_mb']:.0f}", "n/a" if load is None else f"{load:.2f}", runs]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def _ratio_cell(row: dict) -> str:
    if row.get("netcore_over_peer") is None:
        return "—"
    return f"{row['netcore_over_peer']:.2f} ({row['netcore_over_peer_min']:.2f})"


def _ratio_table(results: dict) -> list[str]:
    """arch × threads rows, one column of netcore / peer per peer: medians (minima)."""
    peers = [fw for fw in results["config"]["frameworks"] if fw != "netcore"]
    rows = []
    for arch in results["config"]["archs"]:
        for n in results["config"]["threads"]:
            by_fw = {r["framework"]: r for r in results["summary"]
                     if (r["arch"], r["threads"]) == (arch, n)}
            rows.append([arch, str(n), *(_ratio_cell(by_fw[p]) for p in peers)])
    return _table(["arch", "threads", *(f"netcore / {p}" for p in peers)], rows)


def _failures(results: dict) -> list[str]:
    lines = [f"- failed: epoch {r['arch']} threads={r['threads']} {r['framework']}: {r['error']}"
             for r in results["runs"] if "error" in r]
    lines += [f"- failed: GEMM peak threads={r['threads']}: {r['error']}"
              for r in results["gemm"]["runs"] if "error" in r]
    return lines + [f"- failed: search n_jobs={r['n_jobs']}: {r['error']}"
                    for r in results["search"]["runs"] if "error" in r]


def _environment_lines(results: dict) -> list[str]:
    env, versions = results["environment"], results["environment"]["versions"]
    blas = "; ".join(f"{p['internal_api']} {p['version']} ({p.get('architecture') or 'n/a'} kernels)"
                     for p in env["numpy_thread_pools"])
    lines = [f"- CPU: {env['cpu']}, {env['logical_cpus']} logical CPUs; {env['date']}",
             f"- Python {env['python']}, numpy {env['numpy']} with {blas}; "
             f"OPENBLAS_CORETYPE {env['OPENBLAS_CORETYPE']}"]
    if versions:
        lines.append("- " + ", ".join(f"{fw} {v}" for fw, v in sorted(versions.items())))
    steps = {r["framework"]: r["adam_step"] for r in results["runs"] if "adam_step" in r}
    if steps:
        lines.append("- Adam step: " + "; ".join(f"{fw} {step}" for fw, step in sorted(steps.items()))
                     + " (numba: the compiled one-pass kernel of `netcore.kernels`)")
    lines += [f"- skipped {fw}: {why}" for fw, why in results["skipped"].items()]
    lines += _failures(results)
    runs = results["runs"] + results["gemm"]["runs"] + results["search"]["runs"]
    remeasured = sum(r.get("attempts", 1) - 1 for r in runs)
    if remeasured:
        lines.append(f"- {remeasured} measurement(s) were taken again because other processes "
                     f"used {results['config']['quiet_threshold']:g} cores or more during them")
    return lines


def _partial(taken: int, planned: int) -> list[str]:
    if taken >= planned:
        return []
    return [f"**Partial run: {taken} of the {planned} planned measurements were taken.**", ""]


def _epoch_section(results: dict) -> list[str]:
    cfg = results["config"]
    intro = (f"One MNIST training epoch: {cfg['n_train']:,} training images, batch {cfg['batch_size']}, "
             f"Adam (lr {cfg['lr']:g}), {cfg['dtype']}, ReLU, softmax cross-entropy, shuffled "
             "minibatches, no validation pass. Each time is one epoch in a fresh worker process "
             f"after an untimed warm-up of {cfg['warmup_batches']} batches; {cfg['repeats']} "
             "repetition(s), framework order rotated between them. `netcore / peer` is the ratio "
             "of median epoch times: above 1 netcore is slower. Peak RSS is the worker's "
             "high-water mark, MNIST loading included. Other load is the most CPU (in cores) that "
             "other processes on the machine used during one of the row's measurements; a "
             f"measurement during which they used {cfg['quiet_threshold']:g} cores or more was "
             f"taken again, up to {cfg['retries']} times.")
    return ["## Seconds per epoch", "", intro, "", *_partial(len(results["runs"]), cfg["planned"]),
            *_table(list(SUMMARY_COLUMNS), [_cells(r) for r in results["summary"]]), "", COUNTING, "",
            "## netcore / peer: ratio of medians (ratio of minima)", "", *_ratio_table(results), ""]


def _gemm_rows(results: dict) -> list[list[str]]:
    cfg, gemm = results["config"], results["gemm"]
    order = {arch: i for i, arch in enumerate(cfg["archs"])}
    steps = sorted(gemm["steps"], key=lambda r: (order.get(r["arch"], len(order)), r["threads"]))
    rows = [[r["arch"], str(r["threads"]), f"{r['step_gflop']:.4f}", f"{r['peak_step_ms']:.3f}",
             f"{r['peak_gflops']:.1f}"] for r in steps]
    return rows + [[f"square {r['n']}×{r['n']}×{r['n']}", str(r["threads"]), f"{r['gflop']:.4f}",
                    f"{r['best_ms']:.3f}", f"{r['gflops']:.1f}"]
                   for r in sorted(gemm["square"], key=lambda r: r["threads"])]


def _gemm_section(results: dict) -> list[str]:
    cfg = results["config"]
    intro = (f"The BLAS numpy uses times each GEMM of one training step at batch {cfg['batch_size']} "
             "(float32 `np.matmul(a, b, out=c)`, the transposed operands as `.T` views of "
             f"C-contiguous arrays, as in the step) and keeps the fastest of {cfg['gemm']['repeats']} "
             "calls after a warm-up, in a worker process limited to the row's threads. Peak ms / "
             "step is the sum of those minima and peak GFLOP/s the step's needed GFLOP over it: "
             "the fastest these GEMMs run with this BLAS. The square GEMM is the BLAS's plain "
             "peak, for context.")
    return ["## GEMM peak", "", intro, "", *_partial(len(results["gemm"]["runs"]), cfg["gemm"]["planned"]),
            *_table(list(GEMM_COLUMNS), _gemm_rows(results)), ""]


def _number(row: dict, key: str, spec: str, suffix: str = "") -> str:
    return format(row[key], spec) + suffix if key in row else "—"


def _search_cells(row: dict) -> list[str]:
    runs = str(row["runs"]) + (f" ({row['failed']} failed)" if row["failed"] else "")
    if "median_wall_s" not in row:
        return [str(row["n_jobs"]), "", "failed", "", "", "", "", "", "", runs]
    return [str(row["n_jobs"]), str(row["n_trials"]), f"{row['median_wall_s']:.2f}",
            f"{row['min_wall_s']:.2f}–{row['max_wall_s']:.2f}", f"{row['trials_per_s']:.3f}",
            _number(row, "steady_trials_per_s", ".3f"), f"{row['mean_training_s']:.3f}",
            _number(row, "speedup", ".2f", "×"), _number(row, "speedup_steady", ".2f", "×"), runs]


def _search_section(results: dict) -> list[str]:
    cfg = results["config"]["search"]
    intro = (f"An hpsearch random search of {cfg['n_trials']} trials, each training {cfg['arch']} on "
             f"{cfg['max_train']:,} MNIST images for {cfg['epochs']} epoch(s) (Adam, batch 128, "
             "a validation pass each epoch) in hpsearch's worker processes, one BLAS thread each; "
             f"{cfg['repeats']} search(es) per n_jobs, each in a fresh driver process, the n_jobs "
             "order rotated between them. Trials/s is trials over the median wall time of a "
             "search (starting the workers and loading MNIST included); steady trials/s counts "
             "from the end of the first trial. Mean trial s is the mean time a trial spent "
             "training (median over searches). `vs n_jobs=1` is the ratio of trials per second.")
    rows = [_search_cells(r) for r in results["search"]["summary"]]
    return ["## Search throughput", "", intro, "",
            *_partial(len(results["search"]["runs"]), cfg["planned"]),
            *_table(list(SEARCH_COLUMNS), rows), ""]


def _verdict(met: bool) -> str:
    return "met" if met else "not met"


def _ratio_lines(checks: list[dict]) -> list[str]:
    """One line per (arch, threads): netcore / peer against the most it may be."""
    lines = []
    for arch, threads in dict.fromkeys((c["arch"], c["threads"]) for c in checks):
        cells = [f"/ {c['peer']} {c['value']:.2f} (≤ {c['target']:.2f}, {_verdict(c['met'])})"
                 for c in checks if (c["arch"], c["threads"]) == (arch, threads)]
        lines.append(f"- {arch}, {threads} thread(s), netcore epoch time " + "; ".join(cells))
    return lines


def _target_lines(targets: dict) -> list[str]:
    gemm, search = targets["gemm_fraction"], targets["search_speedup"]
    lines = _ratio_lines(targets.get("epoch_ratios", []))
    head = (f"{gemm['framework']} on {gemm['arch']} at {gemm['threads']} thread(s), target ≥ "
            f"{gemm['target']:.0%} of the GEMM peak at the same threads")
    lines.append(f"- {head}: " + (f"{gemm['value']:.0%} ({_verdict(gemm['met'])})"
                                  if "value" in gemm else "not measured in this run"))
    head = (f"search throughput at n_jobs={search['n_jobs']}, target ≥ {search['target']:.1f}× "
            f"n_jobs=1 for trials of ≥ {search['min_trial_s']:g} s")
    if "value" not in search:
        return [*lines, f"- {head}: not measured in this run"]
    steady = ("no steady state" if search["steady"] is None else
              f"{search['steady']:.2f}× in steady state ({_verdict(search['met_steady'])})")
    figures = (f"{search['value']:.2f}× overall ({_verdict(search['met'])}), {steady}; "
               f"trials of {search['trial_s']:.2f} s at n_jobs=1")
    if not search["applies"]:
        figures += f", under {search['min_trial_s']:g} s: the target does not apply to this run"
    return [*lines, f"- {head}: {figures}"]


def render(results: dict) -> str:
    """The report: each part's section (epoch, GEMM peak, search), the targets, the environment."""
    parts = results["config"]["parts"]
    lines = ["# Benchmarks: epoch time, GEMM peak and search throughput", ""]
    if "epoch" in parts:
        lines += _epoch_section(results)
    if "gemm" in parts:
        lines += _gemm_section(results)
    if "search" in parts:
        lines += _search_section(results)
    lines += ["## Targets", "", *_target_lines(results["targets"]), "",
              "## Environment", "", *_environment_lines(results)]
    return "\n".join(lines) + "\n"
