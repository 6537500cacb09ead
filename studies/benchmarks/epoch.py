"""The benchmark command: epoch times, the BLAS's GEMM peak and search throughput.

Each measurement runs in its own process (a worker started by the parent), so
frameworks never share a process, a thread pool or a heap. Three parts (see
``plan``): ``gemm`` times the GEMMs of one training step at the BLAS's best
(``peak``); ``epoch`` times one MNIST training epoch in netcore (also as
``netcore-numpy``, without its compiled Adam step) and its peers (this module
re-invoked with ``--worker``), the framework order rotated across
repetitions; ``search`` times hpsearch studies at ``n_jobs`` 1 and 2
(``throughput``). The report gives medians and min–max seconds per epoch,
netcore's ratio to each peer, the GFLOP/s achieved on the needed GEMMs and
their fraction of the peak, and trials per second with their ratio.

    python -m studies.benchmarks                        # the full run (about 28 minutes on a quiet machine)
    python -m studies.benchmarks --arch 784-100-10 --threads 1 --repeats 3 --skip search
    python -m studies.benchmarks --quick --out DIR      # a smoke test of every part in seconds
    python -m studies.benchmarks --render DIR/epoch.json  # the report again from saved runs

On a shared machine each worker first waits (up to ``--max-wait`` seconds) for
other processes to go quiet, and a measurement during which they used
``--quiet-threshold`` cores or more is taken again (up to ``--retries`` times);
the report shows the load that remained.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from studies.benchmarks import machine, markdown, plan, report
from studies.benchmarks.frameworks import FRAMEWORKS
from studies.benchmarks.gemm import parse_widths
from studies.benchmarks.worker import N_CLASSES, N_FEATURES, WorkerConfig, measure
from studies.common import positive_int

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Settings of a full run, and of --quick (a smoke test: small data, one measurement each,
# no waiting for a quiet machine). A full-run search trial (784-100-10, 50,000 images,
# 3 epochs) trains for about 1.3 s: the n_jobs=2 target is stated for trials of 1 s or more.
FULL = {"arch": ["784-100-10", "784-256-128-10", "784-1024-1024-10"], "threads": [1, 2],
        "repeats": 5, "frameworks": list(FRAMEWORKS), "n_train": 50_000, "warmup_batches": 200,
        "retries": 3, "max_wait": 300.0, "gemm_repeats": 100, "search_trials": 16,
        "search_max_train": 50_000, "search_epochs": 3, "search_repeats": 3}
QUICK = {"arch": ["784-100-10"], "threads": [1], "repeats": 1,
         "frameworks": ["netcore", "netcore-numpy", "sklearn"],
         "n_train": 5_000, "warmup_batches": 5, "retries": 0, "max_wait": 0.0, "gemm_repeats": 5,
         "search_trials": 4, "search_max_train": 1_000, "search_epochs": 1, "search_repeats": 1}


def parse_arch(text: str) -> tuple[int, ...]:
    """``"784-256-128-10"`` -> ``(784, 256, 128, 10)``, an MNIST net (784 in, 10 out)."""
    try:
        sizes = parse_widths(text)
    except ValueError:
        sizes = ()
    if not sizes or sizes[0] != N_FEATURES or sizes[-1] != N_CLASSES:
        raise argparse.ArgumentTypeError(
            f"an architecture is widths joined by '-', {N_FEATURES} first and {N_CLASSES} last "
            f"(e.g. 784-100-10), got {text!r}")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m studies.benchmarks",
        description="Time one MNIST training epoch (batch 128, Adam lr 1e-3, float32) in netcore "
                    "(with and without its compiled Adam step), PyTorch (default and fused Adam) "
                    "and scikit-learn, the BLAS's peak for the "
                    "same GEMMs, and hpsearch's search throughput at n_jobs 1 and 2; every "
                    "measurement in its own process.")
    parser.add_argument("--skip", nargs="+", choices=plan.PARTS, default=[],
                        help="parts not to measure (default: none)")
    parser.add_argument("--arch", nargs="+", type=parse_arch, help=f"default: {' '.join(FULL['arch'])}")
    parser.add_argument("--threads", nargs="+", type=positive_int, help="BLAS/intra-op threads; default: 1 2")
    parser.add_argument("--frameworks", nargs="+", choices=list(FRAMEWORKS), help="default: all")
    parser.add_argument("--repeats", type=positive_int, help="measurements of each epoch; default: 5")
    parser.add_argument("--n-train", type=positive_int, help="training images; default: 50000")
    parser.add_argument("--warmup-batches", type=positive_int,
                        help="untimed batches before the timed epoch; default: 200")
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--seed", type=int, default=0, help="repetition r uses seed + r")
    _add_part_options(parser)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per worker")
    parser.add_argument("--quiet-threshold", type=float, default=0.25,
                        help="CPU cores other processes may use during a measurement; default: 0.25")
    parser.add_argument("--retries", type=int,
                        help="times a measurement is repeated when the machine was busier; default: 3")
    parser.add_argument("--max-wait", type=float,
                        help="seconds to wait for a quiet machine before each worker; default: 300")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where epoch.md and epoch.json go")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test of every part: 784-100-10, 1 thread, 1 repeat, netcore, "
                             "netcore-numpy and sklearn on 5,000 images, 5 GEMM repeats, searches "
                             "of 4 short trials")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="measure nothing: rebuild the report from a saved epoch.json into --out")
    parser.add_argument("--worker", choices=list(FRAMEWORKS), help=argparse.SUPPRESS)
    return parser


def _add_part_options(parser: argparse.ArgumentParser) -> None:
    """The options of the GEMM-peak and search-throughput parts."""
    gemm = parser.add_argument_group("GEMM peak")
    gemm.add_argument("--gemm-repeats", type=positive_int, help="timed calls of each GEMM; default: 100")
    gemm.add_argument("--square", type=positive_int, default=1024,
                      help="size n of the n x n x n GEMM timed as the BLAS's plain peak; default: 1024")
    search = parser.add_argument_group("search throughput (784-100-10 trials, Adam, batch 128)")
    search.add_argument("--search-jobs", nargs="+", type=positive_int, default=[1, 2],
                        help="n_jobs values; default: 1 2")
    search.add_argument("--search-trials", type=positive_int, help="trials per study; default: 16")
    search.add_argument("--search-max-train", type=positive_int,
                        help="training images per trial; default: 50000")
    search.add_argument("--search-epochs", type=positive_int, help="epochs per trial; default: 3")
    search.add_argument("--search-repeats", type=positive_int, help="studies per n_jobs; default: 3")


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill every option left unset from the full-run or --quick settings."""
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, [parse_arch(v) for v in value] if key == "arch" else value)
    return args


