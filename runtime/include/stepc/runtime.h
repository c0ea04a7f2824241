/*===- stepc/runtime.h - the stepc runtime's C API ----------------*- C -*-===*\
|*                                                                            *|
|* Part of stepc, under the Apache License v2.0 with LLVM Exceptions.         *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* Load a compiled optimizer (an artifact written by `stepc compile`), bind   *|
|* a trainer's f32 tensors to one of its groups and step them. Plain C so     *|
|* that any language with a C FFI can call it; stepc/runtime.hpp wraps it     *|
|* for C++.                                                                   *|
|*                                                                            *|
|* Every function returns a stepc_status; STEPC_OK is 0. On failure           *|
|* stepc_last_error() returns a one-line message naming what was wrong and    *|
|* what was expected. The message is per thread and describes the last call   *|
|* that thread made (it is "" after a success).                               *|
|*                                                                            *|
|* Threads: different groups may be used from different threads at once; one *|
|* group (and the artifact while groups are created) from one at a time.     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef STEPC_RT_RUNTIME_H
#define STEPC_RT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define STEPC_RT_API
#else
#define STEPC_RT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The same codes, in the same order, as the runtime's C++ StatusCode. */
typedef enum stepc_status {
  STEPC_OK = 0,
  STEPC_ERR_INVALID_ARGUMENT = 1, /* a null pointer, unknown name, bad index */
  STEPC_ERR_SHAPE_MISMATCH = 2,
  STEPC_ERR_DTYPE_MISMATCH = 3,
  STEPC_ERR_NOT_BOUND = 4, /* a step before bind, init or a required hyper */
  STEPC_ERR_IO = 5,        /* the file cannot be read */
  STEPC_ERR_FORMAT = 6,    /* not an artifact, or a malformed one */
  STEPC_ERR_VERSION_MISMATCH = 7, /* another format or stepc version */
  STEPC_ERR_CHECKSUM_MISMATCH = 8, /* a corrupted file */
  STEPC_ERR_NO_DEVICE = 9 /* no code for this machine in the artifact */
} stepc_status;

typedef struct stepc_artifact stepc_artifact;
typedef struct stepc_group stepc_group;

/* The message of the calling thread's last failed call, or "". Valid until
 * the thread's next call into this API. Never null. */
STEPC_RT_API const char *stepc_last_error(void);

/* The stepc version this runtime is; artifacts must come from the same. */
STEPC_RT_API const char *stepc_runtime_version(void);

/* The number of CUDA devices. Without a usable driver (none installed, only
 * the toolkit's stub, or no GPU) it fails with STEPC_ERR_NO_DEVICE and a
 * message saying which; it never aborts. The driver is libcuda.so.1, or
 * $STEPC_CUDA_DRIVER, opened with dlopen on first use. */
STEPC_RT_API stepc_status stepc_cuda_device_count(int *count);

/*===-- Artifacts ---------------------------------------------------------===*/

/* Reads and checks (magic, versions, checksum, manifest) the artifact at
 * `path`. Code is loaded when the first group is created. */
STEPC_RT_API stepc_status stepc_artifact_load(const char *path,
                                              stepc_artifact **out);
/* Groups created from the artifact stay valid after it is freed. Null is a
 * no-op. */
STEPC_RT_API void stepc_artifact_free(stepc_artifact *artifact);
STEPC_RT_API stepc_status
stepc_artifact_num_groups(const stepc_artifact *artifact, size_t *out);
/* `*name` lives as long as the artifact. */
STEPC_RT_API stepc_status stepc_artifact_group_name(
    const stepc_artifact *artifact, size_t index, const char **name);

/* The name of the spec's optimizer (`step.optimizer @name`); `*name` lives
 * as long as the artifact. */
STEPC_RT_API stepc_status stepc_artifact_optimizer_name(
    const stepc_artifact *artifact, const char **name);

/* STEPC_OK if the artifact has code for group `name` on `device` ("cpu",
 * "cuda", "cuda:N"), else STEPC_ERR_NO_DEVICE saying what is missing. Reads
 * the manifest only: no driver is loaded and no device is needed. */
STEPC_RT_API stepc_status stepc_artifact_has_code(const stepc_artifact *artifact,
                                                  const char *name,
                                                  const char *device);

