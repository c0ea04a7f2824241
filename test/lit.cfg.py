# -*- Python -*- lit configuration for stepc.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "STEPC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.stepc_obj_root, "test")
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py",
                   "lit.local.cfg", "Inputs", "reference.py",
                   "scoped_environ.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%stepc_src_root", config.stepc_src_root))
config.substitutions.append(("%stepc_obj_root", config.stepc_obj_root))
config.substitutions.append(("%stepc_version", config.stepc_version))

config.substitutions.append(
    ("%mlir_tblgen", os.path.join(config.llvm_tools_dir, "mlir-tblgen")))
config.substitutions.append(("%llvm_include_dir", config.llvm_include_dir))
# Debian's python3 (it sees python3-numpy; the pyenv one on PATH does not).
config.substitutions.append(("%python", "/usr/bin/python3"))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

config.substitutions.append(
    ("%stepc_opt_path", os.path.join(config.stepc_tools_dir, "stepc-opt")))
config.substitutions.append(
    ("%stepc_path", os.path.join(config.stepc_tools_dir, "stepc")))

tool_dirs = [config.stepc_tools_dir, config.llvm_tools_dir]
tools = ["stepc-opt", "stepc", "stepc-rt-artifact-test", "stepc-rt-runner-test",
         "stepc-rt-capi-e2e-test", "stepc-rt-capi-test", "stepc-char-mlp",
         "stepc-rt-bf16-test", "stepc-rt-device-runner-test",
         "stepc-rt-cuda-emulator-test"]
config.substitutions.append(
    ("%fake_entries", os.path.join(config.stepc_obj_root, "lib",
                                   "stepc-rt-fake-entries.so")))
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The host CUDA emulator, a stand-in libcuda for STEPC_CUDA_DRIVER
# (docs/Design/GpuEmulation.md).
config.substitutions.append(
    ("%cuda_emulator", os.path.join(config.stepc_obj_root, "lib",
                                    "libstepc-cuda-emulator.so")))
config.substitutions.append(
    ("%emulated_kernels", os.path.join(config.stepc_obj_root, "lib",
                                       "stepc-rt-emulated-kernels.so")))

# The Python package as built (PYTHONPATH for test/Python).
config.substitutions.append(
    ("%stepc_python_dir", os.path.join(config.stepc_obj_root, "python")))
# PyTorch from Debian's python3-torch: stepc.torch's tests need it and are
# reported as unsupported (skipped) where it is missing.
import subprocess
if subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                  capture_output=True).returncode == 0:
    config.available_features.add("torch")
if os.path.exists("/usr/local/cuda/lib64/stubs/libcuda.so"):
    config.available_features.add("cuda-stub")


def has_cuda_gpu():
    """Whether the CUDA driver loads and sees a GPU (test/GPU needs one)."""
    import ctypes
    try:
        driver = ctypes.CDLL(os.environ.get("STEPC_CUDA_DRIVER") or "libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return (driver.cuInit(0) == 0 and
            driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0)


if has_cuda_gpu():
    config.available_features.add("cuda-gpu")
# The CUDA toolkit's ptxas assembles the GPU pipeline's PTX (no GPU needed).
if os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")
    config.substitutions.append(("ptxas ", "/usr/local/cuda/bin/ptxas "))
