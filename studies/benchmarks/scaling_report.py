"""The scaling benchmark's report: a Markdown table, its numbers as JSON, and a plot."""

from __future__ import annotations

import json
from pathlib import Path

TARGET = 0.9  # of the ideal throughput, on PostgreSQL, below 64 workers
COLUMNS = ("backend", "storage", "workers", "ideal trials/s", "sustained trials/s", "of ideal",
           "wall s", "median trial s", "driver CPU ms / trial", "driver ceiling trials/s",
           "benchmark cores", "other cores")


def _fmt(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _cells(row: dict) -> list[str]:
    return [row["backend"], row["storage"], str(row["workers"]), f"{row['ideal_per_s']:.1f}",
            _fmt(row["sustained_per_s"], ".1f"), _fmt(row["of_ideal"], ".0%"),
            f"{row['wall_s']:.1f}", f"{row['median_trial_s']:.2f}",
            f"{row['driver_cpu_ms_per_trial']:.1f}", f"{ceiling(row):.0f}",
            f"{row['tree_cores']:.2f}",
            _fmt(row["other_cores"], ".2f")]


def ceiling(row: dict) -> float:
    """Trials/s at which the driver's own CPU alone would fill one core."""
    return 1000 / max(row["driver_cpu_ms_per_trial"], 1e-9)


def _table(header, rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def saturation(rows: list[dict]) -> list[str]:
    """Per backend and storage: the most trials/s sustained, and where it fell below target."""
    lines, seen = [], {}
    for row in rows:
        seen.setdefault((row["backend"], row["storage"]), []).append(row)
    for (backend, storage), runs in seen.items():
        rates = [r for r in runs if r["sustained_per_s"] is not None]
        if not rates:
            continue
        best = max(rates, key=lambda r: r["sustained_per_s"])
        below = [r["workers"] for r in rates if r["of_ideal"] < TARGET]
        where = f"below {TARGET:.0%} of ideal from {min(below)} workers" if below \
            else f"at least {TARGET:.0%} of ideal at every count"
        lines.append(f"- {backend} on {storage}: at most {best['sustained_per_s']:.1f} trials/s "
                     f"(at {best['workers']} workers); {where}.")
    return lines


def target_lines(rows: list[dict]) -> list[str]:
    """The issue's target: ≥ 90 % of ideal on PostgreSQL below 64 workers, 1-second trials."""
    runs = [r for r in rows if r["storage"] == "postgres" and r["workers"] < 64
            and r["of_ideal"] is not None]
    if not runs:
        return ["- target (PostgreSQL, fewer than 64 workers, ≥ 90 % of ideal): not measured."]
    lines = []
    for r in runs:
        verdict = "met" if r["of_ideal"] >= TARGET else "not met"
        lines.append(f"- target at {r['workers']} workers on PostgreSQL with {r['backend']}: "
                     f"{r['of_ideal']:.0%} of ideal ({verdict}); the driver's CPU alone would "
                     f"fill a core at {ceiling(r):.0f} trials/s, "
                     f"{ceiling(r) / r['ideal_per_s']:.1f}× the ideal.")
    return lines


def render(results: dict) -> str:
    config, rows = results["config"], results["rows"]
    lines = ["# How far one driver scales", "",
             f"Trials that sleep {config['trial_seconds']:g} s in their worker (the "
             f"`sleep_trial.py` plugin), {config['rounds']} trials per worker, random strategy, "
             f"`keep_models={config['keep_models']}`; "
             "`sustained` counts the trials recorded from the end of the first round to the last; "
             "`ideal` is workers / trial seconds. `benchmark cores` is the CPU of the driver and "
             "its workers (and Ray's daemons) over the run; `other cores` the rest of the "
             "machine (other users and, on PostgreSQL, the server). `driver ceiling` is "
             "1000 / driver CPU ms per trial: the trials/s at which the driver's own CPU "
             "would fill a core of its own, its limit on a machine where the workers run "
             "elsewhere (waits on the database and its locks come on top). With the threading "
             "backend the trials run in the driver's process and their CPU counts as the "
             "driver's.", ""]
    lines += _table(COLUMNS, [_cells(r) for r in rows])
    lines += ["", "## Where it saturates", "", *saturation(rows), *target_lines(rows),
              *results.get("notes", []), "",
              "## Worker memory", ""]
    lines += [f"- {m['backend']}: {m['processes']} processes below the driver for "
              f"{m['workers']} workers, {m['pss_mib']:.0f} MiB PSS in all."
              for m in results["memory"] if m["processes"]]
    dask = config["dask"]
    lines += ["", f"Dask: `dask scheduler` and `dask worker --nworkers <workers> --nthreads "
              f"{dask['nthreads']} --memory-limit {dask['memory_limit']}` (a nanny per worker), "
              f"each its own process as on a cluster; Ray: `ray.init(num_cpus=<workers>, "
              f"object_store_memory="
              f"{config['ray']['object_store_memory'] // 2**20} MiB)`.", "",
              f"Measured {results['machine']['when']} on {results['machine']['cpus']} CPUs in "
              f"{results['machine']['total_s'] / 60:.1f} min. Re-run: "
              f"`{results.get('command', 'python -m studies.benchmarks.scaling')}`.", ""]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    """Sustained trials/s against workers, one panel per backend, ideal dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = results["config"]["backends"]
    fig, axes = plt.subplots(1, len(backends), figsize=(4.5 * len(backends), 3.8),
                             squeeze=False, sharey=True)
    workers = results["config"]["workers"]
    for ax, backend in zip(axes[0], backends, strict=True):
        ax.plot(workers, [w / results["config"]["trial_seconds"] for w in workers], "k--",
                label="ideal")
        for storage in sorted({r["storage"] for r in results["rows"]}):
            runs = [r for r in results["rows"] if (r["backend"], r["storage"]) == (backend, storage)]
            ax.plot([r["workers"] for r in runs], [r["sustained_per_s"] or 0 for r in runs], "o-",
                    label=storage)
        ax.set(title=backend, xlabel="workers", xticks=workers)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("trials / s sustained")
    axes[0][-1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(results: dict, out: Path) -> None:
    """``scaling.md``, ``scaling.json`` and ``scaling.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "scaling.md").write_text(render(results), encoding="utf-8")
    plot(results, out / "scaling.png")