/* A CPU step's temporary buffers of 64 KiB or more are kept by the loaded
 * artifact for the next step (so it does not pay their page faults again):
 * blocks taken from the C library, requests served by a kept block, and the
 * bytes kept now. All zero until a CPU step of the artifact allocates one
 * (element-wise groups never do). */
typedef struct stepc_scratch_stats {
  uint64_t fresh_allocations;
  uint64_t reused_allocations;
  uint64_t held_bytes;
} stepc_scratch_stats;
STEPC_RT_API stepc_status stepc_artifact_scratch_stats(
    const stepc_artifact *artifact, stepc_scratch_stats *out);
/* Gives the kept buffers back to the C library (e.g. before a phase of
 * training that needs the memory); the next step allocates afresh. Safe
 * while other threads step the artifact's groups. */
STEPC_RT_API stepc_status stepc_artifact_trim_scratch(stepc_artifact *artifact);

/* A CPU step's parallel ranges (each matrix product, by col panels:
 * Newton–Schulz's, ARO's) are shared among the threads a group's runner
 * leaves idle (see stepc_group_set_num_threads): ranges run split, and
 * ranges run on one thread (too small to split, or no thread free). All
 * zero until a CPU step of the artifact runs a product. */
typedef struct stepc_parallel_stats {
  uint64_t split_ranges;
  uint64_t inline_ranges;
} stepc_parallel_stats;
STEPC_RT_API stepc_status stepc_artifact_parallel_stats(
    const stepc_artifact *artifact, stepc_parallel_stats *out);

/*===-- Groups ------------------------------------------------------------===*/

/* An instance of group `name`: its own bindings, state and hypers. Several
 * instances of one group may exist (e.g. one per parameter set). */
STEPC_RT_API stepc_status stepc_group_create(stepc_artifact *artifact,
                                             const char *name,
                                             stepc_group **out);
/* The same for parameters and gradients stored as `param_dtype` ("f32",
 * "bf16" or "f16", as the spec's dtypes(...) allow). For 16-bit dtypes,
 * stepc_group_bind and stepc_group_set_grad take pointers to the 16-bit
 * data cast to float *. States are f32 unless the spec stores them as bf16
 * (see stepc_group_state_dtype). */
STEPC_RT_API stepc_status stepc_group_create_typed(stepc_artifact *artifact,
                                                   const char *name,
                                                   const char *param_dtype,
                                                   stepc_group **out);
/* The same on `device`: "cpu", or "cuda" / "cuda:N" for the artifact's CUDA
 * kernels (compiled with --target=cuda) on GPU N. On a CUDA device every
 * pointer the group takes or gives (bind, set_grad, adopt_state,
 * state_data) is a device address, each aligned to 4 elements; states the
 * group owns live on the device; read_state and write_state copy to and
 * from host memory. A step is one kernel launch queued on the group's
 * stream (stepc_group_set_stream) and may still run when step returns. */
STEPC_RT_API stepc_status stepc_group_create_on(stepc_artifact *artifact,
                                                const char *name,
                                                const char *param_dtype,
                                                const char *device,
                                                stepc_group **out);
/* Null is a no-op. Adopted state buffers remain the caller's. */
STEPC_RT_API void stepc_group_free(stepc_group *group);
/* "cpu" or "cuda:N"; valid until the thread's next call. */
STEPC_RT_API stepc_status stepc_group_device(const stepc_group *group,
                                             const char **device);
/* Which of the artifact's code the group runs: "x86-64 shared object" on
 * the CPU; on a GPU "sm_80 cubin", "sm_90a cubin" (the arch-specific one,
 * preferred), "PTX JIT-compiled for sm_100" or "host emulation". Valid
 * until the thread's next call. */
STEPC_RT_API stepc_status stepc_group_code(const stepc_group *group,
                                           const char **code);
/* The CUstream steps are queued on (null, the default, is the legacy
 * default stream). Only for groups on a CUDA device. A step issues host to
 * device copies only when something changed since the step before (the
 * bindings, a host hyper or input, the device addresses): after one step
 * outside, a step can be captured in a CUDA graph as its one launch. */
STEPC_RT_API stepc_status stepc_group_set_stream(stepc_group *group,
                                                 void *stream);
