"""The smallest number of answers before pulse results are shown (shared by texts and logic)."""

MIN_K = 3
