"""Mutation testing of the runtime's core decisions with cosmic-ray (not in CI: minutes to hours).

Each target is one module, the functions of it that decide something (thresholds, box maths,
quantization, parsing limits) and the fast tests that should notice a change there. Mutants
outside those functions, and binary-operator swaps into bitwise/shift/power/modulo operators
(thousands of near-duplicates), are skipped so a run fits a working session. Mutants are applied
to a copy of the tree (.mutation/tree, imported first through PYTHONPATH, CLI subprocesses
included), so the checkout stays untouched and usable while a run goes on.

    bash scripts/mutation.sh                 # every target
    bash scripts/mutation.sh crop detector   # some targets
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
VENV = CHECKOUT / ".venv" / "bin"
WORK = CHECKOUT / ".mutation"
ROOT = WORK / "tree"
PKG = "runtime/edge_emotion_runtime"
PYTEST = f"{VENV}/pytest -x -q -p no:cacheprovider"
# The workstation's sub-packages live in top-level folders (the editable install maps them);
# in the copy, links inside edge_emotion/ make plain PYTHONPATH imports find the mutated files.
SUBPACKAGES = ("training", "export", "benchmarks")
# Of cosmic-ray's all-pairs operator swaps, the ones that model a slip: an arithmetic operator
# for its inverse, a comparison for its neighbour or opposite (`<` for `<=`, `==` for `!=`).
# The rest (`+` -> `<<`, `==` -> `is not`, ...) are thousands of near-duplicates of those.
KEPT_SWAPS = {
    "ReplaceBinaryOperator": {
        ("Add", "Sub"),
        ("Sub", "Add"),
        ("Mul", "Div"),
        ("Div", "Mul"),
        ("FloorDiv", "Div"),
        ("Div", "FloorDiv"),
        ("Mod", "FloorDiv"),
        ("Pow", "Mul"),
    },
    "ReplaceComparisonOperator": {
        ("Lt", "LtE"),
        ("LtE", "Lt"),
        ("Gt", "GtE"),
        ("GtE", "Gt"),
        ("Lt", "Gt"),
        ("Gt", "Lt"),
        ("LtE", "GtE"),
        ("GtE", "LtE"),
        ("Eq", "NotEq"),
        ("NotEq", "Eq"),
        ("Is", "IsNot"),
        ("IsNot", "Is"),
        ("In", "NotIn"),
        ("NotIn", "In"),
    },
}


def kept_operator(name: str) -> bool:
    """Is this cosmic-ray operator (e.g. core/ReplaceBinaryOperator_Add_Mul) one we run?"""
    kind, _, swap = name.split("/")[-1].partition("_")
    if kind not in KEPT_SWAPS:
        return True
    old, _, new = swap.partition("_")
    return (old, new) in KEPT_SWAPS[kind]


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    functions: tuple[str, ...]
    tests: tuple[str, ...]


TARGETS = (
    Target(
        "crop",
        f"{PKG}/crop.py",
        ("__post_init__", "crop_box", "is_face_crop", "reduced_crop"),
        (
            "tests/test_reliability_thresholds.py",
            "tests/test_reliability_model.py::"
            "test_reduced_crop_equals_crop_then_reduce_pixel_for_pixel",
            "tests/test_runtime_photo.py",
        ),
    ),
    Target(
        "labels",
        f"{PKG}/labels.py",
        ("*",),
        ("tests/test_reliability_thresholds.py", "tests/test_runtime_classifier.py"),
    ),
    Target(
        "detector",
        f"{PKG}/detector.py",
        ("weighted_nms", "decode", "scaled", "clipped_box"),
        ("tests/test_reliability_thresholds.py", "tests/test_runtime_detector.py"),
    ),
    Target(
        "boxes",
        f"{PKG}/boxes.py",
        ("*",),
        ("tests/test_reliability_thresholds.py", "tests/test_runtime_boxes.py"),
    ),
    Target(
        "quantization",
        f"{PKG}/quantization.py",
        ("*",),
        ("tests/test_reliability_thresholds.py", "tests/test_runtime_quantization.py"),
    ),
    Target(
        "metadata",
        f"{PKG}/metadata.py",
        ("_preprocess", "_quant", "_read_json", "_split"),
        (
            "tests/test_reliability_model.py",
            "tests/test_runtime_tflite.py",
            "tests/test_runtime_metadata_fields.py",
        ),
    ),
    Target(
        "fields",
        f"{PKG}/fields.py",
        ("*",),
        ("tests/test_reliability_thresholds.py",),
    ),
    Target(
        "inputs",
        f"{PKG}/inputs.py",
        ("_match", "_may_lead_to_match", "collect", "_expand", "is_image_name"),
        ("tests/test_reliability_thresholds.py",),
    ),
    Target(
        "preprocess",
        f"{PKG}/preprocess.py",
        ("_to_8bit", "_target", "scale", "scale_into", "__post_init__"),
        (
            "tests/test_reliability_thresholds.py",
            "tests/test_preprocess_scale.py",
            "tests/test_runtime_images.py",
        ),
    ),
    Target(
        "export-gate",
        "export/validate.py",
        ("judge",),
        ("tests/test_reliability_thresholds.py", "tests/test_export_units.py"),
    ),
)


def line_ranges(path: Path, names: tuple[str, ...]) -> list[tuple[int, int]]:
    """(first, last) source lines of the functions called `names` ("*": every function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and ("*" in names or node.name in names)
    ]


