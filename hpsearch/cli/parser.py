"""The ``hpsearch`` command's arguments: each command's options, and the usage an
unknown option is reported with. The run and confirm options come from
``hpsearch.run_options``, where ``Study.run``'s are declared."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable

from hpsearch.run_options import CONFIRM_OPTIONS, RUN_OPTIONS, RunOption
from netcore.validation import did_you_mean

DESCRIPTION = "run, show, plot and validate studies; find learning rates"
_STORAGE_HELP = "storage URL or file (default sqlite:///hpsearch.db)"
_STUDY_HELP = "study name (needed when the storage holds several)"


class _Version(argparse.Action):
    """``--version``: the package metadata is read only when asked (not at every start)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        import hpsearch

        print(f"{parser.prog} {hpsearch.__version__}")
        parser.exit()


def dest(option: RunOption) -> str:
    """The attribute of the parsed arguments that holds ``option``'s flag."""
    return option.flag.removeprefix("--").replace("-", "_")


def add_options(parser: argparse.ArgumentParser, options: Iterable[RunOption], *,
                as_text: bool = False) -> None:
    """The flags of ``options`` (those that have one). A ``--no-...`` flag turns off an
    option that is on by default. ``as_text``: values are kept as text for the command to
    convert (a bad one is then one line like every other error) and the help names the
    API's default, which applies when the flag is left out."""
    for option in options:
        if option.flag is None:
            continue
        if option.default is True:
            parser.add_argument(option.flag, action="store_true", help=option.help)
        elif as_text:
            parser.add_argument(option.flag, help=f"{option.help} (default {option.default})")
        else:
            parser.add_argument(option.flag, type=option.cli_type, help=option.help)


def _add_run(sub) -> None:
    run = sub.add_parser("run", help="run (or resume) the study a TOML spec describes, or a "
                                     "default search on --data FILE --target COLUMN")
    run.add_argument("spec", nargs="?",
                     help="study spec (.toml); without one, --data runs hpsearch.tune's default "
                          "search as the study named after the file")
    run.add_argument("--strategy", help="override the spec's strategy")
    add_options(run, RUN_OPTIONS)
    run.add_argument("--storage", help="storage URL, e.g. sqlite:///runs.db")
    run.add_argument("--seed", type=int, help="override the spec's seed")
    run.add_argument("--scheduler", help="Dask scheduler address for --backend dask, "
                                         "e.g. tcp://10.0.0.5:8786")
    run.add_argument("--out", help="folder for results.csv and plots "
                                   "(default hpsearch-results/<study name>)")
    run.add_argument("--data", help="your own data file (.csv, .tsv, .parquet, .npz) instead of "
                                    "the spec's dataset or [data] path (the study is then "
                                    "named <spec name>-<file name>)")
    run.add_argument("--target", help="the target column of --data")
    run.add_argument("--task", choices=["classification", "regression"],
                     help="the task of --data (default: read from the target, as scikit-learn's "
                          "type_of_target does)")
    run.add_argument("--name", help="run the spec as the study of this name (the results "
                                    "folder follows it)")
    run.add_argument("--dashboard", action="store_true",
                     help="serve the study in optuna-dashboard while it runs (on 127.0.0.1, "
                          "port --dashboard-port; pip install 'hpsearch[dashboard]')")
    run.add_argument("--dashboard-port", type=int, default=8080,
                     help="port of --dashboard (default 8080; 0: any free port)")


def _add_study_commands(sub) -> None:
    """The commands that read a stored study: show, plot, confirm, export, delete."""
    for name, text in (("show", "leaderboard, best parameters and trial counts"),
                       ("plot", "write the study's plots as PNG files")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("storage", nargs="?", help=_STORAGE_HELP)
        cmd.add_argument("--study", help=_STUDY_HELP)
        if name == "show":
            cmd.add_argument("--top", type=int, default=10, help="rows of the leaderboard")
            cmd.add_argument("--confirmed", action="store_true",
                             help="also print the table of `hpsearch confirm` and its verdict")
        else:
            cmd.add_argument("--out", help="output folder (default hpsearch-results/<study>)")
    confirm = sub.add_parser("confirm", help="train the best configurations again with fresh "
                                             "seeds; print means, 95%% intervals and Welch tests")
    confirm.add_argument("storage", nargs="?", help=_STORAGE_HELP)
    confirm.add_argument("--study", help=_STUDY_HELP)
    add_options(confirm, CONFIRM_OPTIONS, as_text=True)
    export = sub.add_parser("export", help="write a study's best (or one trial's) model to a file")
    export.add_argument("storage", nargs="?", help=_STORAGE_HELP)
    export.add_argument("--study", help=_STUDY_HELP)
    export.add_argument("--trial", type=int, help="the trial to export (default: the best)")
    export.add_argument("--out", required=True, help="model file to write (.npz, or .onnx)")
    export.add_argument("--format", default="npz", metavar="{npz,onnx}",
                        help="npz (the default: for hpsearch predict and netcore.load) or onnx "
                             "(an ONNX graph for any ONNX runtime; pip install 'hpsearch[onnx]')")
    delete = sub.add_parser("delete", help="delete a study and its trials from a storage")
    delete.add_argument("storage", nargs="?", help=_STORAGE_HELP)
    delete.add_argument("--study", required=True, help="name of the study to delete")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; ``parser.commands`` maps a command to its own parser."""
    parser = argparse.ArgumentParser(prog="hpsearch", description=f"The hpsearch command: "
                                                                  f"{DESCRIPTION}.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)
    _add_study_commands(sub)
    predict = sub.add_parser("predict", help="predict with an exported model on a data file")
    predict.add_argument("model", help="model file written by export (.npz)")
    predict.add_argument("data", help="rows to predict (.csv, .tsv, .parquet, .npz with X)")
    predict.add_argument("--out", help="CSV file to write (default: standard output)")
    predict.add_argument("--proba", action="store_true",
                         help="add one probability column per class")
    predict.add_argument("--no-header", action="store_true",
                         help="the .csv/.tsv has no header line: its columns are in the "
                              "model's training order")
    validate = sub.add_parser("validate", help="check a spec; print its space and grid size")
    validate.add_argument("spec")
    lr_find = sub.add_parser("lr-find", help="learning-rate range test of one configuration")
    from hpsearch.cli import lr_find as lr_find_cli

    lr_find_cli.add_arguments(lr_find)
    dashboard = sub.add_parser("dashboard", help="open a storage's studies in optuna-dashboard: "
                                                 "learning curves, plots, models, notes")
    from hpsearch.cli import dashboard as dashboard_cli

    dashboard_cli.add_arguments(dashboard)
    parser.commands = sub.choices  # each command's parser, for its own usage in errors
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The arguments; an unknown option is reported with its command's usage (``hpsearch
    run --trails 5`` shows run's options, not the list of commands) and the closest option."""
    parser = build_parser()
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
