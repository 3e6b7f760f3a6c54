"""Metal band logos: a shape (the ink) designed once per band, rendered in many colours.

A band's logo is the same shape wherever it appears: on the clean reference, printed
in red on a black shirt, embroidered on a patch. So the design is colourless ink
(`LogoDesign`), and colour comes only when it is rendered. That is what lets a matcher
learn the shape rather than the colour, and keeps bands from being separable by colour.

Designs vary the way real logos do: many typefaces (blackletter favoured), emphasised
first and last letters, arched and stacked layouts, outlines, spikes, drips, symmetric
ornaments, waves and stretches, so aspect ratios run from square to very wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from data.fonts import load_font, pick_font
from data.imaging import contrasting_colour, fill, random_colour, resize_to

#: Long side of a design's ink mask, in pixels: the reference resolution of logos.
DESIGN_SIZE = 640
FONT_SIZE = 140


@dataclass
class LogoDesign:
    """Colourless ink of one logo: fill alpha and an optional outline ring (HxW float32).

    A real design (data/real_logos.py) also keeps its own ink colours (HxWx3) and the
    colour of the paper it was drawn on, for prints and references in its own colours.
    """

    fill: np.ndarray
    outline: np.ndarray | None
    colours: np.ndarray | None = None
    paper: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.fill.shape

    @property
    def ink(self) -> np.ndarray:
        """Everything that prints: fill and outline together."""
        return self.fill if self.outline is None else np.maximum(self.fill, self.outline)


def _text_pieces(name: str, rng: np.random.Generator) -> list[tuple[str, float]]:
    """Split the name into (text, relative size) pieces: big initial/final letters are common."""
    text = name.upper() if rng.random() < 0.55 else name
    if len(text) > 3 and rng.random() < 0.4:
        scale = rng.uniform(1.3, 1.8)
        if rng.random() < 0.5:
            return [(text[0], scale), (text[1:-1], 1.0), (text[-1], scale)]
        return [(text[0], scale), (text[1:], 1.0)]
    return [(text, 1.0)]


def _draw_line(pieces: list[tuple[str, float]], face, stroke: int) -> np.ndarray:
    """Draw pieces on one shared baseline; returns the ink as float32 (cropped later)."""
    fonts = [load_font(face, int(FONT_SIZE * scale)) for _, scale in pieces]
    widths = [font.getlength(text) for (text, _), font in zip(pieces, fonts, strict=True)]
    width = int(sum(widths) + FONT_SIZE * 2)
    height = int(FONT_SIZE * 4)
    image = Image.new("L", (width, height))
    draw = ImageDraw.Draw(image)
    x, baseline = FONT_SIZE, int(FONT_SIZE * 2.6)
    for (text, _), font, advance in zip(pieces, fonts, widths, strict=True):
        draw.text((x, baseline), text, font=font, fill=255, anchor="ls",
                  stroke_width=stroke, stroke_fill=255)
        x += advance
    return np.asarray(image, np.float32) / 255.0


def _draw_arched(text: str, face, stroke: int, rng: np.random.Generator) -> np.ndarray:
    """Letters placed along an upward arc, each turned to follow it."""
    font = load_font(face, FONT_SIZE)
    advances = [max(font.getlength(ch), FONT_SIZE * 0.25) for ch in text]
    total = sum(advances)
    sweep = np.deg2rad(rng.uniform(40, 110))
    radius = total / sweep
    size = int(2 * radius + FONT_SIZE * 4)
    canvas = np.zeros((size, size), np.float32)
    centre = np.array([size / 2, size / 2 + radius * 0.5])
    angle = -sweep / 2
    for ch, advance in zip(text, advances, strict=True):
        glyph = Image.new("L", (FONT_SIZE * 2, FONT_SIZE * 2))
        ImageDraw.Draw(glyph).text((FONT_SIZE, FONT_SIZE), ch, font=font, fill=255, anchor="mm",
                                   stroke_width=stroke, stroke_fill=255)
        mid = angle + advance / (2 * radius)
        rotated = np.asarray(glyph.rotate(-np.rad2deg(mid), resample=Image.BILINEAR), np.float32) / 255
        cx = centre[0] + radius * np.sin(mid)
        cy = centre[1] - radius * np.cos(mid)
        x0, y0 = int(cx - FONT_SIZE), int(cy - FONT_SIZE)
        x0, y0 = max(0, x0), max(0, y0)
        region = canvas[y0:y0 + rotated.shape[0], x0:x0 + rotated.shape[1]]
        np.maximum(region, rotated[:region.shape[0], :region.shape[1]], out=region)
        angle += advance / radius
    return canvas


def _crop(mask: np.ndarray, pad: int) -> np.ndarray:
    ys, xs = np.nonzero(mask > 0.3)
    if len(xs) == 0:
        raise ValueError("the logo design has no ink")
    y1, y2 = max(0, ys.min() - pad), ys.max() + pad + 1
    x1, x2 = max(0, xs.min() - pad), xs.max() + pad + 1
    cropped = mask[y1:y2, x1:x2]
    return np.pad(cropped, ((max(0, pad - ys.min()), 0), (max(0, pad - xs.min()), 0)))


def _spikes(mask: np.ndarray, rng: np.random.Generator, symmetric: bool, downward: bool) -> None:
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


def _drips(mask: np.ndarray, rng: np.random.Generator) -> None:
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


def _ornament(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def _wave(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def design_logo(name: str, rng: np.random.Generator) -> LogoDesign:
    """Design one band's logo shape from its name; deterministic for a given `rng` state."""
    face = pick_font(rng)
    stroke = int(rng.choice([0, 0, 1, 2, 3]))
    layout = rng.random()
    words = name.split()
    if layout < 0.2 and len(name) >= 4:
        mask = _draw_arched(name.upper(), face, stroke, rng)
    elif layout < 0.35 and len(words) >= 2:
        split = len(words) // 2
        lines = [_crop(_draw_line([(" ".join(part), 1.0)], face, stroke), 4)
                 for part in (words[:split], words[split:])]
        width = max(line.shape[1] for line in lines)
        gap = int(FONT_SIZE * rng.uniform(0.05, 0.25))
        mask = np.vstack([np.pad(line, ((0, gap), ((width - line.shape[1]) // 2,
                                                   width - line.shape[1] - (width - line.shape[1]) // 2)))
                          for line in lines])
    else:
        mask = _draw_line(_text_pieces(name, rng), face, stroke)
    mask = _crop(mask, pad=int(FONT_SIZE * 0.6))

    stretch = rng.uniform(0.7, 1.5)
    mask = resize_to(mask, int(mask.shape[1] * stretch), mask.shape[0])
    if rng.random() < 0.35:
        mask = _wave(mask, rng)
    symmetric = rng.random() < 0.6
    if rng.random() < 0.45:
        _spikes(mask, rng, symmetric, downward=False)
    if rng.random() < 0.25:
        _spikes(mask, rng, symmetric, downward=True)
    if rng.random() < 0.2:
        _drips(mask, rng)
    if rng.random() < 0.35:
        mask = _ornament(mask, rng)
    mask = _crop(np.clip(mask, 0, 1), pad=8)

    scale = DESIGN_SIZE / max(mask.shape)
    mask = np.clip(resize_to(mask, int(mask.shape[1] * scale), int(mask.shape[0] * scale)), 0, 1)
    outline = None
    if rng.random() < 0.3:
        width = int(rng.integers(3, 9)) * 2 + 1
        grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width)))
        outline = np.clip(grown - mask, 0, 1)
        pad = width
        mask, outline = (np.pad(m, pad) for m in (mask, outline))
    return LogoDesign(fill=mask.astype(np.float32), outline=outline)


