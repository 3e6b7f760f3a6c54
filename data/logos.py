"""Metal band logos: a shape (the ink) designed once per band, rendered in many colours.

A band's logo is the same shape wherever it appears: on the clean reference, printed
in red on a black shirt, embroidered on a patch. So the design is colourless ink
(`LogoDesign`), and colour comes only when it is rendered. That is what lets a matcher
learn the shape rather than the colour, and keeps bands from being separable by colour.

Designs vary the way real logos do: many typefaces (blackletter favoured), emphasised
first and last letters, arched and stacked layouts, outlines, spikes, drips, branches,
symmetric ornaments and sigils, waves and stretches, so aspect ratios run from square to
very wide. Some read at a glance and some cannot be read at all (LOGO_STYLES), as in the
real world, where text reading names the first kind and only the picture the second.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from data import logo_flourishes as flourishes
from data.fonts import load_font, pick_font, pick_legible_font
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


#: How a generated logo reads: `legible` (a plain face on one straight line, flourishes
#: kept off the letters: text reading can name it), `display` (any face, arched or
#: stacked, spikes and drips), `illegible` (letters overlapped with their mirror image and
#: overgrown with branches: only the picture can name it).
LOGO_STYLES = ("legible", "display", "illegible")


def design_logo(name: str, rng: np.random.Generator, style: str = "display") -> LogoDesign:
    """Design one band's logo shape from its name in a style of LOGO_STYLES;
    deterministic for a given `rng` state."""
    if style not in LOGO_STYLES:
        raise ValueError(f"style must be one of {LOGO_STYLES}, got {style!r}")
    recipe = {"legible": _legible, "display": _display, "illegible": _illegible}[style]
    return _finish(recipe(name, rng), rng)


def _display(name: str, rng: np.random.Generator) -> np.ndarray:
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
    mask = _stretched(_crop(mask, pad=int(FONT_SIZE * 0.6)), rng.uniform(0.7, 1.5))
    if rng.random() < 0.35:
        mask = flourishes.wave(mask, rng)
    symmetric = rng.random() < 0.6
    if rng.random() < 0.45:
        flourishes.spikes(mask, rng, symmetric, downward=False)
    if rng.random() < 0.25:
        flourishes.spikes(mask, rng, symmetric, downward=True)
    if rng.random() < 0.2:
        flourishes.drips(mask, rng)
    if rng.random() < 0.35:
        mask = flourishes.ornament(mask, rng)
    return mask


def _legible(name: str, rng: np.random.Generator) -> np.ndarray:
    face = pick_legible_font(rng)
    stroke = int(rng.choice([0, 1, 2, 3]))
    mask = _draw_line(_text_pieces(name, rng), face, stroke)
    mask = _stretched(_crop(mask, pad=int(FONT_SIZE * 0.6)), rng.uniform(0.85, 1.25))
    if rng.random() < 0.35:
        mask = flourishes.ornament(mask, rng)
    return mask


def _illegible(name: str, rng: np.random.Generator) -> np.ndarray:
    face = pick_font(rng, blackletter_share=0.7)
    stroke = int(rng.choice([1, 2, 3, 4]))
    text = name.upper() if rng.random() < 0.5 else name
    mask = _stretched(_crop(_draw_line([(text, 1.0)], face, stroke), pad=int(FONT_SIZE * 0.6)),
                      rng.uniform(0.6, 1.1))
    flourishes.branches(mask, rng)
    mask = flourishes.mirrored(mask)
    flourishes.spikes(mask, rng, symmetric=True, downward=False)
    if rng.random() < 0.6:
        flourishes.spikes(mask, rng, symmetric=True, downward=True)
    if rng.random() < 0.5:
        mask = flourishes.wave(mask, rng)
    if rng.random() < 0.4:
        mask = flourishes.ornament(mask, rng)
    return mask


def _stretched(mask: np.ndarray, stretch: float) -> np.ndarray:
    return resize_to(mask, int(mask.shape[1] * stretch), mask.shape[0])


def _finish(mask: np.ndarray, rng: np.random.Generator) -> LogoDesign:
    """Crop the ink, scale its long side to DESIGN_SIZE, and sometimes ring it with an
    outline."""
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
