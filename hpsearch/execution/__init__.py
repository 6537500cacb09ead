"""How trials run: the run loop, the worker pools (loky, Dask, Ray), the worker
side of a trial and its time limits.
"""
