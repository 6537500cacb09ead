"""What a study found: trial results, the results DataFrame, the best trial and the
Pareto set, plots, the tables of the winners confirmed with fresh seeds, and how a
study shows itself (``view``: its repr and its summary in a notebook).
"""
