"""Compact vectors (issue 25): the 4-bit scalar quantiser keeps a 1536-D vector (the
default logo path's fused vector) within 1 KiB, its top 10 near exact search's (not yet
at the 0.95 recall issue 25 asks: an option, not the default)."""

import numpy as np
import pytest

from features.normalize import l2_normalize
from matching.search import FaissSearch


def clustered(n, dimension, seed):
    """Unit vectors around a few hundred centres, as references of one band sit together."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((300, dimension)).astype(np.float32)
    owners = rng.integers(len(centres), size=n)
    return l2_normalize(centres[owners] + 0.6 * rng.standard_normal((n, dimension)).astype(np.float32))


@pytest.mark.parametrize("index_type", ["sq4", "ivf-sq4"])
def test_four_bit_vectors_fit_in_a_kibibyte_and_keep_the_top_ten(index_type):
    both = clustered(6000, 1536, seed=3)
    vectors, queries = both[:5800], both[5800:]
    exact = FaissSearch("flat").fit(vectors)
    compact = FaissSearch(index_type, nprobe=16).fit(vectors)
    centroids = getattr(compact.index_, "nlist", 0) * 1536 * 4  # an IVF index's coarse quantiser
    assert (len(compact.to_bytes()) - centroids) / len(vectors) <= 1024
    _, truth = exact.search(queries, 10)
    _, found = compact.search(queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.85  # 0.88 here: short of issue 25's 0.95 (BENCHMARKS.md, Scale)
    wide = FaissSearch(index_type.replace("sq4", "sq8")).fit(vectors)
    assert len(compact.to_bytes()) < 0.6 * len(wide.to_bytes())
