"""The search key of a band name: case-, accent- and spacing-insensitive.

The key is computed in Python and stored (`bands.name_key`) rather than left to SQL
collations, because SQLite and MySQL disagree on case and accent folding; one stored key
searched by prefix behaves the same on both engines.
"""

from __future__ import annotations

import unicodedata

#: Letters that Unicode does not decompose into a base letter and a mark (so NFKD
#: leaves them alone) but that a reader types as plain Latin letters: "Tromsø", "Łódź".
_EXTRA_FOLDS = str.maketrans({
    "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ħ": "h", "Ħ": "h",
    "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th", "ı": "i",
})


def name_key(text: str | None) -> str:
    """NFKD, combining marks dropped, case folded, runs of whitespace made one space."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_FOLDS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
