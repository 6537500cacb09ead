"""Benchmarks of netcore against peer frameworks, measured in the same run.

``python -m studies.benchmarks`` times one MNIST training epoch (see ``epoch``).
"""
