"""Training the detector: the compiled step, the loop, validation, checkpoints, search.

One photo per step (Faster R-CNN's usual minibatch; photos differ in size), Adam with a
linear warm-up and a cosine decay. Every `val_every` steps the model is scored on the
validation split (VOC all-point mAP@0.5, plus the validation loss for the curves), and
the best model so far is written to ``OUT/best.npz``. ``OUT/checkpoint.npz`` (weights,
optimizer state, step, history) is rewritten every few minutes, so an interrupted run
resumes where it stopped; photo order and augmentation are derived from (seed, step), so
a resumed run sees the same photos as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data.image_io import read_image
from detector import evaluate, losses, targets
from detector.config import DetectorConfig
from detector.data import Sample, has_split, load_samples, training_example
from detector.inference import Detector
from detector.io import load_extra_arrays, load_model, save_model
from detector.model import SIZE_DIVISOR, FasterRCNN

CHECKPOINT = "checkpoint.npz"
BEST = "best.npz"
HISTORY = "history.json"
CURVES = "loss_curves.png"
LOSS_NAMES = ("rpn_class", "rpn_box", "head_class", "head_box")
PREFETCH = 4


@dataclass
class TrainSettings:
    datasets: list[Path]
    out: Path
    steps: int = 20000
    learning_rate: float = 1e-4
    warmup: int = 200
    val_every: int = 1000
    #: Validation photos scored each time (the first ones of the split), to bound its cost.
    val_images: int = 150
    checkpoint_minutes: float = 5.0
    seed: int = 0
    #: Share of the training photos held out when a dataset has no ``splits/val.txt``.
    val_fraction: float = 0.1
    class_map: dict[str, str] = field(default_factory=dict)
    augment: bool = True
    search_trials: int = 0
    search_steps: int = 300
    #: A model file whose weights (and configuration) a fresh run starts from: a
    #: fine-tune of the shipped detector on new data instead of a start from ImageNet.
    init: Path | None = None


def load_training_data(settings: TrainSettings, classes) -> tuple[list[Sample], list[Sample]]:
    """Train and validation samples of all datasets. A folder without splits is split
    here, deterministically by seed; training photos without objects are skipped (every
    anchor would be background, which the sampled losses do not need)."""
    train, val = [], []
    for root in settings.datasets:
        samples = load_samples(root, "train", classes, settings.class_map)
        if has_split(root, "val"):
            val += load_samples(root, "val", classes, settings.class_map)
        else:
            order = np.random.default_rng(settings.seed).permutation(len(samples))
            held = set(order[: max(1, int(len(samples) * settings.val_fraction))].tolist())
            val += [s for i, s in enumerate(samples) if i in held]
            samples = [s for i, s in enumerate(samples) if i not in held]
        train += [s for s in samples if (~s.difficult).any()]
    if not train:
        raise ValueError("no training photos with objects in " + ", ".join(map(str, settings.datasets)))
    return train, val


class Trainer:
    """The optimizer and the compiled training and loss steps of one model."""

    def __init__(self, model: FasterRCNN, settings: TrainSettings):
        self.model = model
        self.settings = settings
        self.optimizer = keras.optimizers.Adam(learning_rate=settings.learning_rate, global_clipnorm=10.0)
        self.optimizer.build(model.trainable_variables)
        signature = [tf.TensorSpec([None, None, 3], tf.float32), tf.TensorSpec([2], tf.int32),
                     tf.TensorSpec([None, 4], tf.float32), tf.TensorSpec([None], tf.int32)]
        self.train_step = tf.function(self._train_step, input_signature=signature)
        self.loss_step = tf.function(self._losses, input_signature=signature)

    def _losses(self, image, valid_size, gt_boxes, gt_classes):
        model, config = self.model, self.model.config
        features, objectness, deltas = model.rpn_model(image[None], training=True)
        objectness = tf.reshape(objectness, [-1])
        deltas = tf.reshape(deltas, (-1, 4))
        anchors = model.anchors(features)
        positive, negative, anchor_targets = targets.rpn_targets(anchors, gt_boxes, config)
        rpn_class, rpn_box = losses.rpn_losses(objectness, deltas, positive, negative, anchor_targets)
        proposals, _ = model.proposals(tf.stop_gradient(objectness), tf.stop_gradient(deltas), anchors,
                                       valid_size, config.rpn_pre_nms_train, config.rpn_post_nms_train)
        rois, classes, roi_targets = targets.roi_targets(proposals, gt_boxes, gt_classes, config)
        scores, box_deltas = model.head_model(model.roi_align(features, rois), training=True)
        head_class, head_box = losses.head_losses(scores, box_deltas, classes, roi_targets)
        return {"rpn_class": rpn_class, "rpn_box": rpn_box, "head_class": head_class, "head_box": head_box}

    def _train_step(self, image, valid_size, gt_boxes, gt_classes):
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            parts = self._losses(image, valid_size, gt_boxes, gt_classes)
            total = tf.add_n(list(parts.values()))
        self.optimizer.apply_gradients(zip(tape.gradient(total, variables), variables, strict=True))
        return parts

    def learning_rate(self, step: int) -> float:
        """Linear warm-up, then cosine decay to 5 % of the peak at the last step."""
        peak, warmup, steps = self.settings.learning_rate, self.settings.warmup, self.settings.steps
        if step < warmup:
            return peak * (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return {f"optimizer/{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(self.optimizer.variables)}

    def restore_optimizer(self, arrays: dict[str, np.ndarray]) -> None:
        for i, variable in enumerate(self.optimizer.variables):
            variable.assign(arrays[f"optimizer/{i:04d}"])


def _example(sample, config, seed, step, augment):
    rng = np.random.default_rng([seed, step]) if augment else None
    return training_example(sample, config.short_side, config.max_side, SIZE_DIVISOR, rng)


def photo_index(count: int, seed: int, step: int) -> int:
    """Index of the photo of `step`: a fresh permutation of the photos each epoch."""
    epoch, position = divmod(step, count)
    return int(np.random.default_rng([seed, 1_000_003, epoch]).permutation(count)[position])


def validate(trainer: Trainer, val: list[Sample]) -> dict:
    """Validation loss (same sampled losses as training, no augmentation) and mAP."""
    model, config = trainer.model, trainer.model.config
    totals = []
    for sample in val:
        if (~sample.difficult).any():
            image, valid, boxes, classes = _example(sample, config, 0, 0, augment=False)
            parts = trainer.loss_step(image, valid, boxes, classes)
            totals.append(float(sum(float(v) for v in parts.values())))
    predictions, _ = evaluate.run_detector(Detector(model), val, read_image)
    results = evaluate.evaluate_detections(predictions, val, config.classes)
    return {"val_loss": float(np.mean(totals)) if totals else float("nan"),
            "map": results["map"]["all"], "map_voc07": results["map"]["voc07"],
            "ap": {name: r.ap["all"] for name, r in results["classes"].items()}}


def plot_curves(history: dict, path: Path) -> None:
    """Training loss (mean per logging interval) and validation loss against step, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    if history["train"]:
        steps = [row["step"] for row in history["train"]]
        left.plot(steps, [row["total"] for row in history["train"]], label="train")
    if history["val"]:
        steps = [row["step"] for row in history["val"]]
        left.plot(steps, [row["val_loss"] for row in history["val"]], "o-", label="validation")
        right.plot(steps, [row["map"] for row in history["val"]], "o-", color="C2")
    left.set(xlabel="step", ylabel="loss (sum of the four)", title="loss")
    left.legend()
    right.set(xlabel="step", ylabel="mAP@0.5 (all-point)", title="validation mAP", ylim=(0, 1))
    for axes in (left, right):
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def train(settings: TrainSettings, config: DetectorConfig, *, resume: bool = True,
          progress: Callable | None = None, log: Callable[[str], None] = print) -> dict:
    """Train (or resume) into `settings.out`; returns the history.

    `progress(step, losses)` is called after every step (the CLI's progress bar).
    """
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    train_samples, val_samples = load_training_data(settings, config.classes)
    val_samples = val_samples[: settings.val_images]
    log(f"{len(train_samples)} training photos, {len(val_samples)} validation photos")
    checkpoint = out / CHECKPOINT
    history = {"train": [], "val": [], "best_map": -1.0, "step": 0, "seconds": 0.0}
    if resume and checkpoint.exists():
        model, metadata = load_model(checkpoint)
        trainer = Trainer(model, settings)
        trainer.restore_optimizer(load_extra_arrays(checkpoint))
        history = metadata["history"]
        log(f"resumed from {checkpoint} at step {history['step']}")
    elif settings.init is not None:
        model, _ = load_model(settings.init)
        trainer = Trainer(model, settings)
        log(f"starting from the weights of {settings.init}")
    else:
        model = FasterRCNN(config)
        trainer = Trainer(model, settings)
    metadata = {"settings": {k: str(v) if isinstance(v, Path) else v
                             for k, v in dataclasses.asdict(settings).items()}}
    metadata["settings"]["datasets"] = [str(p) for p in settings.datasets]

    def save_checkpoint():
        save_model(checkpoint, model, dtype=np.float32, metadata={**metadata, "history": history},
                   extra_arrays=trainer.optimizer_state())
        (out / HISTORY).write_text(json.dumps(history, indent=1))
        plot_curves(history, out / CURVES)

    def run_validation(step):
        figures = validate(trainer, val_samples)
        history["val"].append({"step": step, **figures})
        log(f"step {step}: val loss {figures['val_loss']:.4f}, mAP@0.5 {figures['map']:.4f} "
            f"(VOC07 {figures['map_voc07']:.4f}) {figures['ap']}")
        if figures["map"] > history["best_map"]:
            history["best_map"] = figures["map"]
            save_model(out / BEST, model, dtype=np.float32,
                       metadata={**metadata, "step": step, "validation": figures})

    start_step = history["step"]
    started = time.monotonic() - history["seconds"]
    last_save = time.monotonic()
    interval = {name: [] for name in LOSS_NAMES}
    with ThreadPoolExecutor(max_workers=2) as pool:
        def submit(step):
            sample = train_samples[photo_index(len(train_samples), settings.seed, step)]
            return pool.submit(_example, sample, config, settings.seed, step, settings.augment)

        queue = {step: submit(step) for step in range(start_step, min(start_step + PREFETCH, settings.steps))}
        for step in range(start_step, settings.steps):
            image, valid, boxes, classes = queue.pop(step).result()
            if step + PREFETCH < settings.steps:
                queue[step + PREFETCH] = submit(step + PREFETCH)
            trainer.optimizer.learning_rate = trainer.learning_rate(step)
            parts = {k: float(v) for k, v in trainer.train_step(image, valid, boxes, classes).items()}
            if not all(math.isfinite(v) for v in parts.values()):
                raise FloatingPointError(f"non-finite loss at step {step}: {parts}; lower the learning rate")
            for name, value in parts.items():
                interval[name].append(value)
            if progress is not None:
                progress(step + 1, parts)
            done = step + 1
            if done % 50 == 0 or done == settings.steps:
                means = {name: float(np.mean(values)) for name, values in interval.items()}
                history["train"].append({"step": done, "total": sum(means.values()), **means,
                                         "lr": trainer.learning_rate(step)})
                interval = {name: [] for name in LOSS_NAMES}
            history["step"] = done
            history["seconds"] = time.monotonic() - started
            if done % settings.val_every == 0 or done == settings.steps:
                run_validation(done)
                save_checkpoint()
                last_save = time.monotonic()
            elif time.monotonic() - last_save > settings.checkpoint_minutes * 60:
                save_checkpoint()
                last_save = time.monotonic()
    return history


