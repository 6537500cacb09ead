"""The ``hpsearch`` command: run, show, plot and validate studies; find learning rates.

Exit codes: 0 success, 2 bad input (spec, arguments, unknown study) or a fault
of the machine (a full disk), 1 the study itself failed (every trial failed, too
many consecutive failures) or a deleted study left files behind, 130
interrupted (Ctrl-C; running the same command again resumes).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pandas as pd

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
_STORAGE_HELP = "storage URL or file (default sqlite:///hpsearch.db)"


class _Version(argparse.Action):
    """``--version``: the package metadata is read only when asked (not at every start)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        import hpsearch

        print(f"{parser.prog} {hpsearch.__version__}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hpsearch",
                                     description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) the study a TOML spec describes, or a "
                                     "default search on --data FILE --target COLUMN")
    run.add_argument("spec", nargs="?",
                     help="study spec (.toml); without one, --data runs hpsearch.tune's default "
                          "search as the study named after the file")
    run.add_argument("--strategy", help="override the spec's strategy")
    run.add_argument("--trials", type=int, help="the study's total number of trials")
    run.add_argument("--jobs", type=int, help="parallel worker processes")
    run.add_argument("--storage", help="storage URL, e.g. sqlite:///runs.db")
    run.add_argument("--timeout", type=float, help="start no trial after this many seconds")
    run.add_argument("--seed", type=int, help="override the spec's seed")
    run.add_argument("--backend", help="loky (worker processes, the default), dask, ray or "
                                       "another joblib backend")
    run.add_argument("--scheduler", help="Dask scheduler address for --backend dask, "
                                         "e.g. tcp://10.0.0.5:8786")
    run.add_argument("--out", help="folder for results.csv and plots "
                                   "(default hpsearch-results/<study name>)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--data", help="your own data file (.csv, .tsv, .parquet, .npz) instead of "
                                    "the spec's dataset or [data] path (the study is then "
                                    "named <spec name>-<file name>)")
    run.add_argument("--target", help="the target column of --data")
    run.add_argument("--task", choices=["classification", "regression"],
                     help="the task of --data (default: read from the target, as scikit-learn's "
                          "type_of_target does)")
    run.add_argument("--name", help="run the spec as the study of this name (the results "
                                    "folder follows it)")
    for name, text in (("show", "leaderboard, best parameters and trial counts"),
                       ("plot", "write the study's plots as PNG files")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("storage", nargs="?", help=_STORAGE_HELP)
        cmd.add_argument("--study", help="study name (needed when the storage holds several)")
        if name == "show":
            cmd.add_argument("--top", type=int, default=10, help="rows of the leaderboard")
            cmd.add_argument("--confirmed", action="store_true",
                             help="also print the table of `hpsearch confirm` and its verdict")
        else:
            cmd.add_argument("--out", help="output folder (default hpsearch-results/<study>)")
    confirm = sub.add_parser("confirm", help="train the best configurations again with fresh "
                                             "seeds; print means, 95%% intervals and Welch tests")
    confirm.add_argument("storage", nargs="?", help=_STORAGE_HELP)
    confirm.add_argument("--study", help="study name (needed when the storage holds several)")
    # Read as text and checked by cmd_confirm, so that a bad count is one line like every
    # other error; when left out, Study.confirm's own default applies.
    confirm.add_argument("--top", help="configurations to confirm (default 5)")
    confirm.add_argument("--repeats", help="trainings of each (default 5)")
    confirm.add_argument("--jobs", help="parallel worker processes (default 1)")
    confirm.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    export = sub.add_parser("export", help="write a study's best (or one trial's) model to a file")
    export.add_argument("storage", nargs="?", help=_STORAGE_HELP)
    export.add_argument("--study", help="study name (needed when the storage holds several)")
    export.add_argument("--trial", type=int, help="the trial to export (default: the best)")
    export.add_argument("--out", required=True, help="model file to write (.npz, or .onnx)")
    export.add_argument("--format", default="npz", metavar="{npz,onnx}",
                        help="npz (the default: for hpsearch predict and netcore.load) or onnx "
                             "(an ONNX graph for any ONNX runtime; pip install 'hpsearch[onnx]')")
    predict = sub.add_parser("predict", help="predict with an exported model on a data file")
    predict.add_argument("model", help="model file written by export (.npz)")
    predict.add_argument("data", help="rows to predict (.csv, .tsv, .parquet, .npz with X)")
    predict.add_argument("--out", help="CSV file to write (default: standard output)")
    predict.add_argument("--proba", action="store_true",
                         help="add one probability column per class")
    predict.add_argument("--no-header", action="store_true",
                         help="the .csv/.tsv has no header line: its columns are in the "
                              "model's training order")
    delete = sub.add_parser("delete", help="delete a study and its trials from a storage")
    delete.add_argument("storage", nargs="?", help=_STORAGE_HELP)
    delete.add_argument("--study", required=True, help="name of the study to delete")
    validate = sub.add_parser("validate", help="check a spec; print its space and grid size")
    validate.add_argument("spec")
    lr_find = sub.add_parser("lr-find", help="learning-rate range test of one configuration")
    from hpsearch.cli import lr_find as lr_find_cli

    lr_find_cli.add_arguments(lr_find)
    parser.commands = sub.choices  # each command's parser, for its own usage in errors
    return parser


def _override(spec, args):
    """Apply command-line values over the spec's."""
    import dataclasses

    config = spec.config
    if args.strategy is not None or args.seed is not None:
        changes = {}
        if args.strategy is not None:
            changes["strategy"] = args.strategy
            if args.strategy != config.strategy:
                changes["strategy_options"] = {}
        if args.seed is not None:
            changes["seed"] = args.seed
        config = dataclasses.replace(config, **changes).checked()
    run = dict(spec.run)
    for key in ("trials", "jobs", "storage", "timeout", "backend"):
        if getattr(args, key) is not None:
            run[key] = getattr(args, key)
    return dataclasses.replace(spec, config=config, run=run)


def _renamed(spec, name: str | None):
    """The spec as the study ``name`` (``--name``), or unchanged."""
    import dataclasses

    return spec if name is None else dataclasses.replace(spec, name=name)


def _print_summary(study, top: int = 10) -> None:
    from hpsearch.results.report import state_counts

    frame = study.results()
    counts = state_counts(frame)
    print(f"study {study.name!r} in {study.storage_url}: {len(frame)} trials "
          f"({', '.join(f'{v} {k}' for k, v in counts.items()) or 'none yet'})")
    objective = study.config.objective
    print(f"task: {objective.task} on {objective.dataset}, {_goals(objective)}")
    board = study.leaderboard(top)
    if board.empty:
        print("no completed trial yet")
        return
    with pd.option_context("display.width", 160, "display.max_columns", 30):
        print(board.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if objective.multi_objective:
        _print_pareto(study)
        return
    best = study.best_trial
    print(f"best trial {best['trial']}: {objective.metric} = {best['value']:.5g}")
    print(f"best parameters: {best['params']}")


def _print_pareto(study) -> None:
    """A multi-objective study has no single best trial: print its Pareto set."""
    objective = study.config.objective
    front = study.best_trials
    print(f"Pareto set: {len(front)} trial(s) that no other trial beats in every objective "
          f"of {_goals(objective)}")
    with pd.option_context("display.width", 160, "display.max_columns", 30):
        print(front.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _print_skipped(study) -> None:
    """Name the parameters the importance plot left out, so that a short bar list
    is not read as the whole space."""
    from hpsearch.results.plots import constant_parameters

    skipped = constant_parameters(study)
    if skipped:
        print(f"importances: skipped {', '.join(skipped)} (never varied among complete trials)")


def _load_run_spec(args):
    """The spec to run: the file's, or without one the default search on ``--data``."""
    from hpsearch.spec import data_spec, load_spec

    if args.spec is not None:
        return load_spec(args.spec, data=_data_argument(args))
    if args.data is None:
        raise ValueError("run needs a spec file (hpsearch run SPEC.toml) or your own data "
                         "(hpsearch run --data FILE --target COLUMN)")
    if args.target is None and not args.data.lower().endswith(".npz"):
        raise ValueError(f"--data {args.data} needs --target COLUMN: the column to predict")
    return data_spec(_data_argument(args))


def cmd_run(args) -> int:
    from hpsearch.execution.loop import check_run_arguments
    from hpsearch.results.plots import write_plots
    from hpsearch.study import Study

    spec = _renamed(_override(_load_run_spec(args), args), args.name)
    backend_options = {"scheduler_host": args.scheduler} if args.scheduler else None
    if args.scheduler and spec.run["backend"] != "dask":
        raise ValueError("--scheduler needs --backend dask")
    run = {"n_trials": spec.run["trials"], "n_jobs": spec.run["jobs"],
           "timeout": spec.run["timeout"], "backend": spec.run["backend"],
           "backend_options": backend_options,
           "max_consecutive_failures": spec.run["max_consecutive_failures"]}
    check_run_arguments(**run)  # before the study (and its copy of the data) is written
    study = Study.from_config(spec.name, spec.config, storage=spec.storage, load_if_exists=True,
                              data=spec.data)
    finished = study.finished_trials()
    if finished >= run["n_trials"]:
        print(f"study {spec.name!r} is already complete: {finished} trials finished "
              f"(--trials {run['n_trials']}); a larger --trials runs more")
    study.run(**run, progress=not args.no_progress)
    _print_summary(study)
    out = Path(args.out or _results_dir(spec.name))
    out.mkdir(parents=True, exist_ok=True)
    study.results().to_csv(out / "results.csv", index=False)
    plots = write_plots(study, out)
    _print_skipped(study)
    print(f"results: {study.storage_url} (study {spec.name!r}) and {out / 'results.csv'}")
    print(f"plots: {', '.join(str(p) for p in plots)}")
    return EXIT_OK


def _results_dir(name: str) -> Path:
    """``hpsearch-results/<study>``, named so that no study name (``../x``, ``/abs``)
    leads out of it: unsafe characters are replaced and a hash keeps names apart."""
    from hpsearch.storages.artifacts import safe_name

    return Path("hpsearch-results") / safe_name(name)


def _data_argument(args) -> dict | None:
    """``--data FILE [--target COLUMN]`` as a [data] table (or None)."""
    if args.data is None:
        for option in ("target", "task"):
            if getattr(args, option) is not None:
                raise ValueError(f"--{option} needs --data FILE")
        return None
    return {"path": args.data, **{k: getattr(args, k) for k in ("target", "task")
                                  if getattr(args, k) is not None}}


def _require_file(url: str) -> None:
    """A file storage (SQLite or journal) must exist already: opening it would
    create an empty one."""
    from hpsearch.storages.database import journal_path, sqlite_path

    path = sqlite_path(url) or journal_path(url)
    if path is None:
        return
    if not path.exists():
        raise FileNotFoundError(f"no storage file at {path}")
    if not path.is_file():
        raise ValueError(f"storage {url} is not a file: {path} is a folder or a device")


def _open_study(storage: str, name: str | None):

    from hpsearch.storages.database import normalize_url, open_storage, study_names
    from hpsearch.study import Study

    url = normalize_url(storage)
    _require_file(url)
    if name is None:
        names = study_names(open_storage(url))
        if not names:
            raise ValueError(f"{url} holds no study yet; hpsearch run SPEC.toml "
                             "(or --data FILE --target COLUMN) creates one")
        if len(names) != 1:
            raise ValueError(f"{url} holds {len(names)} studies {names}; choose one with --study")
        name = names[0]
    return Study.load(name, url)


def cmd_show(args) -> int:
    study = _open_study(args.storage, args.study)
    _print_summary(study, top=args.top)
    if args.confirmed:
        table = study.confirmations()
        if table.empty:
            print("no configuration confirmed yet: hpsearch confirm STORAGE --study NAME")
        else:
            _print_confirmations(table)
    return EXIT_OK


def _count(text: str, option: str) -> int:
    """A command-line count as an int (checked for being positive by its user)."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{option} must be a positive integer, got {text!r}") from None


def _print_confirmations(table) -> None:
    from hpsearch.results.confirm import verdict

    with pd.option_context("display.width", 160, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(verdict(table))


def cmd_confirm(args) -> int:
    counts = {}  # Study.confirm's keyword -> the value given on the command line
    for keyword, option in (("top", "top"), ("repeats", "repeats"), ("n_jobs", "jobs")):
        if getattr(args, option) is not None:
            counts[keyword] = _count(getattr(args, option), f"--{option}")
            if counts[keyword] < 1:
                raise ValueError(f"--{option} must be a positive integer, got {counts[keyword]}")
    study = _open_study(args.storage, args.study)
    table = study.confirm(**counts, progress=not args.no_progress)
    if table.empty:
        print(f"study {study.name!r} has no completed trial to confirm")
        return EXIT_OK
    _print_confirmations(table)
    return EXIT_OK


def cmd_plot(args) -> int:
    from hpsearch.results.plots import write_plots

    study = _open_study(args.storage, args.study)
    paths = write_plots(study, args.out or _results_dir(study.name))
    _print_skipped(study)
    for path in paths:
        print(path)
    return EXIT_OK


def cmd_export(args) -> int:
    study = _open_study(args.storage, args.study)
    if args.trial is None and study.config.objective.multi_objective:
        raise ValueError(f"study {study.name!r} has several objectives and no single best "
                         f"trial: choose one with --trial, e.g. of its Pareto set "
                         f"{study.best_trials['trial'].tolist()}")
    path = study.export(args.out, trial=args.trial, format=args.format)
    trial = study.best_trial["trial"] if args.trial is None else args.trial
    print(f"trial {trial} of study {study.name!r} written to {path}")
    return EXIT_OK


def cmd_predict(args) -> int:
    from hpsearch.models.predict import predict_file

    frame = predict_file(args.model, args.data, proba=args.proba, header=not args.no_header)
    if args.out:
        frame.to_csv(args.out, index=False)
        print(f"{len(frame)} predictions written to {args.out}")
    else:
        try:
            frame.to_csv(sys.stdout, index=False)
        except BrokenPipeError:  # the reader stopped early (| head): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def cmd_delete(args) -> int:
    from hpsearch.storages.database import normalize_url
    from hpsearch.study import Study

    url = normalize_url(args.storage)
    _require_file(url)
    left = Study.delete(args.study, url)
    if left:
        shown = ", ".join(map(str, left[:3])) + (f" and {len(left) - 3} more" if len(left) > 3
                                                 else "")
        _error(f"study {args.study!r} was deleted from {url}, but {len(left)} file(s) of its "
               f"folder could not be removed and are left: {shown}; remove them by hand")
        return EXIT_FAILED
    print(f"deleted study {args.study!r} from {url}")
    return EXIT_OK


def _print_grid_coverage(config, n_trials: int) -> None:
    """Say when the trial budget visits only part of the strategy's grid."""
    from hpsearch.checks import grid_coverage

    note = grid_coverage(config.build_strategy().size, n_trials)
    if note:
        print(note)


def _goals(objective) -> str:
    """``val_loss (minimize)``, or each metric with its direction for several objectives."""
    return ", ".join(f"{m} ({d})" for m, d in zip(objective.metrics, objective.directions,
                                                  strict=True))


def cmd_validate(args) -> int:
    from hpsearch.spec import load_spec

    spec = load_spec(args.spec)
    config = spec.config
    print(f"{args.spec}: study {spec.name!r}, {config.strategy} search on "
          f"{config.objective.dataset}, {_goals(config.objective)}, {spec.run['trials']} trials, "
          f"{spec.run['jobs']} job(s)")
    for line in config.space.summary().split("; "):
        print(f"  {line}")
    if config.strategy == "grid":
        options = dict(config.strategy_options)
        print(f"grid size: {config.space.grid_size(options.get('points', 5))} points")
    _print_grid_coverage(config, spec.run["trials"])
    print("ok")
    return EXIT_OK


def cmd_lr_find(args) -> int:
    from hpsearch.cli import lr_find as lr_find_cli

    return lr_find_cli.run(args)


COMMANDS = {"run": cmd_run, "show": cmd_show, "plot": cmd_plot, "validate": cmd_validate,
            "lr-find": cmd_lr_find, "export": cmd_export, "predict": cmd_predict,
            "delete": cmd_delete, "confirm": cmd_confirm}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """The arguments; an unknown option is reported with its command's usage (``hpsearch
    run --trails 5`` shows run's options, not the list of commands) and the closest option."""
    from netcore.validation import did_you_mean

    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        _misplaced_option(parser, argv[0].split("=")[0])
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = parser.commands[args.command]
        command.error(f"unrecognized arguments: {' '.join(extra)}"
                      f"{did_you_mean(extra[0], _options(command))}")
    return args


def _options(command: argparse.ArgumentParser) -> list[str]:
    return [o for action in command._actions for o in action.option_strings]


def _misplaced_option(parser: argparse.ArgumentParser, flag: str) -> None:
    """An option before any command (``hpsearch --trails 5``): the usage of the command
    whose option is closest to it, with that option."""
    import difflib

    owners: dict[str, str] = {}
    for name, cmd in parser.commands.items():  # an option of several commands: the first's
        for option in _options(cmd):
            owners.setdefault(option, name)
    close = difflib.get_close_matches(flag, list(owners), n=1)
    if not close:
        parser.error(f"unrecognized arguments: {flag}")
    command = parser.commands[owners[close[0]]]
    command.error(f"{flag} is no option of hpsearch itself: options follow their command, "
                  f"e.g. hpsearch {owners[close[0]]} ... {close[0]}")


# Seconds after a Ctrl-C during which further ones are ignored: the command is
# shutting its workers down and must not break that off with a traceback.
INTERRUPT_GRACE = 10.0
_INTERRUPTED: list[float] = []  # when the last Ctrl-C that counted came


def _interrupt_once(_signum, _frame) -> None:
    """Ctrl-C stops a command; those that follow within ``INTERRUPT_GRACE`` seconds are
    ignored. Later ones count again: a first one that Python dropped (raised inside a
    finalizer) must not leave the command unstoppable."""
    now = time.monotonic()
    if _INTERRUPTED and now - _INTERRUPTED[-1] < INTERRUPT_GRACE:
        return
    _INTERRUPTED[:] = [now]
    raise KeyboardInterrupt


# loky's resource tracker, a child process sharing stderr, warns after the one-line
# message of a stopped run about the semaphores of the workers it killed, which it
# then cleans up: nothing for the user to do, so nothing to print.
_QUIET_TRACKER = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    warnings = os.environ.get("PYTHONWARNINGS")
    if _QUIET_TRACKER not in (warnings or ""):  # read by the tracker when it starts
        os.environ["PYTHONWARNINGS"] = f"{warnings},{_QUIET_TRACKER}" if warnings \
            else _QUIET_TRACKER
    own_sigint = threading.current_thread() is threading.main_thread() \
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if own_sigint:
        signal.signal(signal.SIGINT, _interrupt_once)
    try:
        return _main(args)
    finally:  # uninterrupted: a caller in this process gets Ctrl-C back as it was
        if own_sigint and signal.getsignal(signal.SIGINT) is _interrupt_once:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _main(args) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from hpsearch.errors import AllTrialsFailedError, StudyDeletedError, TooManyFailuresError
    from hpsearch.storages.database import StorageUnreachableError

    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe is found here, not at exit
        return code
    except KeyboardInterrupt as exc:
        # The command ends: no Ctrl-C may break off its workers' shutdown at exit.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        done = getattr(exc, "complete", None)  # set when a run was interrupted
        print("interrupted" if done is None else
              f"interrupted: {done} complete, run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (AllTrialsFailedError, TooManyFailuresError) as exc:
        print(f"hpsearch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # the reader stopped early (hpsearch show | head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (ValueError, TypeError, KeyError, OSError, ImportError, StorageUnreachableError,
            StudyDeletedError) as exc:
        # OSError: a storage or results folder that cannot be read or written
        # (missing, read-only, a file where a folder should be, ...); ImportError:
        # an optional package a command needs (it says what to install).
        _error(str(exc))
        return EXIT_BAD_INPUT
    except Exception as exc:
        if isinstance(exc, optuna.exceptions.StorageInternalError):
            # Optuna's text ("invalid data in the commit") hides the cause: name it.
            from hpsearch.storages.disk import write_fault_reason

            _error(f"cannot write the storage: {write_fault_reason(exc)}")
            return EXIT_BAD_INPUT
        if not type(exc).__module__.startswith("sqlalchemy"):
            raise
        # Not a database (or not one of ours): say so instead of a driver traceback.
        reason = getattr(exc, "orig", None) or exc
        _error(f"cannot read the storage: {reason}")
        return EXIT_BAD_INPUT


def _error(message: str) -> None:
    """Report ``message`` as one line on stderr, whatever lines it holds."""
    print(f"hpsearch: error: {' '.join(message.split())}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
