"""What a study found: trial results, the results DataFrame, plots, and the
confirmation of the winners with fresh seeds.
"""
