"""What a trial reads and writes in a study's artifacts folder: sizing a cluster's shared folder.

``python -m studies.benchmarks.cluster_io`` runs three small studies (2 loky
workers, SQLite) in a child process under ``strace -f`` and counts every
``read``, ``write``, ``mmap``, ``openat``, ``rename`` and ``unlink`` whose file lies
in the study's artifacts folder (the folder that workers on several machines
must share), split into the driver (the child itself) and its worker processes:

- ``digits``: the bundled dataset (read by each worker from ``netcore``, not
  from the folder), 64-32 hidden units, each trial saving its model;
- ``mnist10k``: the first 10,000 MNIST training images as the user's own data
  (``data=(X, y)``): its copy lives in the folder and workers memory-map it;
- ``asha``: ASHA on digits, each job saving its paused training (a checkpoint)
  and promoted jobs reading it back.

Nothing in hpsearch is instrumented: the counts come from the system calls.
A memory-mapped file is counted at its mapped length, once per mapping
(``mapped``): the pages a worker touches are read through the mapping, at most
once per machine while they stay in its page cache. The report goes to
``results/cluster_io.md`` and ``cluster_io.json`` (``--out`` chooses the
folder); ``--quick`` runs 3 digits trials (for tests: the report's shape).
Needs ``strace`` and, for ``mnist10k``, MNIST under ``NETCORE_DATA_DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
CASES = ("digits", "mnist10k", "asha")
SYSCALLS = "openat,read,pread64,write,pwrite64,mmap,unlink,unlinkat,rename,renameat2,clone,clone3"
# "1234 read(5</path/file>, ..., 4096) = 4096": pid, call, the first fd's path, the result.
_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-f]+)(.*)$")
_UNFINISHED = re.compile(r"^(\d+)\s+(.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$")
_FD_PATH = re.compile(r"\d+<([^>]*)>")
_QUOTED = re.compile(r'"([^"]*)"')


def child_study(case: str, storage: str, n_trials: int) -> None:
    """Create and run the study of ``case`` (in the traced child process)."""
    import hpsearch
    import netcore
    from hpsearch import space

    common = {"space": {"lr": space.log_float(1e-3, 1e-1)}, "storage": storage, "seed": 0,
              "fixed": {"hidden": [64, 32], "optimizer": "adam"}}
    if case == "mnist10k":
        data = netcore.load_dataset("mnist")
        study = hpsearch.Study.create(case, data=(data.X_train[:10_000], data.y_train[:10_000]),
                                      epochs=2, **common)
    elif case == "asha":
        study = hpsearch.Study.create(case, dataset="digits", epochs=9, strategy="asha",
                                      strategy_options={"min_epochs": 1, "eta": 3}, **common)
    else:
        study = hpsearch.Study.create(case, dataset="digits", epochs=5, **common)
    study.run(n_trials=n_trials, n_jobs=2, progress=False)
    print(json.dumps({"trials": len(study.trials())}))


def _leader(pid: int, leaders: dict[int, int]) -> int:
    return leaders.get(pid, pid)


def whole_calls(lines) -> list[str]:
    """strace's lines with each call that another thread interrupted joined again."""
    pending, calls = {}, []
    for line in lines:
        if (unfinished := _UNFINISHED.match(line)):
            pending[unfinished[1]] = unfinished[2]
        elif (resumed := _RESUMED.match(line)):
            calls.append(f"{resumed[1]} {pending.pop(resumed[1], '')}{resumed[2]}")
        else:
            calls.append(line)
    return calls


def count_io(trace: Path, folder: str, driver: int) -> dict:
    """Bytes and calls on files under ``folder``, by the driver and by its workers."""
    counts: dict = defaultdict(lambda: defaultdict(int))
    leaders: dict[int, int] = {}
    mappers: set[tuple[str, int]] = set()
    for line in whole_calls(trace.read_text(errors="replace").splitlines()):
        match = _LINE.match(line)
        if not match:
            continue
        pid, call, args, result = int(match[1]), match[2], match[3], match[4]
        if call == "openat":
            args += match[5]  # the opened file is the decorated result
        if call.startswith("clone"):
            if "CLONE_THREAD" in args and not result.startswith("-"):
                leaders[int(result)] = _leader(pid, leaders)
            continue
        who = "driver" if _leader(pid, leaders) == driver else "workers"
        if _count_call(counts[who], call, args, result, folder) == "mapped_data":
            mappers.add((who, _leader(pid, leaders)))
    for who, _ in mappers:
        counts[who]["processes_mapping_data"] += 1
    return {who: dict(c) for who, c in counts.items()}


