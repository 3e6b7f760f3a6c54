"""Training the logo descriptor: synthetic renditions, a proxy-based metric loss, and a
held-out check each epoch.

Why this recipe:
- Data: logos designed by the generator (data/logos.py) from a seed of their own, so no
  training logo is a logo of an evaluation dataset; per logo, its clean reference, a
  lightly augmented copy (data/augment.py) and `renditions` printed-and-photographed
  crops (data/renditions.py). With `real_designs`, train-real's real band logos join
  them (data/real_logos.py): the train split as more classes, the validation split (held
  out by band) scored each epoch but never used to pick one. ../shared/real is never
  used here.
- Loss: contrastive against references (N-pair / InfoNCE): each rendition in a batch
  must pick its own logo's reference among the batch's references, which is exactly the
  query-time task. A proxy loss (one learned vector per logo) was tried first and did
  not learn with 1,800 logos: each proxy is pulled by its own views only a few times
  an epoch and pushed by everyone else's, so the proxies drift away from the data.
- Cost: the frozen trunk is run once per view and cached (float16); only the top is
  trained, over that cache, so an epoch costs the top alone. A GPU, when TensorFlow sees
  one, is used by Keras without any change here.
- Selection: after each epoch, top-1 of held-out logos' renditions against their
  references; the best epoch's weights are kept.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from data.progress import progress_bar
from features.logo_descriptor import DescriptorConfig, LogoDescriptor, prepare


@dataclass(frozen=True)
class TrainingConfig:
    """`designs` logos (of which `val_designs` held out), `renditions` rendered views of
    each and `partial_views` of part of it or of it beside another mark (alternately,
    `data.renditions.render_part` and `render_beside`); `epochs` passes over the training
    logos, `logos_per_batch` logos per step with `views_per_logo` views each (its
    reference and others), at `learning_rate` (Adam, cosine decay); `temperature` of the
    contrastive softmax. `real_designs`: at most this many real designs of train-real's
    train split trained on beside the generated ones (0: none); when above 0, the
    validation split's designs are rendered too and scored after each epoch."""

    designs: int = 2000
    val_designs: int = 200
    renditions: int = 8
    partial_views: int = 0
    epochs: int = 20
    logos_per_batch: int = 64
    views_per_logo: int = 4
    learning_rate: float = 3e-4
    temperature: float = 0.05
    seed: int = 0
    workers: int = 2
    real_designs: int = 0

    def __post_init__(self):
        for name, minimum in (("designs", 2), ("val_designs", 1), ("renditions", 1), ("partial_views", 0),
                              ("epochs", 1), ("logos_per_batch", 2), ("views_per_logo", 2), ("workers", 1),
                              ("real_designs", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if self.val_designs >= self.designs:
            raise ValueError(f"val_designs ({self.val_designs}) must be fewer than designs ({self.designs})")
        if self.logos_per_batch > self.designs - self.val_designs:
            raise ValueError(f"logos_per_batch ({self.logos_per_batch}) exceeds the "
                             f"{self.designs - self.val_designs} training logos")
        if self.views_per_logo > self.views:
            raise ValueError(f"views_per_logo ({self.views_per_logo}) exceeds the {self.views} "
                             "views of a logo")
        for name in ("learning_rate", "temperature"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)!r}")

    @property
    def views(self) -> int:
        """Views rendered of each logo: its reference, an augmented copy, the others."""
        return 2 + self.renditions + self.partial_views


#: Offset of the training logos' seeds, far from any `kyb synth --seed` a user picks.
SEED_OFFSET = 7_000_003


def real_design_sets(config: TrainingConfig) -> tuple[list, list]:
    """The real designs (`data.real_logos.RealLogo`) a run trains on, the first
    `real_designs` of the train split, and those it scores, the whole validation split;
    both empty when `real_designs` is 0 or train-real is absent (which is said once)."""
    if config.real_designs == 0:
        return [], []
    from data.real_logos import real_logo_designs

    return real_logo_designs("train")[:config.real_designs], real_logo_designs("validation")


def render_views(seed: int, index: int, renditions: int, partial_views: int = 0, real=None) -> np.ndarray:
    """The prepared views of training logo `index`: (2 + renditions + partial_views,
    *INPUT_SHAPE) uint8, its reference first, then an augmented copy, the renditions, and
    the partial views (part of it, then it beside another logo, alternately). The logo is
    a generated design, or the real design `real` (a `data.real_logos.RealLogo`)."""
    from data.augment import augment_reference
    from data.imaging import to_uint8
    from data.logos import design_logo, render_reference
    from data.names import band_name
    from data.real_logos import load_real_design
    from data.renditions import generated_mark, render_beside, render_part, render_prints

    rng = np.random.default_rng([SEED_OFFSET + seed, index])
    design = load_real_design(real) if real is not None else design_logo(band_name(rng), rng)
    reference = render_reference(design, rng)
    views = [reference, augment_reference(reference, rng)]
    reference = to_uint8(reference)
    views = [to_uint8(view) for view in views] + render_prints(reference, rng, renditions)
    for number in range(partial_views):
        if number % 2 == 0:
            views.append(render_part(reference, rng))
        else:
            views.append(render_beside(reference, generated_mark(rng), rng))
    return np.stack([prepare(view) for view in views])


def _render_task(task: tuple) -> np.ndarray:
    return render_views(*task)


def render_training_set(config: TrainingConfig, progress: bool = True) -> np.ndarray:
    """(logos, views, *INPUT_SHAPE) uint8 views (`TrainingConfig.views` per logo), rendered
    on `workers` processes: the `designs` generated logos, then the real train designs,
    then the real validation designs (`real_design_sets`)."""
    real_train, real_validation = real_design_sets(config)
    reals = [None] * config.designs + real_train + real_validation
    tasks = [(config.seed, index, config.renditions, config.partial_views, real)
             for index, real in enumerate(reals)]
    bar = {"total": len(tasks), "desc": "rendering logos", "unit": "logo", "enabled": progress, "leave": True}
    if config.workers == 1:
        return np.stack([_render_task(task) for task in progress_bar(tasks, **bar)])
    # spawn, not fork: a forked child deadlocks on the parent's OpenCV thread pool.
    with multiprocessing.get_context("spawn").Pool(config.workers) as pool:
        return np.stack(list(progress_bar(pool.imap(_render_task, tasks, chunksize=8), **bar)))


class ViewBatches(keras.utils.PyDataset):
    """Batches of `logos_per_batch` logos, each as its reference view followed by
    `views_per_logo - 1` of its other views drawn at random; a new order every epoch."""

    def __init__(self, features: np.ndarray, logos_per_batch: int, views_per_logo: int, seed: int):
        super().__init__()
        self.features, self.logos_per_batch, self.views_per_logo = features, logos_per_batch, views_per_logo
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self):
        return len(self.features) // self.logos_per_batch

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.features))

    def __getitem__(self, index):
        logos = self.order[index * self.logos_per_batch:(index + 1) * self.logos_per_batch]
        others = np.stack([self.rng.choice(np.arange(1, self.features.shape[1]), self.views_per_logo - 1,
                                           replace=False) for _ in logos])
        views = np.concatenate([np.zeros((len(logos), 1), np.int64), others], axis=1)
        batch = self.features[logos[:, None], views].astype(np.float32)
        return batch.reshape(-1, *batch.shape[2:]), np.repeat(logos, self.views_per_logo)


