"""Scripts that reproduce the project's experiments and benchmarks (not installed)."""
