"""Plugins: the user's modules or files imported in every worker before its first trial."""

from __future__ import annotations

import functools
import importlib
import runpy


def plugin_names(plugins) -> tuple[str, ...]:
    """``plugins`` as a tuple of names, checked to be a list of strings."""
    if isinstance(plugins, str) or not isinstance(plugins, list | tuple) \
            or not all(isinstance(p, str) for p in plugins):
        raise TypeError(f"plugins must be a list of module names or .py paths, got {plugins!r}")
    return tuple(plugins)


@functools.cache
def _load_plugin(plugin: str) -> None:
    if plugin.endswith(".py"):
        runpy.run_path(plugin)
    else:
        importlib.import_module(plugin)


def load_plugins(plugins: tuple[str, ...]) -> None:
    """Import each plugin once per process.

    Raises:
        ValueError: naming a plugin that cannot be imported, or that raised or
            called ``sys.exit`` while being imported.
    """
    for plugin in plugins:
        try:
            _load_plugin(plugin)
        except (ImportError, OSError, SyntaxError) as exc:
            raise ValueError(f"plugin {plugin!r} cannot be loaded: {exc}") from None
        except (Exception, SystemExit) as exc:
            # A plugin is the user's code: whatever it raises, or a sys.exit() in it,
            # is reported as that plugin's failure instead of ending the process.
            raise ValueError(f"plugin {plugin!r} failed to load: {type(exc).__name__}: "
                             f"{exc}") from None
