"""What the index tests share: small path configurations that build in seconds."""

from matching.presets import PathConfig

# Tiny paths: small codebooks and projections, one faiss and one BallTree path, both verified
# (logos also on the ink map, so its keypoint store goes through every round trip).
TINY = {
    "logo": PathConfig(
        extractor={"sift": "rootsift", "sift_keypoints": 300, "sift_max_side": 400, "polarity": True,
                   "both_polarities": True, "ink": True},
        encoder={"parts": ["sift_vlad"], "sift_clusters": 8, "projection": "svd", "components": 16,
                 "sample_size": 4000},
        searcher="faiss", shortlist=8, verify=4, verify_keypoints=200, min_inliers=8),
    "album": PathConfig(
        extractor={"sift": "rootsift", "sift_keypoints": 300, "sift_max_side": 400},
        encoder={"parts": ["sift_vlad"], "sift_clusters": 8, "projection": None, "sample_size": 4000},
        searcher="balltree", shortlist=8, verify=4, verify_keypoints=200, min_inliers=8),
}

#: The default logo path's features (learned descriptor and grayscale GeM), without the
#: renditions and verification that make it slow to build.
LEARNED_LOGO_PATH = PathConfig(
    extractor={"learned": "shipped", "gem_sizes": [224], "polarity": True},
    encoder={"parts": ["learned", "gem"], "fusion_weight": 0.4, "projection": None}, shortlist=10)
