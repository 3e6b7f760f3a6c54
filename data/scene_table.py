"""The scene table: every scene the generator draws, what it shows, and how often.

The five classic scenes (data/scenes.py) keep their weights relative to one another, so
choosing only them draws the same scenes for a seed as before the others existed.
"""

from __future__ import annotations

import numpy as np

from data import scenes
from data.flyer import flyer
from data.merch import merch
from data.tee import tee
from data.vest import vest
from data.wild import wild

SCENES = {**scenes.SCENES, "vest": vest, "tee": tee, "flyer": flyer, "merch": merch, "wild": wild}
#: (kind of item, min, max) per scene: how many of each it takes.
SCENE_ITEMS = {
    **scenes.SCENE_ITEMS,
    "vest": (("logo", 12, 30), ("album", 0, 8)),
    "tee": (("logo", 1, 1), ("album", 0, 1)),
    "flyer": (("logo", 2, 6),),
    "merch": (("logo", 3, 7), ("album", 1, 5)),
    "wild": (("logo", 1, 3), ("album", 0, 1)),
}
#: How often each scene is drawn, relative to the others chosen: the classic five sum to 1.
SCENE_WEIGHTS = {**scenes.SCENE_WEIGHTS, "vest": 0.15, "tee": 0.1, "flyer": 0.1, "merch": 0.08, "wild": 0.2}
#: At most this many items a photo, unless the scene says otherwise.
DEFAULT_CAP = 6
SCENE_CAPS: dict[str, int] = {"vest": 40, "merch": 12}


def item_cap(scene: str) -> int:
    return SCENE_CAPS.get(scene, DEFAULT_CAP)


def choose_scene(rng: np.random.Generator, chosen: tuple[str, ...] | None = None) -> str:
    """Draw a scene among `chosen` (default all) by weight; one rng draw, whatever the set."""
    names = [name for name in SCENE_WEIGHTS if chosen is None or name in chosen]
    weights = np.array([SCENE_WEIGHTS[name] for name in names], np.float64)
    return str(rng.choice(names, p=weights / weights.sum()))
