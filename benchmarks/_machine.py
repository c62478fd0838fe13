"""What every benchmark prints about the machine: the CPU, its flags that matter, the threads
and the load (on a shared machine, wall times move with the load)."""

import json
import os
import platform

import numpy as np
import torch

#: CPU flags that decide which kernels run: AVX2, AVX-512, bfloat16 dot products, AMX.
FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_bf16", "amx_tile")


def load():
    """The 1-, 5- and 15-minute load averages."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def cpu():
    """The CPU's model name, family and model numbers, and which of ``FLAGS`` it has.

    The numbers tell apart CPUs that a virtual machine names alike (an "AMD EPYC" of family 23
    is a Zen 2, of family 25 a Zen 3 or 4).
    """
    model, numbers, flags = platform.processor() or platform.machine(), {}, set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = (part.strip() for part in line.partition(":"))
                if key == "model name":
                    model = value
                if key in ("cpu family", "model"):
                    numbers[key] = value
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    present = ", ".join(flag for flag in FLAGS if flag in flags) or "none of " + ", ".join(FLAGS)
    if numbers:
        model += " (" + ", ".join(f"{key} {value}" for key, value in numbers.items()) + ")"
    return f"{model}; flags: {present}"


#: Environment variables that cap the instruction set of ATen's, oneDNN's and MKL's kernels:
#: ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`` runs an
#: AVX-512 CPU's code paths as on an AVX2-only CPU (the clock and caches stay this CPU's).
ISA_CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def kernels():
    """The instruction set of torch's CPU kernels, and the caps set in the environment."""
    caps = ", ".join(f"{name}={os.environ[name]}" for name in ISA_CAPS if name in os.environ)
    return f"torch kernels {torch.backends.cpu.get_cpu_capability()}" + (
        f" (capped: {caps})" if caps else ""
    )


def describe():
    """One line: CPU, flags, kernels, cores, torch's threads and versions, the load."""
    return (
        f"{cpu()}; {kernels()}; {os.cpu_count()} cores; torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads; numpy {np.__version__}; {load()}"
    )


def append_record(path, record):
    """Append ``record`` (a dict) to the JSON-lines file ``path``."""
    with open(path, "a") as log:
        log.write(json.dumps(record) + "\n")


def read_records(path):
    """The dicts of the JSON-lines file ``path``, in order."""
    with open(path) as log:
        return [json.loads(line) for line in log if line.strip()]
