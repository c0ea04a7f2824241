//===- CudaDriver.h - the CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The runtime reaches CUDA only through libcuda.so.1 opened with dlopen, so
// that it builds without the toolkit and runs on machines without a GPU,
// where using CUDA fails with a NoDevice status that says why. Symbols are
// looked up by their versioned names (cuMemAlloc_v2, ...), the ones cuda.h
// maps its API names to; the declarations below mirror cuda.h's.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_CUDADRIVER_H
#define STEPC_RT_CUDADRIVER_H

#include "stepc-rt/GroupRunner.h"

#include <cstddef>
#include <string>

namespace stepc::rt {

struct CudaDriver {
  // cuda.h's types, declared here so that no toolkit header is needed.
  using CUresult = int;
  using CUdevice = int;
  using CUdeviceptr = unsigned long long;
  using CUcontext = struct CUctx_st *;
  using CUmodule = struct CUmod_st *;
  using CUfunction = struct CUfunc_st *;
  using CUstream = struct CUstream_st *;
  static constexpr CUresult kSuccess = 0;
  static constexpr CUresult kErrorStubLibrary = 34;
  static constexpr CUresult kErrorNoDevice = 100;
  static constexpr CUresult kErrorIllegalInstruction = 715;
  static constexpr CUresult kErrorLaunchFailed = 719;
  static constexpr int kAttributeMultiprocessorCount = 16;
  static constexpr int kAttributeComputeCapabilityMajor = 75;
  static constexpr int kAttributeComputeCapabilityMinor = 76;
  static constexpr int kAttributeMaxSharedMemoryPerBlockOptin = 97;
  static constexpr int kFunctionAttributeMaxDynamicSharedBytes = 8;

  CUresult (*cuInit)(unsigned flags) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int ordinal) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int length, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int attribute, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuModuleLoadData)(CUmodule *, const void *image) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule,
                                  const char *name) = nullptr;
  CUresult (*cuFuncSetAttribute)(CUfunction, int attribute,
                                 int value) = nullptr;
  CUresult (*cuOccupancyMaxActiveBlocksPerMultiprocessor)(
      int *blocks, CUfunction, int blockSize, size_t dynamicShared) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t bytes) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t) = nullptr;
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t) = nullptr;
  CUresult (*cuLaunchCooperativeKernel)(CUfunction, unsigned gridX,
                                        unsigned gridY, unsigned gridZ,
                                        unsigned blockX, unsigned blockY,
                                        unsigned blockZ, unsigned sharedBytes,
                                        CUstream, void **params) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction, unsigned gridX, unsigned gridY,
                             unsigned gridZ, unsigned blockX, unsigned blockY,
                             unsigned blockZ, unsigned sharedBytes, CUstream,
                             void **params, void **extra) = nullptr;
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t,
                                CUstream) = nullptr;
  CUresult (*cuStreamSynchronize)(CUstream) = nullptr;

  /// Whether the driver is stepc's host CUDA emulator (it exports
  /// kEmulatorSymbol): its modules are an artifact's host code, not cubins
  /// (docs/Design/GpuEmulation.md).
  bool hostEmulator = false;
  static constexpr const char *kEmulatorSymbol = "stepc_cuda_emulator";

  /// The process's driver: on first use, opens $STEPC_CUDA_DRIVER (default
  /// libcuda.so.1), resolves every symbol above and calls cuInit. Later
  /// calls return the same driver, or the same failure.
  static Status get(const CudaDriver *&driver);

  /// Ok, or a status naming `what` failed and the driver's reason; for the
  /// errors a trap reports, also that a phased kernel traps at a grid
  /// barrier that does not complete in time (stepc compile
  /// --cuda-barrier-timeout).
  Status check(CUresult result, const std::string &what) const;

  /// Number of CUDA devices (at least 1 on success: none is NoDevice).
  Status deviceCount(int &count) const;
};

} // namespace stepc::rt

#endif // STEPC_RT_CUDADRIVER_H