/* Kernel launches this group has made: one per step on a CUDA device, none
 * on the CPU. */
STEPC_RT_API stepc_status stepc_group_launch_count(const stepc_group *group,
                                                   uint64_t *count);

/* 1 when the group takes matrices (accepts(matrix): rank-2 tensors; bind
 * a higher-rank weight as the matrix (shape[0], rest), as Muon and AdamP
 * view conv filters), 0 when it takes tensors of any rank. */
STEPC_RT_API stepc_status stepc_group_accepts_matrices(const stepc_group *group,
                                                       int *out);

/* Arguments of the group, to find state and hyper names. */
STEPC_RT_API stepc_status stepc_group_num_states(const stepc_group *group,
                                                 size_t *out);
STEPC_RT_API stepc_status stepc_group_state_name(const stepc_group *group,
                                                 size_t index,
                                                 const char **name);
STEPC_RT_API stepc_status stepc_group_num_hypers(const stepc_group *group,
                                                 size_t *out);
STEPC_RT_API stepc_status stepc_group_hyper_name(const stepc_group *group,
                                                 size_t index,
                                                 const char **name);
/* The group's per-step inputs (input(...), e.g. the loss) and the keys of
 * its global sums (step.global_sum), in spec order. A group with sums must
 * be stepped together with every group that shares them
 * (stepc_step_groups). */
STEPC_RT_API stepc_status stepc_group_num_inputs(const stepc_group *group,
                                                 size_t *out);
STEPC_RT_API stepc_status stepc_group_input_name(const stepc_group *group,
                                                 size_t index,
                                                 const char **name);
STEPC_RT_API stepc_status stepc_group_num_sums(const stepc_group *group,
                                               size_t *out);
STEPC_RT_API stepc_status stepc_group_sum_name(const stepc_group *group,
                                               size_t index, const char **name);

/* Binds `n` parameters and their gradients: contiguous row-major f32 arrays
 * the caller owns and keeps alive. Tensor i has rank ranks[i] and shape
 * shapes[i][0..ranks[i]); its gradient has the same shape. A matrix group
 * needs rank 2. Replaces any earlier binding, its state and adoptions. */
STEPC_RT_API stepc_status stepc_group_bind(stepc_group *group, size_t n,
                                           float *const *params,
                                           float *const *grads,
                                           const int64_t *const *shapes,
                                           const size_t *ranks);
/* Points tensor `index`'s gradient at `grad` (same shape as bound). */
STEPC_RT_API stepc_status stepc_group_set_grad(stepc_group *group,
                                               size_t index, float *grad);

/* Sets every state of every bound tensor to its initial value; adopted
 * buffers are overwritten too. To resume from a checkpoint, adopt the
 * restored buffers and do not call this. */
STEPC_RT_API stepc_status stepc_group_init_state(stepc_group *group);
/* Makes state `state_name` of tensor `index` live in the caller's `data`
 * (num_elements values of its storage dtype, kept alive while bound) so the trainer owns and
 * checkpoints it. Its contents are used as they are. */
STEPC_RT_API stepc_status stepc_group_adopt_state(stepc_group *group,
                                                  size_t index,
                                                  const char *state_name,
                                                  float *data,
                                                  size_t num_elements);
/* The state's shape: `*rank` is the capacity of `shape` on input and the
 * rank on output; with `shape` null only the rank is returned. */
STEPC_RT_API stepc_status stepc_group_state_shape(const stepc_group *group,
                                                  size_t index,
                                                  const char *state_name,
                                                  int64_t *shape,
                                                  size_t *rank);
/* Where the state lives: the runtime's buffer after init_state, or the
 * adopted one. It holds the storage dtype: f32, or bf16 bits (2 bytes per
 * value) for a state the spec declares `store(bf16)`. */
STEPC_RT_API stepc_status stepc_group_state_data(stepc_group *group,
                                                 size_t index,
                                                 const char *state_name,
                                                 float **data);
/* The storage dtype of state `state_name`: "f32" or "bf16". */
STEPC_RT_API stepc_status stepc_group_state_dtype(const stepc_group *group,
                                                  const char *state_name,
                                                  const char **dtype);
