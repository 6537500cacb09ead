"""What a study found: trial results, the results DataFrame, the best trial and the
Pareto set, plots, and the tables of the winners confirmed with fresh seeds.
"""