def reference_contrastive_loss(views_per_logo: int, temperature: float):
    """Each non-reference view of a batch must pick its own logo's reference among the
    batch's references: cross-entropy over ``cos / temperature`` (an N-pair/InfoNCE loss
    whose gallery is the references, as at query time)."""

    def loss(labels, embeddings):
        grouped = keras.ops.reshape(embeddings, (-1, views_per_logo, keras.ops.shape(embeddings)[-1]))
        references, queries = grouped[:, 0], grouped[:, 1:]
        logits = keras.ops.einsum("pkd,qd->pkq", queries, references) / temperature
        targets = keras.ops.broadcast_to(keras.ops.arange(keras.ops.shape(grouped)[0])[:, None],
                                         keras.ops.shape(logits)[:2])
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))

    return loss


def top1_against_references(descriptor: LogoDescriptor, features: np.ndarray) -> float:
    """Share of rendition views (index >= 2) whose nearest reference view (index 0) among
    all logos of `features` (logos, views, *trunk shape) is their own."""
    logos, views = features.shape[:2]
    flat = features.reshape(logos * views, *features.shape[2:]).astype(np.float32)
    embeddings = np.asarray(descriptor.top.predict(flat, batch_size=256, verbose=0)).reshape(logos, views, -1)
    similarities = np.einsum("qvd,gd->qvg", embeddings[:, 2:], embeddings[:, 0])
    return float(np.mean(similarities.argmax(axis=2) == np.arange(logos)[:, None]))


