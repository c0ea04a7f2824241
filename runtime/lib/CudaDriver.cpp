//===- CudaDriver.cpp - the CUDA driver API, loaded at run time -----------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/CudaDriver.h"

#include <cstdlib>
#include <dlfcn.h>

namespace stepc::rt {
namespace {

Status noDevice(std::string message) {
  return Status::error(StatusCode::NoDevice,
                       "no CUDA driver: " + std::move(message));
}

/// Resolves `name` into `slot`; false (with `missing` set) if absent.
template <typename Fn>
bool resolve(void *library, const char *name, Fn &slot, std::string &missing) {
  slot = reinterpret_cast<Fn>(dlsym(library, name));
  if (!slot && missing.empty())
    missing = name;
  return slot != nullptr;
}

Status load(CudaDriver &d) {
  const char *override = std::getenv("STEPC_CUDA_DRIVER");
  std::string path = override && *override ? override : "libcuda.so.1";
  // Never closed: kernels and contexts may outlive any one user.
  void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    return noDevice("cannot load " + path + " (" +
                    (reason ? reason : "unknown reason") +
                    "); install the NVIDIA driver or set STEPC_CUDA_DRIVER");
  }
  std::string missing;
  // The names cuda.h maps the API to (CUDA 12/13, default stream mode).
  resolve(library, "cuInit", d.cuInit, missing);
  resolve(library, "cuGetErrorString", d.cuGetErrorString, missing);
  resolve(library, "cuDeviceGetCount", d.cuDeviceGetCount, missing);
  resolve(library, "cuDeviceGet", d.cuDeviceGet, missing);
  resolve(library, "cuDeviceGetName", d.cuDeviceGetName, missing);
  resolve(library, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, missing);
  resolve(library, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain,
          missing);
  resolve(library, "cuDevicePrimaryCtxRelease_v2", d.cuDevicePrimaryCtxRelease,
          missing);
  resolve(library, "cuCtxSetCurrent", d.cuCtxSetCurrent, missing);
  resolve(library, "cuModuleLoadData", d.cuModuleLoadData, missing);
  resolve(library, "cuModuleUnload", d.cuModuleUnload, missing);
  resolve(library, "cuModuleGetFunction", d.cuModuleGetFunction, missing);
  resolve(library, "cuFuncSetAttribute", d.cuFuncSetAttribute, missing);
  resolve(library, "cuOccupancyMaxActiveBlocksPerMultiprocessor",
          d.cuOccupancyMaxActiveBlocksPerMultiprocessor, missing);
  resolve(library, "cuMemAlloc_v2", d.cuMemAlloc, missing);
  resolve(library, "cuMemFree_v2", d.cuMemFree, missing);
  resolve(library, "cuMemcpyHtoD_v2", d.cuMemcpyHtoD, missing);
  resolve(library, "cuMemcpyDtoH_v2", d.cuMemcpyDtoH, missing);
  resolve(library, "cuLaunchCooperativeKernel", d.cuLaunchCooperativeKernel,
          missing);
  resolve(library, "cuLaunchKernel", d.cuLaunchKernel, missing);
  resolve(library, "cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync, missing);
  resolve(library, "cuStreamSynchronize", d.cuStreamSynchronize, missing);
  d.hostEmulator = dlsym(library, CudaDriver::kEmulatorSymbol) != nullptr;
  if (!missing.empty())
    return noDevice(path + " has no symbol " + missing +
                    " (a driver older than CUDA 12?)");
  CudaDriver::CUresult result = d.cuInit(0);
  if (result == CudaDriver::kErrorStubLibrary)
    return noDevice(path +
                    " is the CUDA toolkit's stub library: no GPU driver is "
                    "installed on this machine");
  if (result == CudaDriver::kErrorNoDevice)
    return Status::error(StatusCode::NoDevice,
                         "no CUDA device: the driver found no GPU");
  return d.check(result, "cuInit");
}

} // namespace

Status CudaDriver::get(const CudaDriver *&driver) {
  static CudaDriver instance;
  static Status status = load(instance);
  driver = status.ok() ? &instance : nullptr;
  return status;
}

Status CudaDriver::check(CUresult result, const std::string &what) const {
  if (result == kSuccess)
    return Status::success();
  const char *text = nullptr;
  if (!cuGetErrorString || cuGetErrorString(result, &text) != kSuccess ||
      !text)
    text = "unknown error";
  std::string message = what + " failed: " + text + " (CUDA error " +
                        std::to_string(result) + ")";
  // The emulator names the divergence itself; on a GPU, a trap is all the
  // driver reports.
  if (!hostEmulator &&
      (result == kErrorIllegalInstruction || result == kErrorLaunchFailed))
    message += "; if a stepc kernel was running: its blocks trap when a "
               "grid barrier does not complete within the timeout it was "
               "compiled with (stepc compile --cuda-barrier-timeout, 60 s "
               "by default), which a kernel that hangs would otherwise "
               "never report";
  return Status::error(StatusCode::NoDevice, message);
}

Status CudaDriver::deviceCount(int &count) const {
  count = 0;
  if (Status s = check(cuDeviceGetCount(&count), "cuDeviceGetCount"); !s.ok())
    return s;
  if (count < 1)
    return Status::error(StatusCode::NoDevice,
                         "no CUDA device: the driver found no GPU");
  return Status::success();
}

} // namespace stepc::rt