def available(frameworks: list[str]) -> tuple[list[str], dict[str, str]]:
    """The frameworks whose module imports here, and why the others are skipped."""
    kept, skipped = [], {}
    for name in frameworks:
        module = FRAMEWORKS[name].module
        if importlib.util.find_spec(module) is None:
            skipped[name] = f"{module} is not installed (pip install -e '.[bench]')"
        else:
            kept.append(name)
    return kept, skipped


def child_env(threads: int) -> dict[str, str]:
    """This environment plus the thread limits, for one worker only (nothing set globally)."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def run_worker(command: list[str], threads: int, timeout: float) -> dict:
    """Run one worker; its record, or ``{"error": ...}`` when it failed."""
    try:
        done = subprocess.run(command, env=child_env(threads), cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit code {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def measure_once(command: list[str], threads: int, args: argparse.Namespace) -> dict:
    """One worker, started when the machine is quiet, with the load of others during it."""
    if args.max_wait > 0:
        machine.wait_until_quiet(args.quiet_threshold, args.max_wait)
    with machine.OtherLoad() as load:
        record = run_worker(command, threads, args.timeout)
    record["other_load_cores"] = load.cores
    return record


def _too_busy(record: dict, threshold: float) -> bool:
    load = record.get("other_load_cores")
    return "error" not in record and load is not None and load >= threshold


def measure_quietly(command: list[str], threads: int, args: argparse.Namespace) -> dict:
    """Measure, and again (up to ``--retries`` times) while other processes took too much CPU."""
    record, attempts = measure_once(command, threads, args), 1
    while _too_busy(record, args.quiet_threshold) and attempts <= args.retries:
        print(f"  busy machine: other processes used {record['other_load_cores']:.2f} cores; "
              "measuring again", file=sys.stderr, flush=True)
        record, attempts = measure_once(command, threads, args), attempts + 1
    record["attempts"] = attempts
    return record


class Interrupted(Exception):
    """SIGTERM or Ctrl-C during the measurements: report what was measured."""


def _outcome(part: str, record: dict) -> str:
    if "error" in record:
        return f"FAILED: {record['error']}"
    if part == "gemm":
        steps = ", ".join(f"{step['arch']} {step['peak_gflops']:.1f}" for step in record["steps"])
        return f"peak GFLOP/s {steps}; square {record['square']['gflops']:.1f}"
    if part == "search":
        return f"{record['wall']:.2f} s for {record['n_trials']} trials"
    return f"{record['seconds']:.3f} s"


def _progress(i: int, total: int, job: plan.Job, record: dict) -> None:
    labels = " ".join(f"{k}={v + 1 if k == 'repeat' else v}" for k, v in job.labels.items())
    print(f"[{i}/{total}] {job.part} {labels}: {_outcome(job.part, record)}", file=sys.stderr, flush=True)


def run_all(args: argparse.Namespace, frameworks: list[str], skipped: dict[str, str]) -> dict:
    """Every job of the plan; the report is rewritten after each, so a stopped run keeps its data."""
    jobs = plan.build(args, frameworks)
    runs: dict[str, list[dict]] = {part: [] for part in plan.PARTS}
    planned = {part: sum(job.part == part for job in jobs) for part in plan.PARTS}
    try:
        for i, job in enumerate(jobs, 1):
            record = measure_quietly(job.command, job.threads, args)
            record.update(job.labels)
            runs[job.part].append(record)
            _progress(i, len(jobs), job, record)
            report.write(report.build(args, frameworks, skipped, runs, planned), args.out)
    except (Interrupted, KeyboardInterrupt):
        print(f"interrupted: reporting the {sum(map(len, runs.values()))} of {len(jobs)} "
              "measurements taken", file=sys.stderr, flush=True)
    return report.build(args, frameworks, skipped, runs, planned)


def run_as_worker(args: argparse.Namespace) -> int:
    """``--worker``: one measurement, printed as one JSON line."""
    if len(args.arch) != 1 or len(args.threads) != 1:
        raise SystemExit("--worker takes exactly one --arch and one --threads")
    config = WorkerConfig(args.worker, args.arch[0], args.threads[0], args.n_train,
                          args.warmup_batches, args.batch_size, args.seed)
    print(json.dumps(measure(config)), flush=True)
    return 0


def _interrupt(signum, frame) -> None:
    raise Interrupted  # unwinds subprocess.run, which then ends the running worker


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = resolve(parser.parse_args(argv))
    signal.signal(signal.SIGTERM, _interrupt)
    if args.worker:
        return run_as_worker(args)
    if args.render:
        return publish(report.rerender(args.render), args.out)
    if set(args.skip) == set(plan.PARTS):
        parser.error(f"--skip leaves nothing to measure: skipping all of {', '.join(plan.PARTS)}")
    if "epoch" not in args.skip and "netcore" not in args.frameworks:
        parser.error("--frameworks must include netcore: every ratio is netcore / peer")
    frameworks, skipped = available(args.frameworks) if "epoch" not in args.skip else ([], {})
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}", flush=True)
    return publish(run_all(args, frameworks, skipped), args.out)


def publish(results: dict, out: Path) -> int:
    """Print the report, write it to ``out``; exit status 1 when a measurement failed or is missing."""
    print(markdown.render(results))
    for path in report.write(results, out):
        print(f"wrote {path}", file=sys.stderr)
    return 0 if report.complete(results) else 1
