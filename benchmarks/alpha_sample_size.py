"""How many items a reliable Krippendorff's alpha needs: the spread of alpha over simulated studies.

    .venv/bin/python benchmarks/alpha_sample_size.py

Each simulated study has N items; each item has a true quality drawn from Normal(3, 1), and each of K
annotators rates it as the quality plus Normal(0, 0.5) noise, rounded and clipped to 1..5 (annotators who
agree about as well as alpha 0.74, measured on 40,000 items). Alpha is computed with bench's own
`bench.stats.agreement.krippendorff_alpha_interval` on 2,000 studies per (K, N); the table gives the range
holding the middle 90% of them. docs/annotate.md quotes it.
"""

from __future__ import annotations

import numpy as np

from bench.stats.agreement import krippendorff_alpha_interval

SEED = 0
STUDIES = 2000
NOISE = 0.5


def alpha_of_one_study(rng: np.random.Generator, n_items: int, n_annotators: int) -> float:
    quality = rng.normal(3.0, 1.0, n_items)
    ratings = np.clip(np.rint(quality[:, None] + rng.normal(0.0, NOISE, (n_items, n_annotators))), 1, 5)
    return krippendorff_alpha_interval(ratings)


def main() -> None:
    rng = np.random.default_rng(SEED)
    print(f"alpha of this rater model on 40,000 items: {alpha_of_one_study(rng, 40_000, 2):.2f}\n")
    print("| annotators per item | items | alpha, middle 90% of studies | width |")
    print("|--:|--:|--:|--:|")
    for k in (2, 3):
        for n in (20, 50, 100, 200, 400):
            alphas = np.array([alpha_of_one_study(rng, n, k) for _ in range(STUDIES)])
            lo, hi = np.quantile(alphas, [0.05, 0.95])
            print(f"| {k} | {n} | {lo:.2f} to {hi:.2f} | {hi - lo:.2f} |")


if __name__ == "__main__":
    main()