def random_search(settings: TrainSettings, config: DetectorConfig, log: Callable[[str], None] = print
                  ) -> tuple[float, DetectorConfig, list[dict]]:
    """Short runs over learning rate (log-uniform 3e-5 .. 3e-4) and anchor scale (x0.75 .. x1.5);
    returns the best learning rate and config by validation mAP, and every trial."""
    rng = np.random.default_rng(settings.seed)
    trials = []
    for trial in range(settings.search_trials):
        learning_rate = float(10 ** rng.uniform(math.log10(3e-5), math.log10(3e-4)))
        factor = float(rng.choice([0.75, 1.0, 1.25, 1.5]))
        scales = tuple(s * factor for s in config.anchor_scales)
        trial_config = dataclasses.replace(config, anchor_scales=scales)
        trial_settings = dataclasses.replace(settings, out=Path(settings.out) / "search" / f"trial{trial}",
                                             learning_rate=learning_rate, steps=settings.search_steps,
                                             val_every=settings.search_steps, search_trials=0)
        history = train(trial_settings, trial_config, resume=False, log=log)
        trials.append({"trial": trial, "learning_rate": learning_rate, "anchor_scale_factor": factor,
                       "map": history["best_map"]})
        log(f"search trial {trial}: lr {learning_rate:.2e}, anchor scales x{factor}: "
            f"mAP {history['best_map']:.4f}")
    best = max(trials, key=lambda t: t["map"])
    best_config = dataclasses.replace(
        config, anchor_scales=tuple(s * best["anchor_scale_factor"] for s in config.anchor_scales))
    return best["learning_rate"], best_config, trials
