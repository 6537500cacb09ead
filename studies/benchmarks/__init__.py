"""Benchmarks of netcore against peer frameworks and the BLAS's peak, measured in the same run.

``python -m studies.benchmarks`` times one MNIST training epoch per framework, the
GEMM peak for the same shapes and hpsearch's search throughput (see ``epoch``);
``python -m studies.benchmarks.search`` compares hpsearch with raw Optuna and
Hyperopt loops (see ``search``).
"""
