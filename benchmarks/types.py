"""Value types of the benchmark document (what `benchmark.json` holds): the document, its rows
and their parts.

Everything is a frozen dataclass. `to_dict()` gives exactly the JSON written today and
`from_dict()` reads it back (every committed `benchmarks/results/*/benchmark.json` round-trips),
refusing unknown keys and missing required ones with the path of the offending value. Both follow
the field annotations (`Record` in record.py; its `DocumentError` and `OPTIONAL` are importable
from here too), so each field is declared once, here. A field with `metadata=OPTIONAL` is left
out of the JSON while it is None (a skipped row has no latency); every other field is always
written, None included.

Sequences are tuples here and lists in the JSON. The worker's job file and its JSON lines stay
plain dicts: `worker.py` and `photos.py` also run in a venv without this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Self

from edge_emotion.benchmarks.record import OPTIONAL, DocumentError, Record
from edge_emotion.vocab import RowKind
from edge_emotion_runtime.preprocess import PreprocessSpec


# --------------------------------------------------------------------------- the plan of a row
@dataclass(frozen=True)
class RowSpec(Record):
    """One line of the table: what is measured and how (see `plan.build_plan`)."""

    id: str
    kind: str  # a RowKind (edge_emotion.vocab)
    variant: str  # "keras" or an export mode
    backend: str  # "keras" or an interpreter backend
    threads: int | None  # None: the framework's default
    xnnpack: bool
    model_path: str
    evaluate: bool  # compute accuracy here (else copied from `metrics_from`)
    metrics_from: str | None = None
    skip_reason: str | None = None
    run: str = ""  # short name of the run directory the row belongs to

    @property
    def key(self) -> str:
        """The row's id without its run prefix: what rows of different runs are matched on."""
        return (
            self.id.split(":", 1)[1] if self.run and self.id.startswith(f"{self.run}:") else self.id
        )

    @property
    def label(self) -> str:
        if self.kind == RowKind.KERAS_DIRECT:
            return "keras model(x)"
        if self.kind == RowKind.KERAS_COMPILED:
            return "keras tf.function"
        if self.kind == RowKind.KERAS_PREDICT:
            return "keras predict"
        suffix = "" if self.xnnpack else " no-xnnpack"
        return f"{self.variant} {self.backend} t{self.threads}{suffix}"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "label": self.label, "key": self.key}

    @classmethod
    def _from_dict(cls, data: Any, where: str) -> Self:
        if not isinstance(data, dict):
            raise DocumentError(f"{where}: expected an object, got {type(data).__name__}")
        stored = {k: data[k] for k in ("label", "key") if k in data}
        row = super()._from_dict({k: v for k, v in data.items() if k not in stored}, where)
        for name, value in stored.items():  # derived from the other fields: they must agree
            if value != getattr(row, name):
                raise DocumentError(
                    f"{where}.{name}: {value!r}, but the row's fields say {getattr(row, name)!r}"
                )
        return row


# --------------------------------------------------------------------------- parts of a row
@dataclass(frozen=True)
class LatencyStats(Record):
    """Latency of one row in milliseconds, over `n` timed single-image runs after warm-up."""

    n: int
    mean_ms: float
    std_ms: float
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    # Throughput implied by the mean latency at batch 1 (one image per call, calls back to back).
    images_per_s: float


@dataclass(frozen=True)
class ColdRun(Record):
    """One fresh process: start to first stdout line, start to exit, its peak RSS."""

    wall_ms: float  # start -> first stdout line
    exit_ms: float  # start -> process exit
    peak_rss_mb: float
    returncode: int
    first_line: str
    stderr_tail: str


