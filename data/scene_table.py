"""The scene table: every scene the generator draws, what it shows, and how often.

The five classic scenes (data/scenes.py) keep their weights relative to one another, so
choosing only them draws the same scenes for a seed as before the others existed.
"""

from __future__ import annotations

import numpy as np

from data import scenes

SCENES = dict(scenes.SCENES)
#: (kind of item, min, max) per scene: how many of each it takes.
SCENE_ITEMS = dict(scenes.SCENE_ITEMS)
#: How often each scene is drawn, relative to the others chosen.
SCENE_WEIGHTS = dict(scenes.SCENE_WEIGHTS)
#: At most this many items a photo, unless the scene says otherwise.
DEFAULT_CAP = 6
SCENE_CAPS: dict[str, int] = {}


def item_cap(scene: str) -> int:
    return SCENE_CAPS.get(scene, DEFAULT_CAP)


def choose_scene(rng: np.random.Generator, chosen: tuple[str, ...] | None = None) -> str:
    """Draw a scene among `chosen` (default all) by weight; one rng draw, whatever the set."""
    names = [name for name in SCENE_WEIGHTS if chosen is None or name in chosen]
    weights = np.array([SCENE_WEIGHTS[name] for name in names], np.float64)
    return str(rng.choice(names, p=weights / weights.sum()))
