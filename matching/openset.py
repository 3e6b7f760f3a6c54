"""Open-set rejection: answer ``unknown`` when the crop's band is probably not indexed.

An absolute similarity cannot tell "not in the database" from a match: an unknown logo
scores as high as a known one (ARCHITECTURE.md). What differs is the shape of the
ranking: a known band's best candidate stands out from the rest of the gallery, an
unknown band's does not. So the evidence is relative:

- ``margin``: best band's similarity minus the next band's;
- ``z``: the best similarity's z-score over the other candidates' similarities;
- for verified paths, ``log_inliers`` of the best candidate and ``inlier_margin``
  (log inliers of the best minus those of the next band): a cover that is really there
  gives tens of inliers, everything else a handful;
- for verified paths, ``inlier_share`` (the best candidate's inliers over the one-to-one
  matches they were fitted among) and ``similarity_rank`` (log1p of how many bands the
  global vector placed above it). A fit to chance matches, or to letters shared with
  another band's logo in the same font, explains a small share of its matches, and the
  global vector seldom agrees with it;
- for paths verified on two views, ``view_agreement`` of the best candidate
  (`matching.geometry.placement_agreement`): whether the views' fits place the reference
  alike;
- for paths whose vector fuses two global parts (the default logo path: the learned
  descriptor and an ImageNet GeM vector), ``part_margin`` and ``part_z``: the margin
  and z-score of the same ranking read on the first part alone. Why: the fused vector
  names brand marks the learned part alone misses, but its ImageNet part makes every
  logo a little similar to every other, so the fused ranking of an absent band's logo
  stands out more than the learned one's does;
- last, for every path, ``similarity``: the best band's similarity itself. Alone it
  cannot tell an unknown logo from a known one, but beside the relative evidence it
  tells a crop that shows no logo or cover at all (a detector's box on a title, a fold,
  a piece of art) from a weak but real match: the one is far from every reference, the
  other near its own. The calibration crops are all logos or covers, so without it the
  rejector judged such crops by their ranking's shape only
  (`benchmarks/non_object_windows.py`).

Each kind of evidence was kept for what it adds to the unknown examples rejected at a
fixed share of known crops, cross-validated on the calibration crops
(`benchmarks/rejector_ablation.py`; BENCHMARKS.md, Retrieval).

A logistic regression turns these into a score that the top answer is right, and an
isotonic map turns the score into the probability an answer states (the share of right
answers among calibration examples scoring alike, with known and unknown examples weighed
to `known_share` where the examples are made up rather than sampled). An answer stands where its score
outscores all but `max_wrong_acceptance` of the calibration's wrong answers (wrong top
answers, the same rankings with their band left out, windows of no object:
`matching.calibration.calibration_examples`). Why the wrong answers alone place the
threshold: on real photos right answers score lower than on the renditions or synthetic
photos that calibrate a bundle, so a threshold read off the calibration's right answers
rejects real right answers; a wrong answer, an absent band's ranking above all, looks
alike in both (BENCHMARKS.md, Retrieval; `benchmarks/rejector_rules.py` compares the
rules). The fitted model is plain numbers, stored as JSON in the bundle.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from matching.rank import Candidate

BASE_FEATURES = ("margin", "z")
VERIFIED_FEATURES = ("log_inliers", "inlier_margin", "inlier_share", "similarity_rank")
AGREEMENT_FEATURES = ("view_agreement",)
PART_FEATURES = ("part_margin", "part_z")
SIMILARITY_FEATURES = ("similarity",)


def feature_names(verified_views: int, part_scored: bool = False) -> tuple[str, ...]:
    """The names of `rank_features`' columns for a path verified on `verified_views`
    views (0: a path that does not verify), with `part_scored` for a path whose rankings
    also carry first-part similarities."""
    verified = VERIFIED_FEATURES if verified_views else ()
    agreement = AGREEMENT_FEATURES if verified_views > 1 else ()
    parts = PART_FEATURES if part_scored else ()
    return BASE_FEATURES + verified + agreement + parts + SIMILARITY_FEATURES


def _z_score(best: float, rest: np.ndarray) -> float:
    """`best`'s z-score over `rest` (0 for fewer than two others)."""
    return (best - rest.mean()) / (rest.std() + 1e-3) if len(rest) >= 2 else 0.0