@dataclass(frozen=True)
class ColdStart(Record):
    """`repeats` cold starts of one command: every run, and over the good ones the median wall
    time, the smallest and the largest peak RSS (absent when every run failed)."""

    command: tuple[str, ...]
    runs: tuple[ColdRun, ...]
    status: str  # "ok" or "failed"
    reason: str | None = field(default=None, metadata=OPTIONAL)  # why it failed
    wall_ms_median: float | None = field(default=None, metadata=OPTIONAL)
    wall_ms_min: float | None = field(default=None, metadata=OPTIONAL)
    peak_rss_mb: float | None = field(default=None, metadata=OPTIONAL)
    first_line: str | None = field(default=None, metadata=OPTIONAL)
    # What the process does, where not obvious.
    note: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class WorkerEnv(Record):
    """Versions as seen from inside a worker's interpreter (`worker.environment`)."""

    python: str
    executable: str
    numpy: str
    backend_distribution: str | None
    backend_version: str | None
    edge_emotion_runtime: str | None


@dataclass(frozen=True)
class XnnpackInfo(Record):
    """What the backend says about the XNNPACK delegate (`worker.xnnpack_info`)."""

    log: tuple[str, ...]
    nodes_replaced: int | None
    nodes_total: int | None
    partitions: int | None
    delegate_nodes: int | None
    graph_nodes: int | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class LitertBenchmark(Record):
    """The median of ai-edge-litert's own `litert-benchmark` tool, or the error it gave."""

    median_ms: float | None = field(default=None, metadata=OPTIONAL)
    avg_ms: float | None = field(default=None, metadata=OPTIONAL)
    num_runs: int | None = field(default=None, metadata=OPTIONAL)
    threads: int | None = field(default=None, metadata=OPTIONAL)
    # The tool prints ms with two decimals.
    resolution_ms: float | None = field(default=None, metadata=OPTIONAL)
    error: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class TfThreads(Record):
    intra_op: int
    inter_op: int


@dataclass(frozen=True)
class PhotoStages(Record):
    """Median ms per stage of `PhotoClassifier.analyze` over all photos and runs."""

    decode: float
    detect: float
    classify: float
    total: float


@dataclass(frozen=True)
class PhotoTimes(Record):
    faces: dict[str, int]  # photo name -> faces found
    runs: int  # timed runs per photo
    ms: dict[str, tuple[float, ...]]  # stage -> every timed run, photo by photo
    p50_ms: PhotoStages
    # The pipeline measured (`PhotoClassifier.describe()`); absent in results written before the
    # photo defaults changed, which all ran the short-range detector with one view per face.
    pipeline: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class ClassMetrics(Record):
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics(Record):
    """`training.metrics.binary_metrics` of a row's probabilities on the evaluation images."""

    n: int
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None  # None when only one class is present
    confusion_matrix: tuple[tuple[int, ...], ...]
    support: dict[str, int]
    per_class: dict[str, ClassMetrics]
    positive_label: str


@dataclass(frozen=True)
class Ratios(Record):
    """A row against its run's fair baselines (see `rows.add_ratios`)."""

    speedup_p50: float
    speedup_mean: float
    # Kind of the row speeds are against (older files: none).
    baseline: str | None = field(default=None, metadata=OPTIONAL)
    speedup_p50_vs_eager: float | None = field(default=None, metadata=OPTIONAL)
    wrapper_overhead_p50: float | None = field(default=None, metadata=OPTIONAL)
    size_ratio: float | None = field(default=None, metadata=OPTIONAL)
    accuracy_delta: float | None = field(default=None, metadata=OPTIONAL)
    cold_start_speedup: float | None = field(default=None, metadata=OPTIONAL)
    peak_rss_ratio: float | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, kw_only=True)
