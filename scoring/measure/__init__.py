"""The measurement models marketers report: the engagement funnel, the health index, share of
voice and per-platform metric sheets — pure functions over posts, authors and runs.
"""