def rank_features(similarities: np.ndarray, inliers: np.ndarray | None = None,
                  matches: np.ndarray | None = None, view_agreement: float | None = None,
                  part_similarities: np.ndarray | None = None) -> np.ndarray:
    """The evidence above, from per-band best similarities and (for verified paths)
    per-band inliers and one-to-one matches, all ordered as the final ranking (best band
    first), (for paths verified on two views) the best band's view agreement, and (for
    paths that fuse two global parts) the same bands' similarities on the first part."""
    similarities = np.asarray(similarities, np.float64)
    if len(similarities) == 0:
        raise ValueError("a ranking needs at least one candidate")
    best = similarities[0]
    rest = similarities[1:]
    margin = best - rest[0] if len(rest) else best
    features = [margin, _z_score(best, rest)]
    if inliers is not None:
        if matches is None:
            raise ValueError("verified rankings need the matches behind their inliers")
        inliers = np.asarray(inliers, np.float64)
        log_inliers = np.log1p(inliers)
        features += [log_inliers[0], log_inliers[0] - (log_inliers[1:].max() if len(inliers) > 1 else 0.0),
                     inliers[0] / matches[0] if matches[0] > 0 else 0.0,
                     np.log1p(np.count_nonzero(rest > best))]
    if view_agreement is not None:
        features.append(view_agreement)
    if part_similarities is not None:
        # The ranking is not ordered by the part, so the margin is over the best other band.
        part = np.asarray(part_similarities, np.float64)
        features += [part[0] - part[1:].max() if len(part) > 1 else part[0], _z_score(part[0], part[1:])]
    features.append(best)
    return np.array(features, np.float64)


def ranking_features(ranking: Sequence[Candidate], verified_views: int) -> np.ndarray:
    """`rank_features` of a per-band ranking, best first, of a path verified on
    `verified_views` views (0: not verified); candidates that carry a `part_similarity`
    add the part's evidence."""
    similarities = [c.similarity for c in ranking]
    parts = [c.part_similarity for c in ranking] if ranking[0].part_similarity is not None else None
    if not verified_views:
        return rank_features(similarities, part_similarities=parts)
    top = ranking[0]
    return rank_features(similarities, [c.inliers or 0 for c in ranking], [c.matches or 0 for c in ranking],
                         (top.view_agreement or 0.0) if verified_views > 1 else None, parts)


