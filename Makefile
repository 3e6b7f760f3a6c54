# The two commands of the README. Each does its own set-up on a fresh machine:
# a virtual environment in .venv, the package with its dev extras at the versions of
# constraints.txt, and (best effort, only as root with apt-get) the Debian display fonts
# the logo generator prefers.
# The OCR model wheel (rapidocr-onnxruntime) goes in with --no-deps: it asks for
# opencv-python, whose cv2 would replace opencv-contrib-python-headless's; setup.py lists
# the dependencies it really uses.
#   make demo   runs the main job: `kyb demo` on the embedded defaults
#   make test   runs the whole test suite (what .ci/run calls)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.installed

.PHONY: demo test lint assets

demo: $(READY)
	$(BIN)/kyb demo

test: $(READY)
	$(BIN)/python -m pytest

lint: $(READY)
	$(BIN)/ruff check .

assets:
	@scripts/install-assets

$(READY): setup.py constraints.txt
	@scripts/install-assets
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet --constraint constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --no-deps rapidocr-onnxruntime
	@touch $@
