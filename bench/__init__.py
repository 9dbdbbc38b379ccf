"""Benchmarks behind ``leaderboard bench``: each measures us and a baseline in the same run,
on this machine, and prints ratios, because absolute numbers on a shared box are noise."""
