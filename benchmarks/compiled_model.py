"""LiteRT's CompiledModel API against the classic Interpreter on one model, same process.

Why it exists: ai-edge-litert 2.x offers a second Python API (`CompiledModel`, what
`litert-benchmark` drives). The runtime keeps the Interpreter unless this says CompiledModel is
faster on our models. Measured on the bundled FER edge int8 (2-core x86, load ~2.7): 1 thread
CompiledModel 16.8 us vs Interpreter 14.7 us; 2 threads 31.3 vs 18.7 us (min of 40 alternating
blocks of 300 calls; input write, run, output read vs set_tensor, invoke, get_tensor). It also
prints OpenVINO/NPU plugin warnings at start-up. So no CompiledModel backend.

    python benchmarks/compiled_model.py MODEL.tflite [THREADS]
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main(argv: list[str]) -> int:
    from ai_edge_litert.compiled_model import (
        CompiledModel,
        CpuOptions,
        HardwareAccelerator,
        Options,
    )
    from ai_edge_litert.interpreter import Interpreter

    model, threads = argv[0], int(argv[1]) if len(argv) > 1 else 1
    options = Options(
        hardware_accelerators=HardwareAccelerator.CPU, cpu_options=CpuOptions(num_threads=threads)
    )
    compiled = CompiledModel.from_file(model, options=options)
    inputs, outputs = compiled.create_input_buffers(0), compiled.create_output_buffers(0)
    interpreter = Interpreter(model_path=model, num_threads=threads)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    x = np.random.default_rng(0).integers(-128, 127, inp["shape"], dtype=inp["dtype"])

    def run_compiled() -> None:
        inputs[0].write(x)
        compiled.run_by_index(0, inputs, outputs)
        outputs[0].read(1, out["dtype"])

    def run_interpreter() -> None:
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        interpreter.get_tensor(out["index"])

    calls = {"compiled model": run_compiled, "interpreter": run_interpreter}
    best = dict.fromkeys(calls, float("inf"))
    for call in calls.values():
        for _ in range(300):
            call()
    for _ in range(40):  # alternate, so machine noise hits both alike
        for name, call in calls.items():
            start = time.perf_counter_ns()
            for _ in range(300):
                call()
            best[name] = min(best[name], (time.perf_counter_ns() - start) / 300 / 1e3)
    print(f"threads {threads}: " + ", ".join(f"{k} {v:.1f} us" for k, v in best.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
