"""The commands: each parses nothing and checks nothing itself; it calls the public API
with the command line's values and prints what it returns. Their errors go to
``hpsearch.cli.errors``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shlex
import sys
from pathlib import Path

from hpsearch.cli import output
from hpsearch.cli.errors import EXIT_FAILED, EXIT_OK, naming_flags, print_error
from hpsearch.cli.parser import dest
from hpsearch.run_options import CONFIRM_OPTIONS, RUN_OPTIONS, RunOption


def _given(args: argparse.Namespace, options: tuple[RunOption, ...]) -> dict[RunOption, object]:
    """The options among ``options`` that the command line gave (a ``--no-...`` switch
    only when used), with their values."""
    values = {o: getattr(args, dest(o)) for o in options if o.flag is not None}
    return {o: v for o, v in values.items() if v is not None and v is not False}


def _flags(given: dict[RunOption, object]) -> dict[str, str]:
    return {o.keyword: o.flag for o in given}


def _override(spec, args: argparse.Namespace):
    """The spec with the command line's values over its own."""
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
    run.update({o.key: value for o, value in _given(args, RUN_OPTIONS).items() if o.key})
    if args.storage is not None:
        run["storage"] = args.storage
    spec = dataclasses.replace(spec, config=config, run=run)
    return spec if args.name is None else dataclasses.replace(spec, name=args.name)


def _data_argument(args: argparse.Namespace) -> dict | None:
    """``--data FILE [--target COLUMN]`` as a [data] table (or None)."""
    if args.data is None:
        for option in ("target", "task"):
            if getattr(args, option) is not None:
                raise ValueError(f"--{option} needs --data FILE")
        return None
    return {"path": args.data, **{k: getattr(args, k) for k in ("target", "task")
                                  if getattr(args, k) is not None}}


def _load_run_spec(args: argparse.Namespace):
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


def _results_dir(name: str) -> Path:
    """``hpsearch-results/<study>``, named so that no study name (``../x``, ``/abs``)
    leads out of it: unsafe characters are replaced and a hash keeps names apart."""
    from hpsearch.storages.artifacts import safe_name

    return Path("hpsearch-results") / safe_name(name)


def _command_line(args: argparse.Namespace) -> str | None:
    """The command line that runs this command (for the study note), when it is known."""
    return shlex.join(["hpsearch", *sys.argv[1:]]) if sys.argv[1:2] == [args.command] else None


def cmd_run(args: argparse.Namespace) -> int:
    from hpsearch.execution.loop import check_run_arguments
    from hpsearch.results.plots import write_plots
    from hpsearch.results.publish import publish
    from hpsearch.study import Study

    spec = _override(_load_run_spec(args), args)
    if args.scheduler and spec.run["backend"] != "dask":
        raise ValueError("--scheduler needs --backend dask")
    run = {o.keyword: spec.run[o.key] for o in RUN_OPTIONS if o.key is not None}
    run["backend_options"] = {"scheduler_host": args.scheduler} if args.scheduler else None
    with naming_flags(_flags(_given(args, RUN_OPTIONS))):
        check_run_arguments(**run)  # before the study (and its copy of the data) is written
    study = Study.from_config(spec.name, spec.config, storage=spec.storage, load_if_exists=True,
                              data=spec.data)
    finished = study.finished_trials()
    if finished >= run["n_trials"]:
        print(f"study {spec.name!r} is already complete: {finished} trials finished "
              f"(--trials {run['n_trials']}); a larger --trials runs more")
    with _dashboard_beside(args, study.storage_url):
        study.run(**run, progress=not args.no_progress)
    output.print_summary(study)
    out = Path(args.out or _results_dir(spec.name))
    out.mkdir(parents=True, exist_ok=True)
    study.results().to_csv(out / "results.csv", index=False)
    plots = write_plots(study, out)
    publish(study, plots, command=_command_line(args))
    output.print_skipped(study)
    print(f"results: {study.storage_url} (study {spec.name!r}) and {out / 'results.csv'}")
    print(f"plots: {', '.join(str(p) for p in plots)}")
    return EXIT_OK