def render_ink(design: LogoDesign, fill_colour: np.ndarray,
               outline_colour: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Colour a design: (RGB, alpha) of its ink, ready to print or paste on anything."""
    rgb = fill(design.shape, fill_colour)
    if design.outline is not None:
        colour = outline_colour if outline_colour is not None else fill_colour
        rgb = rgb * (1 - design.outline[..., None]) + colour * design.outline[..., None]
    return rgb, design.ink


def reference_colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fill, outline, background) of a reference image: mostly black on white, as archives hold."""
    roll = rng.random()
    black, white = np.zeros(3, np.float32), np.ones(3, np.float32)
    if roll < 0.55:
        return black, black, white
    if roll < 0.75:
        return white, white, black
    background = random_colour(rng, value=(0.0, 1.0)) if rng.random() < 0.6 else black
    return contrasting_colour(rng, background), random_colour(rng), background


#: Share of the references of real designs kept in the design's own colours and paper.
OWN_COLOUR_REFERENCES = 0.25


def render_reference(design: LogoDesign, rng: np.random.Generator) -> np.ndarray:
    """The clean reference image of a logo (float32 RGB): ink on a plain background.

    A real design keeps its own colours in OWN_COLOUR_REFERENCES of its references; the
    rest, like generated designs, are recoloured (mostly black on white).
    """
    if design.colours is not None and rng.random() < OWN_COLOUR_REFERENCES:
        ink_rgb, alpha, background = design.colours, design.ink, design.paper
    else:
        fill_colour, outline_colour, background = reference_colours(rng)
        ink_rgb, alpha = render_ink(design, fill_colour, outline_colour)
    pad = int(max(design.shape) * rng.uniform(0.03, 0.12))
    canvas = fill((design.shape[0] + 2 * pad, design.shape[1] + 2 * pad), background)
    region = canvas[pad:pad + design.shape[0], pad:pad + design.shape[1]]
    region[:] = region * (1 - alpha[..., None]) + ink_rgb * alpha[..., None]
    return canvas
