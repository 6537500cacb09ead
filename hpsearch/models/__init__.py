"""The trained models of a study: the files its best trials keep, refits, and
predictions with them.
"""
