"""How trials run: the run loop and its recovery of dead drivers' trials, the tasks
workers get, confirm's repeats, the worker pools (loky, Dask, Ray), the worker side
of a trial and its time limits. It takes a study's storage handle and configuration,
never the ``Study``.
"""