def _dashboard_beside(args: argparse.Namespace, storage: str):
    """``run --dashboard``: optuna-dashboard on the study's storage while it runs."""
    if not args.dashboard:
        return contextlib.nullcontext()
    from hpsearch.cli import dashboard

    return dashboard.beside(storage, dashboard.DEFAULT_HOST, args.dashboard_port)


def _load(args: argparse.Namespace):
    """The study ``--study`` names in the storage (its only study when not named)."""
    from hpsearch.study import Study

    return Study.load(args.study, args.storage)


def cmd_show(args: argparse.Namespace) -> int:
    study = _load(args)
    output.print_summary(study, top=args.top)
    if args.confirmed:
        table = study.confirmations()
        if table.empty:
            print("no configuration confirmed yet: hpsearch confirm STORAGE --study NAME")
        else:
            output.print_confirmations(table)
    return EXIT_OK


def _integer(text: str, flag: str) -> int:
    """A command-line count as an int (its API checks that it is positive)."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag} must be a positive integer, got {text!r}") from None


def cmd_confirm(args: argparse.Namespace) -> int:
    counts = {o: _integer(text, o.flag) for o, text in _given(args, CONFIRM_OPTIONS).items()
              if o.default is not True}
    study = _load(args)
    with naming_flags(_flags(counts)):
        table = study.confirm(**{o.keyword: n for o, n in counts.items()},
                              progress=not args.no_progress)
    if table.empty:
        print(f"study {study.name!r} has no completed trial to confirm")
        return EXIT_OK
    output.print_confirmations(table)
    from hpsearch.results.publish import publish

    publish(study)  # the note shows the confirmed table
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    from hpsearch.results.plots import write_plots

    study = _load(args)
    paths = write_plots(study, args.out or _results_dir(study.name))
    output.print_skipped(study)
    for path in paths:
        print(path)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    study = _load(args)
    path = study.export(args.out, trial=args.trial, format=args.format)
    trial = study.best_trial["trial"] if args.trial is None else args.trial
    print(f"trial {trial} of study {study.name!r} written to {path}")
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
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


def cmd_delete(args: argparse.Namespace) -> int:
    from hpsearch.storages.database import normalize_url
    from hpsearch.study import Study

    left = Study.delete(args.study, args.storage)
    url = normalize_url(args.storage)
    if left:
        shown = ", ".join(map(str, left[:3])) + (f" and {len(left) - 3} more" if len(left) > 3
                                                 else "")
        print_error(f"study {args.study!r} was deleted from {url}, but {len(left)} file(s) of "
                    f"its folder could not be removed and are left: {shown}; remove them by hand")
        return EXIT_FAILED
    print(f"deleted study {args.study!r} from {url}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from hpsearch.spec import load_spec

    spec = load_spec(args.spec)
    config = spec.config
    print(f"{args.spec}: study {spec.name!r}, {config.strategy} search on "
          f"{config.objective.dataset}, {output.goals(config.objective)}, "
          f"{spec.run['trials']} trials, {spec.run['jobs']} job(s)")
    for line in config.space.summary().split("; "):
        print(f"  {line}")
    size = config.build_strategy().size
    if size is not None:
        print(f"grid size: {size} points")
    output.print_grid_coverage(size, spec.run["trials"])
    print("ok")
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    from hpsearch.cli import dashboard

    return dashboard.run(args)


def cmd_lr_find(args: argparse.Namespace) -> int:
    from hpsearch.cli import lr_find

    return lr_find.run(args)


COMMANDS = {"run": cmd_run, "show": cmd_show, "plot": cmd_plot, "validate": cmd_validate,
            "lr-find": cmd_lr_find, "export": cmd_export, "predict": cmd_predict,
            "delete": cmd_delete, "confirm": cmd_confirm, "dashboard": cmd_dashboard}