class _KeepBest(keras.callbacks.Callback):
    """Score the held-out logos after each epoch; remember the best epoch's top weights.
    The real validation designs, when there are any, are scored too but pick nothing, so
    their figure is not selected on."""

    def __init__(self, descriptor: LogoDescriptor, held_out: np.ndarray, real_validation: np.ndarray, log):
        super().__init__()
        self.descriptor, self.held_out, self.log = descriptor, held_out, log
        self.real_validation = real_validation
        self.best, self.best_weights, self.history, self.best_epoch = -1.0, None, [], None

    def on_epoch_end(self, epoch, logs=None):
        score = top1_against_references(self.descriptor, self.held_out)
        entry = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", np.nan)), "val_top1": score}
        line = f"epoch {epoch + 1}: loss {entry['loss']:.3f}, held-out top-1 {score:.3f}"
        if len(self.real_validation):
            entry["real_val_top1"] = top1_against_references(self.descriptor, self.real_validation)
            line += f", real validation designs top-1 {entry['real_val_top1']:.3f}"
        self.history.append(entry)
        self.log(line)
        if score > self.best:
            self.best, self.best_weights, self.best_epoch = score, self.descriptor.top.get_weights(), entry


def rendering_fingerprint() -> str:
    """A short SHA-256 of the code that makes the training views: the `data` package (logo
    design, renditions, augmentation) and the descriptor's input preparation. Why: a
    cache of trunk features rendered by an earlier version of that code looks valid but
    trains on views the current generator no longer makes."""
    import data
    import features.logo_descriptor

    digest = hashlib.sha256()
    for source in [*sorted(Path(data.__file__).parent.glob("*.py")), Path(features.logo_descriptor.__file__)]:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def trunk_cache_name(config: TrainingConfig, descriptor_config: DescriptorConfig) -> str:
    """The cache file of a rendered set: what decides its views and their trunk features."""
    real_train, real_validation = real_design_sets(config)
    key = {"seed": config.seed, "designs": config.designs, "renditions": config.renditions,
           **({"partial": config.partial_views} if config.partial_views else {}),
           **({"real": f"{len(real_train)}+{len(real_validation)}"} if real_train or real_validation else {}),
           "trainable_from": descriptor_config.trainable_from, "code": rendering_fingerprint()}
    return "trunk-" + "-".join(f"{k}{v}" for k, v in key.items()) + ".npy"


