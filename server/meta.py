"""Endpoints about the service itself: liveness for load balancers, and the API document."""

from __future__ import annotations

from flask import Blueprint, jsonify

from server.openapi import OPENAPI

meta = Blueprint("meta", __name__)


@meta.get("/healthz")
def healthz():
    """Liveness: the worker answers. Cheap on purpose, so probes never load the pipeline."""
    return jsonify({"status": "ok"})


@meta.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)
