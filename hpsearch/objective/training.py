"""One trial's net: its settings split into model and fit options, built and trained once."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import netcore
from hpsearch.objective.config import ObjectiveConfig, fit_keys, model_keys
from hpsearch.trial import Deadline


class DivergedError(RuntimeError):
    """Training produced a NaN or infinite loss."""


class _Deadline(netcore.Callback):
    """Stops a training that runs past its trial's deadline, checked after every batch."""

    def __init__(self, deadline: Deadline):
        self.deadline = deadline

    def on_batch_end(self, model, step: int) -> None:
        self.deadline.check(f"after {step} optimizer steps")


def hidden_sizes(settings: Mapping) -> list[int]:
    """The hidden widths ``settings`` ask for: ``hidden`` (one width or a list), else
    ``n_layers`` layers of ``units`` (1 and 100 by default), else one layer of 100.
    The widths are as given: a caller that needs them valid checks them."""
    if "hidden" in settings:
        hidden = settings["hidden"]
        return [hidden] if isinstance(hidden, int) else list(hidden)
    if "n_layers" in settings or "units" in settings:
        return [int(settings.get("units", 100))] * int(settings.get("n_layers", 1))
    return [100]


def split_settings(settings: Mapping) -> tuple[dict, dict]:
    """``settings`` as (the ``netcore.MLP`` keywords, the ``netcore.fit`` keywords);
    names of neither (the architecture keys, ``patience``) are left out."""
    model_kw = {k: v for k, v in settings.items() if k in model_keys()}
    fit_kw = {k: v for k, v in settings.items() if k in fit_keys()}
    return model_kw, fit_kw


def model_config(config: ObjectiveConfig, settings: dict, seed: int,
                 data: netcore.Dataset) -> dict:
    """The MLP arguments of one trial: the data's widths around the hidden layers."""
    model_kw, _ = split_settings(settings)
    if config.task == "regression":
        model_kw.setdefault("loss", "mse")
    return {"sizes": [data.n_features, *hidden_sizes(settings), data.n_outputs], "seed": seed,
            **model_kw}


def build_model(config: ObjectiveConfig, settings: dict, seed: int,
                data: netcore.Dataset) -> netcore.MLP:
    """The untrained net of one trial, carrying the data's preprocessing: its metrics
    (a standardized target's in the target's units) and its answers on raw rows."""
    model = netcore.MLP(**model_config(config, settings, seed, data))
    model.preprocessing = data.preprocessing
    return model


def train_once(config: ObjectiveConfig, settings: dict, seed: int, data: netcore.Dataset,
               X, y, X_val, y_val, reporter: Callable[[int, dict], None] | None = None,
               deadline: Deadline | None = None, *, pause_after: int | None = None,
               resume: netcore.TrainingState | None = None):
    """Build and train one model; returns (model, history). Raises DivergedError.

    The model returned holds the weights of its best epoch on the validation
    metric (early stopping restores them; without patience nothing stops early).
    ``deadline`` is the trial's (shared by all its trainings); without one a
    ``trial_timeout`` starts its own now. ``pause_after`` and ``resume`` are
    ``netcore.fit``'s (a multi-fidelity job): a paused model too holds the
    weights of its best epoch so far, ``history.state`` the training to continue.
    """
    _, fit_kw = split_settings(settings)
    fit_kw.setdefault("epochs", config.epochs)
    if resume is not None:
        # A resumed training draws from the state's generators; a job of pbt may continue
        # another member's training, which was seeded from that member's slot.
        seed = resume.config_key.get("seed", seed)
    model = build_model(config, settings, seed, data)
    patience = settings.get("patience", config.patience)
    stopper = netcore.EarlyStopping(config.monitor, patience=fit_kw["epochs"]
                                    if patience is None else patience)
    callbacks = [netcore.EpochHook(reporter)] if reporter else []
    deadline = deadline or Deadline.start(config.trial_timeout)
    if deadline is not None:
        callbacks.append(_Deadline(deadline))
    hist = netcore.fit(model, X, y, X_val, y_val, seed=seed, early_stopping=stopper,
                       callbacks=callbacks, pause_after=pause_after, resume=resume, **fit_kw)
    if hist.diverged:
        raise DivergedError(f"training diverged: the loss became NaN or infinite at epoch "
                            f"{hist.diverged_epoch}")
    if hist.state is not None:
        # Paused: the training to continue is in hist.state (its own copies); the model
        # returned is, as for any trial, the best epoch's so far.
        stopper.on_train_end(model, hist)
    return model, hist