class Row(RowSpec):
    """One row of the document: its spec, file facts, status and whatever was measured."""

    status: str  # "ok", "skipped" or "failed"
    reason: str | None = field(default=None, metadata=OPTIONAL)
    file_bytes: int | None
    # From a .tflite's metadata.
    validation_status: str | None = field(default=None, metadata=OPTIONAL)
    # As the worker reported them (see worker.py).
    env: WorkerEnv | None = field(default=None, metadata=OPTIONAL)
    import_ms: float | None = field(default=None, metadata=OPTIONAL)
    load_ms: float | None = field(default=None, metadata=OPTIONAL)
    first_inference_ms: float | None = field(default=None, metadata=OPTIONAL)
    latencies_ms: tuple[float, ...] | None = field(default=None, metadata=OPTIONAL)
    # The bare set_tensor/invoke/get_tensor loop alternated with the call (tflite rows).
    bare_latencies_ms: tuple[float, ...] | None = field(default=None, metadata=OPTIONAL)
    litert_benchmark: LitertBenchmark | None = field(default=None, metadata=OPTIONAL)
    compiled: str | None = field(default=None, metadata=OPTIONAL)  # how keras_compiled was traced
    xnnpack_delegate: XnnpackInfo | None = field(default=None, metadata=OPTIONAL)
    worker_peak_rss_mb: float | None = field(default=None, metadata=OPTIONAL)
    eval_s: float | None = field(default=None, metadata=OPTIONAL)
    tf_threads: TfThreads | None = field(default=None, metadata=OPTIONAL)
    backend_used: str | None = field(default=None, metadata=OPTIONAL)
    # Derived by the runner.
    latency: LatencyStats | None = field(default=None, metadata=OPTIONAL)
    photo: PhotoTimes | None = field(default=None, metadata=OPTIONAL)
    metrics: Metrics | None = field(default=None, metadata=OPTIONAL)
    eval_n: int | None = field(default=None, metadata=OPTIONAL)
    agreement_with_keras: float | None = field(default=None, metadata=OPTIONAL)
    disagreements_with_keras: int | None = field(default=None, metadata=OPTIONAL)
    max_abs_prob_diff_vs_keras: float | None = field(default=None, metadata=OPTIONAL)
    cold_start: ColdStart | None = field(default=None, metadata=OPTIONAL)
    ratios: Ratios | None = field(default=None, metadata=OPTIONAL)

    @classmethod
    def of(cls, spec: RowSpec, **values: Any) -> Row:
        """The row of a spec, with the given figures."""
        return cls(**{f.name: getattr(spec, f.name) for f in fields(RowSpec)}, **values)

    @property
    def measured(self) -> bool:
        """Measured with a latency summary (the rows of the tables)."""
        return self.status == "ok" and self.latency is not None


# --------------------------------------------------------------------------- runs and settings
@dataclass(frozen=True)
class EvalInfo(Record):
    """The evaluation images of a run (`runner.load_eval`)."""

    source: str
    n: int
    n_available: int
    max_eval: int | None
    subset_seed: int | None
    class_counts: tuple[int, ...]
    # Content hash of the evaluated images and labels (older files: none).
    images_sha256: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class ExportSummary(Record):
    """Options and status of the export that produced the .tflite files (export_report.json)."""

    options: dict[str, Any] | None
    status: str | None


@dataclass(frozen=True)
class RunInfo(Record):
    """One of the measured runs."""

    name: str
    path: str  # as given on the command line
    arch: str | None
    preprocess: PreprocessSpec
    labels: tuple[str, ...]
    threshold: float
    keras_model_bytes: int
    parameters: int | None
    train_command: str | None
    export: ExportSummary | None
    eval: EvalInfo


@dataclass(frozen=True)
class PhotoInfo(Record):
    """One photo of the photo pipeline (`photos.prepare`, without its path)."""

    name: str
    format: str
    width: int
    height: int
    bytes: int


