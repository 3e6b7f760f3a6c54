"""Flourishes drawn onto a logo's ink mask: the spikes, drips, ornaments, waves, branches
and mirrored halves that make metal logos look hand-drawn, and the last two make them
hard to read.

Each takes the float ink mask (HxW, 0..1) and a random generator; those that grow the
canvas return the new mask, the others draw in place.
"""

from __future__ import annotations

import cv2
import numpy as np


def spikes(mask: np.ndarray, rng: np.random.Generator, symmetric: bool, downward: bool) -> None:
    """Thorn-like spikes rising from the tops (or hanging from the bottoms) of letters."""
    height, width = mask.shape
    columns = np.nonzero((mask > 0.5).any(axis=0))[0]
    if len(columns) == 0:
        return
    count = int(rng.integers(3, 10))
    picks = rng.choice(columns, size=min(count, len(columns)), replace=False)
    if symmetric:
        picks = np.concatenate([picks, width - 1 - picks])
    length = rng.uniform(0.15, 0.45) * height
    base = max(3.0, rng.uniform(0.01, 0.03) * width)
    lean = rng.uniform(-0.3, 0.3) * length
    for x in picks:
        column = np.nonzero(mask[:, int(x)] > 0.5)[0]
        if len(column) == 0:
            continue
        y = column[-1] - 2 if downward else column[0] + 2
        tip_y = y + length if downward else y - length
        side_lean = -lean if symmetric and x > width / 2 else lean
        triangle = np.array([[x - base, y], [x + base, y], [x + side_lean, tip_y]], np.int32)
        cv2.fillPoly(mask, [triangle], 1.0, lineType=cv2.LINE_AA)


def drips(mask: np.ndarray, rng: np.random.Generator) -> None:
    """Blood-like drips running down from the bottoms of letters."""
    height, width = mask.shape
    columns = np.nonzero((mask > 0.5).any(axis=0))[0]
    for x in rng.choice(columns, size=min(int(rng.integers(3, 9)), len(columns)), replace=False):
        column = np.nonzero(mask[:, int(x)] > 0.5)[0]
        y = int(column[-1])
        length = int(rng.uniform(0.1, 0.4) * height)
        thickness = max(2, int(rng.uniform(0.006, 0.015) * width))
        cv2.line(mask, (int(x), y), (int(x), y + length), 1.0, thickness, cv2.LINE_AA)
        cv2.circle(mask, (int(x), y + length), int(thickness * 0.9), 1.0, -1, cv2.LINE_AA)


def ornament(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A symmetric ornament: an underline blade, a cross or a star, or side daggers."""
    height, width = mask.shape
    kind = rng.integers(4)
    thickness = max(3, int(height * rng.uniform(0.03, 0.06)))
    if kind == 0:  # a blade under the name, pointed at both ends
        pad = int(height * 0.35)
        mask = np.pad(mask, ((0, pad), (0, 0)))
        y = height + pad // 3
        span = width * rng.uniform(0.3, 0.5)
        centre = width / 2
        blade = np.array([[centre - span, y], [centre, y - thickness], [centre + span, y],
                          [centre, y + thickness]], np.int32)
        cv2.fillPoly(mask, [blade], 1.0, cv2.LINE_AA)
    elif kind == 1:  # an (inverted) cross above the centre
        pad = int(height * 0.6)
        mask = np.pad(mask, ((pad, 0), (0, 0)))
        cx, top = width // 2, int(pad * 0.1)
        bar = int(pad * (0.65 if rng.random() < 0.5 else 0.3))
        cv2.line(mask, (cx, top), (cx, pad), 1.0, thickness)
        cv2.line(mask, (cx - pad // 4, top + bar), (cx + pad // 4, top + bar), 1.0, thickness)
    elif kind == 2:  # a five-pointed star drawn as one stroke, above the centre
        pad = int(height * 0.7)
        mask = np.pad(mask, ((pad, 0), (0, 0)))
        radius = pad * 0.42
        cx, cy = width / 2, pad * 0.48
        angles = np.deg2rad(np.arange(5) * 144 + rng.choice([-90, 90]))
        points = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], 1)
        cv2.polylines(mask, [points.astype(np.int32)], True, 1.0, max(2, thickness // 2),
                      cv2.LINE_AA)
    else:  # daggers stretching out from both ends at mid height
        pad = int(width * rng.uniform(0.08, 0.2))
        mask = np.pad(mask, ((0, 0), (pad, pad)))
        y = int(height * rng.uniform(0.35, 0.65))
        new_width = mask.shape[1]
        for tip, root in ((2, pad + 4), (new_width - 3, new_width - pad - 4)):
            dagger = np.array([[tip, y], [root, y - thickness], [root, y + thickness]], np.int32)
            cv2.fillPoly(mask, [dagger], 1.0, cv2.LINE_AA)
    return mask


def wave(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bend the logo along a gentle sine wave (a common flourish of wide logos)."""
    height, width = mask.shape
    amplitude = rng.uniform(0.04, 0.12) * height
    period = rng.uniform(0.6, 1.5) * width
    phase = rng.uniform(0, 2 * np.pi)
    pad = int(amplitude) + 2
    mask = np.pad(mask, ((pad, pad), (0, 0)))
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(mask.shape[0], dtype=np.float32))
    ys = ys + amplitude * np.sin(2 * np.pi * xs / period + phase)
    return cv2.remap(mask, xs, ys, cv2.INTER_LINEAR, borderValue=0)


def branches(mask: np.ndarray, rng: np.random.Generator) -> None:
    """Thorny branches growing out of the letters, up and down, forking as they go: the
    tangle of black metal logos that hides where one letter ends and the next begins."""
    height, width = mask.shape
    columns = np.nonzero((mask > 0.5).any(axis=0))[0]
    if len(columns) == 0:
        return
    step = height * rng.uniform(0.03, 0.06)
    thickness = max(2, int(height * rng.uniform(0.012, 0.025)))
    stack = []
    for x in rng.choice(columns, size=min(int(rng.integers(8, 20)), len(columns)), replace=False):
        ink = np.nonzero(mask[:, int(x)] > 0.5)[0]
        upward = rng.random() < 0.6
        start = (float(x), float(ink[0] + 2 if upward else ink[-1] - 2))
        stack.append((start, -np.pi / 2 if upward else np.pi / 2, int(rng.integers(4, 10)), thickness))
    while stack:
        (x, y), angle, steps, width_px = stack.pop()
        points = [(x, y)]
        for _ in range(steps):
            angle += rng.normal(0, 0.45)
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
            points.append((x, y))
            if width_px > 1 and rng.random() < 0.18:
                fork = angle + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1)
                stack.append(((x, y), fork, int(rng.integers(2, 5)), width_px - 1))
        cv2.polylines(mask, [np.array(points, np.int32)], False, 1.0, width_px, cv2.LINE_AA)


def mirrored(mask: np.ndarray) -> np.ndarray:
    """The mask laid over its own mirror image: a symmetric sigil in which the letters
    of both halves overlap."""
    return np.maximum(mask, mask[:, ::-1])