def _count_call(counts: dict, call: str, args: str, result: str, folder: str) -> str | None:
    """Count one call on a file under ``folder``; returns the key counted."""
    fd = _FD_PATH.search(args)
    path = fd[1] if fd else (_QUOTED.search(args) or [None, ""])[1]
    if not path.startswith(folder + "/") or result.startswith("-"):
        return None
    parts = path[len(folder):].strip("/").split("/")
    kind = parts[1] if len(parts) > 2 else "other"  # <study folder>/<kind>/<file>
    key, amount = {"read": (f"read_{kind}", result), "pread64": (f"read_{kind}", result),
                   "write": (f"written_{kind}", result), "pwrite64": (f"written_{kind}", result),
                   "mmap": (f"mapped_{kind}", args.split(",")[1] if "," in args else 0),
                   "openat": ("opens", 1), "unlink": ("unlinks", 1), "unlinkat": ("unlinks", 1),
                   "rename": ("renames", 1), "renameat2": ("renames", 1)}.get(call, (None, 0))
    if key is not None:
        counts[key] += int(amount)
    return key


def folder_bytes(folder: Path) -> dict:
    """The bytes under each subfolder of the study's folder (data, models, checkpoints)."""
    sizes: dict = defaultdict(int)
    for path in folder.rglob("*"):
        if path.is_file():
            sizes[path.relative_to(folder).parts[0]] += path.stat().st_size
    return dict(sizes)


def measure(case: str, n_trials: int, tmp: Path) -> dict:
    """Run ``case`` under strace; its counts per trial and the folder it leaves."""
    storage, trace = tmp / f"{case}.db", tmp / f"{case}.strace"
    command = ["strace", "-f", "--seccomp-bpf", "-qq", "-y", "-s", "512", "-o", str(trace), "-e",
               f"trace={SYSCALLS}", sys.executable, "-m", "studies.benchmarks.cluster_io",
               "--child", case, "--storage", f"sqlite:///{storage}", "--trials", str(n_trials)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800,
                          check=True)
    trials = json.loads(done.stdout.strip().splitlines()[-1])["trials"]
    driver = int(trace.read_text(errors="replace").split(None, 1)[0])
    artifacts = Path(f"{storage}.artifacts")
    folders = [p for p in artifacts.iterdir() if p.is_dir()]
    io = count_io(trace, str(artifacts.resolve()), driver)
    return {"case": case, "trials": trials, "io": io,
            "folder_after": folder_bytes(folders[0]) if folders else {}}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--trials", type=int, default=None,
                        help="trials (asha: jobs) per study (default 20; --quick 4)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--storage", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.trials = args.trials or (3 if args.quick else 20)
    args.cases = ["digits"] if args.quick else [c for c in args.cases.split(",") if c]
    for case in args.cases:
        if case not in CASES:
            parser.error(f"--cases: {case!r} is not one of {', '.join(CASES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    from studies.benchmarks.cluster_io_report import write_report

    args = parse_args(argv)
    if args.child:
        child_study(args.child, args.storage, args.trials)
        return 0
    if shutil.which("strace") is None:
        raise SystemExit("cluster_io needs strace (apt-get install strace)")
    with tempfile.TemporaryDirectory(prefix="hpsearch-cluster-io-") as tmp:
        rows = [measure(case, args.trials, Path(tmp)) for case in args.cases]
    write_report({"rows": rows, "quick": args.quick, "trials": args.trials,
                  "when": datetime.now(UTC).isoformat(timespec="seconds"),
                  "cpus": os.cpu_count()}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