class OpenSetRejector(BaseEstimator):
    """Logistic regression on `rank_features`, thresholded on the calibration's wrong answers.

    Parameters: `max_wrong_acceptance` (the share of the calibration's wrong answers that
    may score high enough to stand), `C` (inverse regularisation of the regression),
    `min_known` (fewest crops of known bands to calibrate on) and `known_share` (the share
    of queries showing an indexed band that the stated probability assumes; None: the
    calibration's own share, right for a sample of real queries such as annotated photos,
    not for made-up examples, whose share is whatever their counts make it).
    ``fit(X, known, correct)``:
    X rows of rank features, `known` whether the crop's band is indexed, `correct` whether
    the top answer was right. Fitted: ``threshold_``, ``calibration_`` (the isotonic map's
    knots), ``report_`` (what the threshold does on the calibration set).
    """

    def __init__(self, max_wrong_acceptance: float = 0.02, C: float = 1.0, min_known: int = 10,
                 known_share: float | None = None):
        self.max_wrong_acceptance = max_wrong_acceptance
        self.C = C
        self.min_known = min_known
        self.known_share = known_share

    def fit(self, X: np.ndarray, known: np.ndarray, correct: np.ndarray) -> OpenSetRejector:
        value = self.max_wrong_acceptance
        if not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise ValueError(f"max_wrong_acceptance must lie in (0, 1), got {value!r}")
        share = self.known_share
        if share is not None and (not isinstance(share, numbers.Real) or not 0 < share < 1):
            raise ValueError(f"known_share must be None or lie in (0, 1), got {share!r}")
        X = np.asarray(X, np.float64)
        known, correct = np.asarray(known, bool), np.asarray(correct, bool)
        if X.ndim != 2 or len(X) != len(known) or len(X) != len(correct):
            raise ValueError("X, known and correct must describe the same crops")
        if not isinstance(self.min_known, numbers.Integral) or self.min_known < 1:
            raise ValueError(f"min_known must be a positive integer, got {self.min_known!r}")
        if known.sum() < self.min_known:
            raise ValueError(f"calibration needs at least {self.min_known} crops of known bands, "
                             f"got {int(known.sum())}")
        if known.all() or correct.all() or not correct.any():
            raise ValueError("calibration needs crops of known and of unknown bands, and both "
                             "right and wrong top answers")
        self.scaler_ = StandardScaler().fit(X)
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced").fit(
            self.scaler_.transform(X), correct)
        scores = self.confidence(X)
        wrong = np.sort(scores[~correct])
        # The least score that outscores (or ties) a share 1 - max_wrong_acceptance of them.
        needed = int(np.ceil((1 - self.max_wrong_acceptance) * len(wrong)))
        self.threshold_ = float(wrong[max(needed, 1) - 1])
        # The balanced regression orders answers well but its scores are not frequencies of
        # right answers; an isotonic map from score to the share of right answers is.
        # With a `known_share`, known and unknown examples are weighed to that mix.
        weights = None if share is None else np.where(known, share / known.sum(),
                                                      (1 - share) / (~known).sum())
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        isotonic.fit(scores, correct, sample_weight=weights)
        self.calibration_ = (np.asarray(isotonic.X_thresholds_, np.float64),
                             np.asarray(isotonic.y_thresholds_, np.float64))
        self.report_ = self.rates(self.accept(X), known)
        return self

    def probability(self, X: np.ndarray) -> np.ndarray | None:
        """Calibrated probability that the top answer is right, per row of rank features;
        None for a rejector read from a bundle built before it kept its calibration map."""
        if getattr(self, "calibration_", None) is None:
            return None
        thresholds, values = self.calibration_
        return np.interp(self.confidence(X), thresholds, values)

    def confidence(self, X: np.ndarray) -> np.ndarray:
        """The regression's score that the top answer is right, per row of rank features
        (it orders answers; `probability` is what an answer states)."""
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(self.scaler_.transform(np.atleast_2d(X)))[:, 1]

    @property
    def n_features(self) -> int:
        """How many rank features the fitted rejector reads."""
        check_is_fitted(self, "model_")
        return int(self.scaler_.n_features_in_)

    def accept(self, X: np.ndarray) -> np.ndarray:
        """Per row of rank features, whether the top answer stands: its score reaches the
        threshold."""
        return self.confidence(X) >= self.threshold_

    @staticmethod
    def rates(accepted: np.ndarray, known: np.ndarray) -> dict:
        """Share of unknown crops rejected and of known crops (wrongly) rejected."""
        accepted, known = np.asarray(accepted, bool), np.asarray(known, bool)
        return {"unknown_rejected": float(np.mean(~accepted[~known])) if (~known).any() else None,
                "known_rejected": float(np.mean(~accepted[known])) if known.any() else None,
                "known": int(known.sum()), "unknown": int((~known).sum())}

    def to_json(self) -> dict:
        check_is_fitted(self, "model_")
        return {"max_wrong_acceptance": self.max_wrong_acceptance, "C": self.C,
                "known_share": self.known_share,
                "scaler_mean": self.scaler_.mean_.tolist(), "scaler_scale": self.scaler_.scale_.tolist(),
                "coef": self.model_.coef_.ravel().tolist(), "intercept": float(self.model_.intercept_[0]),
                "threshold": self.threshold_, "report": self.report_,
                "calibration": [values.tolist() for values in self.calibration_]}

    @classmethod
    def from_json(cls, values: dict) -> OpenSetRejector:
        # Every bundle answers by its stored threshold, whichever rule placed it (one built
        # before 2026-12-06 also had a probability floor, which no longer applies).
        rejector = cls(values.get("max_wrong_acceptance") or 0.02, values["C"],
                       known_share=values.get("known_share"))
        rejector.scaler_ = StandardScaler()
        rejector.scaler_.mean_ = np.array(values["scaler_mean"], np.float64)
        rejector.scaler_.scale_ = np.array(values["scaler_scale"], np.float64)
        rejector.scaler_.n_features_in_ = len(rejector.scaler_.mean_)
        rejector.model_ = LogisticRegression(C=rejector.C)
        rejector.model_.coef_ = np.array([values["coef"]], np.float64)
        rejector.model_.intercept_ = np.array([values["intercept"]], np.float64)
        rejector.model_.classes_ = np.array([False, True])
        rejector.model_.n_features_in_ = len(values["coef"])
        rejector.threshold_ = float(values["threshold"])
        rejector.report_ = values["report"]
        calibration = values.get("calibration")  # absent from bundles built before it
        rejector.calibration_ = None if calibration is None else tuple(np.array(v, np.float64)
                                                                       for v in calibration)
        return rejector