/* Copies the `num_values` values of a state out as f32 (bf16 widened
 * exactly), or in from f32 (rounded to nearest even for bf16 storage): a
 * checkpoint format that does not depend on the storage dtype. */
STEPC_RT_API stepc_status stepc_group_read_state(stepc_group *group,
                                                 size_t index,
                                                 const char *state_name,
                                                 float *values,
                                                 size_t num_values);
STEPC_RT_API stepc_status stepc_group_write_state(stepc_group *group,
                                                  size_t index,
                                                  const char *state_name,
                                                  const float *values,
                                                  size_t num_values);

STEPC_RT_API stepc_status stepc_group_set_hyper(stepc_group *group,
                                                const char *name,
                                                double value);
/* The value hyper `name` will have in the next step: the last one set, else
 * the spec's default. `*is_set` is 0 when it has neither (a step would fail)
 * and `*value` is then 0. */
STEPC_RT_API stepc_status stepc_group_hyper(const stepc_group *group,
                                            const char *name, double *value,
                                            int *is_set);
/* The count of the last step taken (0 before the first); a step increments
 * it before running, so the first step sees 1. Set it to resume (a whole
 * number from 0 to 2^53). On a CUDA device the count lives there and the
 * kernel advances it (not in a step that found-inf skips): reading or
 * setting it waits for the steps queued on the group's stream. */
STEPC_RT_API stepc_status stepc_group_set_count(stepc_group *group,
                                                double count);
STEPC_RT_API stepc_status stepc_group_count(const stepc_group *group,
                                            double *count);

/* Threads a step may use (default 1): tensors run in parallel, and the
 * tensors of an element-wise group (AdamW, Lion, SGD) in chunks; threads
 * that no tensor keeps busy share its matrix products' col panels
 * (same bits for any count; see stepc_artifact_parallel_stats). */
STEPC_RT_API stepc_status stepc_group_set_num_threads(stepc_group *group,
                                                      int num_threads);

/* Sets input `name` (an `input(...)` of the spec, e.g. the loss) for the
 * next step only: every step consumes its inputs, and a step whose inputs
 * were not set fails with STEPC_ERR_NOT_BOUND. */
STEPC_RT_API stepc_status stepc_group_set_input(stepc_group *group,
                                                const char *name,
                                                double value);

/* On a CUDA device: hyper or input `name` is read, when each step runs,
 * from the f32 at device address `value` instead of the host value (null
 * goes back to the host value). The caller may change it on the device
 * between steps, e.g. an lr schedule in a captured CUDA graph. An input
 * read from the device needs no stepc_group_set_input before each step.
 * stepc_group_hyper still reports the host value. */
STEPC_RT_API stepc_status stepc_group_set_scalar_device(stepc_group *group,
                                                        const char *name,
                                                        const float *value);

/* On a CUDA device, mixed precision (device addresses of f32 values; null
 * for none): each step divides the gradients by *grad_scale (in f32,
 * rounded back to a 16-bit gradient's dtype: exact for power-of-two scales
 * such as torch.cuda.amp.GradScaler's) without writing them back, and is
 * skipped entirely (no param, state or count changes) while *found_inf is
 * nonzero. Both are read by the kernel when the step runs: no host sync.
 * In stepc_step_groups a skipped group adds nothing to the shared totals. */
STEPC_RT_API stepc_status stepc_group_set_grad_scaling(stepc_group *group,
                                                       const float *grad_scale,
                                                       const float *found_inf);

/* One optimizer step on every bound tensor, in place. The global sums of
 * the spec (step.global_sum) total this group's tensors. */
STEPC_RT_API stepc_status stepc_group_step(stepc_group *group);

/* One optimizer step of several groups together (e.g. a Muon spec's
 * matrices and its AdamW group): each global sum totals the tensors of all
 * of them before any tensor is updated. Everything is checked first; on an
 * error no group has stepped. */
STEPC_RT_API stepc_status stepc_step_groups(stepc_group *const *groups,
                                            size_t num_groups);

/* The total of global sum `key` in the last step (e.g. "grad_sq", whose
 * square root is the global gradient norm). */
STEPC_RT_API stepc_status stepc_group_total(const stepc_group *group,
                                            const char *key, double *value);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STEPC_RT_RUNTIME_H */
