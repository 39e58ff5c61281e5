"""Comparing runs: selection, paired statistics, flipped examples, tables, the HTML report, the leaderboard."""