def trunk_feature_set(descriptor: LogoDescriptor, config: TrainingConfig, cache: Path | None = None,
                      progress: bool = True) -> np.ndarray:
    """(logos, views, *trunk shape) float16 trunk outputs of the rendered training set.

    With `cache`, they are read from there when an earlier run with the same rendering
    and trunk wrote them, and written there otherwise, so a second training run (another
    learning rate, more epochs, or one restarted after being killed) skips rendering.
    """
    name = trunk_cache_name(config, descriptor.config)
    if cache is not None and (Path(cache) / name).is_file():
        return np.load(Path(cache) / name)
    views = render_training_set(config, progress)
    logos, per_logo = views.shape[:2]
    flat_views = views.reshape(logos * per_logo, *views.shape[2:])
    chunks = range(0, len(flat_views), 256)
    features = np.concatenate([descriptor.trunk_features(flat_views[start:start + 256])
                               for start in progress_bar(chunks, progress, desc="trunk features",
                                                         unit="batch", leave=True)])
    features = features.reshape(logos, per_logo, *features.shape[1:])
    if cache is not None:
        Path(cache).mkdir(parents=True, exist_ok=True)
        partial = Path(cache) / (name + ".partial")
        with open(partial, "wb") as handle:
            np.save(handle, features)
        partial.replace(Path(cache) / name)
    return features


def train_descriptor(config: TrainingConfig, descriptor_config: DescriptorConfig | None = None,
                     cache: Path | None = None, progress: bool = True, log=print,
                     init: Path | None = None) -> tuple[LogoDescriptor, dict]:
    """Render, cache the trunk, fit the top; returns the descriptor at its best held-out
    epoch and a report (configuration, per-epoch loss and held-out top-1, the starting
    network's held-out top-1 for comparison). `cache`: see `trunk_feature_set`.

    `init`: a saved descriptor to start from instead of ImageNet's weights (fine-tuning
    a trained model on new kinds of views costs a few epochs, not a whole run); its
    configuration is kept, and a different `descriptor_config` is refused.
    """
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    init_report = None
    if init is None:
        descriptor = LogoDescriptor(descriptor_config)
    else:
        descriptor = LogoDescriptor.load(init)
        if descriptor_config is not None and descriptor_config != descriptor.config:
            raise ValueError(f"{init} is a descriptor of {asdict(descriptor.config)}, "
                             f"not of {asdict(descriptor_config)}")
        init_report = {"path": str(init), "sha256": descriptor.weights_sha256()}
    features = trunk_feature_set(descriptor, config, cache, progress)
    logos, per_logo = features.shape[:2]
    real_count = len(real_design_sets(config)[0])
    generated, real_train = features[:config.designs], features[config.designs:config.designs + real_count]
    real_validation = features[config.designs + real_count:]
    train = np.concatenate([generated[:-config.val_designs], real_train])
    held_out = generated[-config.val_designs:]
    baseline = top1_against_references(descriptor, held_out)
    real_baseline = top1_against_references(descriptor, real_validation) if len(real_validation) else None
    log(f"{'starting' if init else 'untrained (ImageNet)'} held-out top-1 {baseline:.3f}"
        + (f", real validation designs top-1 {real_baseline:.3f}" if real_baseline is not None else ""))

    batches = ViewBatches(train, config.logos_per_batch, config.views_per_logo, config.seed)
    descriptor.top.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
            config.learning_rate, config.epochs * len(batches)), clipnorm=1.0),
        loss=reference_contrastive_loss(config.views_per_logo, config.temperature))
    keep_best = _KeepBest(descriptor, held_out, real_validation, log)
    descriptor.top.fit(batches, epochs=config.epochs, callbacks=[keep_best], verbose=1 if progress else 0)
    descriptor.top.set_weights(keep_best.best_weights)
    report = {"training": asdict(config), "descriptor": asdict(descriptor.config),
              "init": init_report,
              "views": int(logos * per_logo), "untrained_val_top1": baseline,
              "best_val_top1": keep_best.best, "epochs": keep_best.history,
              "real_designs": {"train": real_count, "validation": len(real_validation),
                               "untrained_top1": real_baseline,
                               "best_epoch_top1": keep_best.best_epoch.get("real_val_top1")},
              "seconds": round(time.perf_counter() - started, 1)}
    return descriptor, report
