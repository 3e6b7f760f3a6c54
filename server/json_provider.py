"""JSON encoding for the API: NumPy values, RFC 3339 datetimes, and no NaN.

The pipeline computes with NumPy, so a score or a box may arrive as `np.float32` or an
array; they are written as plain numbers and lists instead of failing the response.
Datetimes (the store keeps naive UTC) become RFC 3339 with an explicit offset, which is
what the OpenAPI `date-time` format means, not Flask's default HTTP date. NaN and
infinity are refused, since they would make the body invalid JSON for every client: the
request then fails as a logged 500, which is what a pipeline bug should look like.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from flask.json.provider import DefaultJSONProvider


def _default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return DefaultJSONProvider.default(value)


class ApiJSONProvider(DefaultJSONProvider):
    default = staticmethod(_default)

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)