def skip_outside(db_path: Path, target: Target) -> tuple[int, int]:
    """Mark mutants outside the target's functions (or noisy operators) SKIPPED: (kept, skipped)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    ranges = line_ranges(ROOT / target.module, target.functions)
    kept = skipped = 0
    with use_db(str(db_path), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            inside = all(
                any(lo <= m.start_pos[0] <= hi for lo, hi in ranges)
                and kept_operator(m.operator_name)
                for m in item.mutations
            )
            if inside:
                kept += 1
                continue
            skipped += 1
            db.set_result(
                item.job_id,
                WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="outside the target"),
            )
    return kept, skipped


def copy_tree() -> dict[str, str]:
    """A fresh copy of the checkout to mutate; returns the environment that imports it first."""
    shutil.rmtree(ROOT, ignore_errors=True)
    shutil.copytree(
        CHECKOUT,
        ROOT,
        ignore=shutil.ignore_patterns(".venv*", ".git", ".mutation", "__pycache__", "*.egg-info"),
        symlinks=True,
    )
    for name in SUBPACKAGES:
        (ROOT / "edge_emotion" / name).symlink_to(ROOT / name, target_is_directory=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "runtime"), str(ROOT)])
    return env


def run(target: Target, work: Path, env: dict[str, str]) -> tuple[int, int]:
    config = work / f"{target.name}.toml"
    session = work / f"{target.name}.sqlite"
    session.unlink(missing_ok=True)
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{target.module}"\n'
        "timeout = 120.0\nexcluded-modules = []\n"
        f'test-command = "{PYTEST} {" ".join(target.tests)}"\n\n'
        '[cosmic-ray.distributor]\nname = "local"\n',
        encoding="utf-8",
    )
    subprocess.run([VENV / "cosmic-ray", "init", config, session], cwd=ROOT, env=env, check=True)
    kept, skipped = skip_outside(session, target)
    print(f"== {target.name}: {kept} mutants to run ({skipped} outside the target)", flush=True)
    if os.environ.get("MUTATION_COUNT_ONLY"):
        return 0, 0
    subprocess.run([VENV / "cosmic-ray", "exec", config, session], cwd=ROOT, env=env, check=True)
    return summarize(session, target)


def summarize(session: Path, target: Target) -> tuple[int, int]:
    """Print the survivors (file:line, operator, the line) and the score; (killed, survived).

    Killed: a test failed, or the mutant hung (timeout) or crashed the run. Mutants the filter
    skipped count for neither side."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    lines = (ROOT / target.module).read_text(encoding="utf-8").splitlines()
    killed, survivors = 0, []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            if result.test_outcome == TestOutcome.SURVIVED:
                m = item.mutations[0]
                row = m.start_pos[0]
                survivors.append(
                    f"  {target.module}:{row} {m.operator_name} #{m.occurrence}: "
                    f"{lines[row - 1].strip()}"
                )
            else:
                killed += 1
    total = killed + len(survivors)
    print("\n".join(sorted(survivors)))
    score = 100.0 * killed / total if total else 100.0
    print(f"== {target.name}: {killed}/{total} killed ({score:.1f}%)", flush=True)
    return killed, len(survivors)


def main(argv: list[str]) -> int:
    by_name = {t.name: t for t in TARGETS}
    chosen = [by_name[n] for n in argv if n in by_name] if argv else list(TARGETS)
    unknown = set(argv) - {t.name for t in TARGETS}
    if unknown:
        print(f"unknown target(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    WORK.mkdir(exist_ok=True)
    env = copy_tree()
    killed = survived = 0
    for target in chosen:
        k, s = run(target, WORK, env)
        killed, survived = killed + k, survived + s
    total = killed + survived
    names = " ".join(t.name for t in chosen)
    print(
        f"== mutation score ({names}): {killed}/{total} killed "
        f"({100.0 * killed / max(total, 1):.1f}%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