@dataclass(frozen=True)
class Settings(Record):
    """How the benchmark was run. The JSON also repeats the first run's `eval` here (see
    `BenchmarkDoc`)."""

    runs: int
    warmup: int
    threads: tuple[int, ...]
    backends: tuple[str, ...]
    isolation: str
    cold_runs: int
    batch: int
    timed_call: dict[str, str]  # kind -> what one timed call does
    # Older files: no photo pipeline.
    photos: tuple[PhotoInfo, ...] | None = field(default=None, metadata=OPTIONAL)
    photo_runs: int | None = field(default=None, metadata=OPTIONAL)
    # Group names, several runs only.
    measurement_order: tuple[str, ...] | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class Machine(Record):
    """Machine and software facts (`sysinfo.machine_info`)."""

    cpu_model: str
    cpu_flags: tuple[str, ...]
    logical_cores: int | None
    usable_cores: int | None
    memory_total_mb: float | None
    os: str
    machine: str
    python: str
    python_implementation: str
    python_executable: str
    versions: dict[str, str | None]  # distribution -> version (None: not installed)


@dataclass(frozen=True)
class LoadAverage(Record):
    start: tuple[float, ...] | None  # 1, 5 and 15-minute load averages
    end: tuple[float, ...] | None


# --------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class RunFigures(Record):
    """One run's figures in a row of the cross-run comparison."""

    id: str
    p50_ms: float
    mean_ms: float
    min_ms: float
    file_bytes: int | None
    accuracy: float | None


@dataclass(frozen=True)
class Versus(Record):
    """A run against the reference run in one row of the comparison."""

    speedup_p50: float  # reference p50 / run p50
    speedup_mean: float
    size_ratio: float | None = field(default=None, metadata=OPTIONAL)  # run file / reference file
    # Run accuracy - reference accuracy.
    accuracy_delta: float | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class ComparisonRow(Record):
    key: str
    label: str
    runs: dict[str, RunFigures]  # run name -> figures
    vs_reference: dict[str, Versus]  # every run but the reference -> ratios


@dataclass(frozen=True)
class Comparison(Record):
    """The rows every compared run has, side by side (`compare.compare`)."""

    reference: str
    runs: tuple[str, ...]
    same_eval_images: bool | None  # None: not every run recorded its images' hash
    note: str
    rows: tuple[ComparisonRow, ...]


# --------------------------------------------------------------------------- the document
@dataclass(frozen=True)
class BenchmarkDoc(Record):
    """What benchmark.json holds.

    The JSON also carries `run` (the first run without its name and eval set) and
    `settings.eval` (the first run's eval set) for readers of the single-run documents; both are
    written from `runs[0]`, and a document whose copies disagree with it is refused.
    """

    schema_version: int
    tool: str
    date: str
    duration_s: float
    command: str
    runs: tuple[RunInfo, ...]
    settings: Settings
    machine: Machine
    load_average: LoadAverage
    nice: int | None
    interpreters: dict[str, WorkerEnv]  # backend distribution ("keras" for Keras) -> versions
    rows: tuple[Row, ...]
    comparison: Comparison | None = field(default=None, metadata=OPTIONAL)  # several runs only

    @property
    def multi(self) -> bool:
        """Whether the document compares several runs."""
        return len(self.runs) > 1

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        first = data["runs"][0]
        data["run"] = {k: v for k, v in first.items() if k not in ("name", "eval")}
        data["settings"]["eval"] = first["eval"]
        return data

    @classmethod
    def _from_dict(cls, data: Any, where: str) -> Self:
        if not isinstance(data, dict):
            raise DocumentError(f"{where}: expected an object, got {type(data).__name__}")
        settings = data.get("settings")
        if "run" not in data or not isinstance(settings, dict) or "eval" not in settings:
            raise DocumentError(f"{where}: missing key(s) 'run' or 'settings.eval'")
        rest = {k: v for k, v in data.items() if k != "run"}
        rest["settings"] = {k: v for k, v in settings.items() if k != "eval"}
        doc = super()._from_dict(rest, where)
        if not doc.runs:
            raise DocumentError(f"{where}.runs: no run")
        written = doc.to_dict()
        for name, given, expected in (
            ("run", data["run"], written["run"]),
            ("settings.eval", settings["eval"], written["settings"]["eval"]),
        ):
            if given != expected:
                raise DocumentError(f"{where}.{name}: differs from the first of `runs`")
        return doc
