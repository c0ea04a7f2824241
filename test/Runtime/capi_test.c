/*===- capi_test.c - the C API from C ------------------------------*- C -*-===*\
|*                                                                            *|
|* Part of stepc, under the Apache License v2.0 with LLVM Exceptions.         *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* Usage: capi_test [ARTIFACT]                                                *|
|*                                                                            *|
|* Without arguments: argument checking (null pointers, missing and foreign   *|
|* files) and the per-thread error message, which need no compiled code.      *|
|* With the artifact capi_e2e_test writes: a whole training loop in C.        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "stepc/runtime.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void expect(int ok, const char *what, int line) {
  if (ok) {
    ++passed;
    return;
  }
  ++failed;
  printf("FAILED (line %d): %s\n", line, what);
}

/* `call` returns `code` and the message contains `text`. */
static void expectStatus(stepc_status status, stepc_status code,
                         const char *text, const char *call, int line) {
  const char *error = stepc_last_error();
  if (status == code && error && strstr(error, text)) {
    ++passed;
    return;
  }
  ++failed;
  printf("FAILED (line %d): %s: expected %d with \"%s\", got %d with \"%s\"\n",
         line, call, (int)code, text, (int)status, error ? error : "(null)");
}

#define CHECK(cond) expect((cond), #cond, __LINE__)
#define CHECK_STATUS(call, code, text)                                         \
  expectStatus((call), (code), (text), #call, __LINE__)
#define CHECK_OK(call) CHECK_STATUS(call, STEPC_OK, "")

static void testNullArguments(void) {
  stepc_artifact *artifact = (stepc_artifact *)&artifact; /* not null */
  stepc_group *group = (stepc_group *)&group;
  size_t n = 7;
  const char *name = "untouched";
  float value = 0.0f, *data = &value;
  double count = 0.0;
  int64_t shape[2];
  size_t rank = 2;

  CHECK(stepc_last_error() != NULL);
  CHECK(strcmp(stepc_runtime_version(), "") != 0);

  CHECK_STATUS(stepc_artifact_load(NULL, &artifact), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_artifact_load: path is null");
  CHECK(artifact == NULL);
  CHECK_STATUS(stepc_artifact_load("x.stepc", NULL),
               STEPC_ERR_INVALID_ARGUMENT, "stepc_artifact_load: out is null");
  CHECK_STATUS(stepc_artifact_num_groups(NULL, &n), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_artifact_num_groups: artifact is null");
  CHECK(n == 7);
  CHECK_STATUS(stepc_artifact_group_name(NULL, 0, &name),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_artifact_group_name: artifact is null");
  CHECK(strcmp(name, "untouched") == 0);

  stepc_scratch_stats scratch;
  CHECK_STATUS(stepc_artifact_scratch_stats(NULL, &scratch),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_artifact_scratch_stats: artifact is null");
  CHECK_STATUS(stepc_artifact_scratch_stats((stepc_artifact *)&scratch, NULL),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_artifact_scratch_stats: out is null");
  CHECK_STATUS(stepc_artifact_trim_scratch(NULL), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_artifact_trim_scratch: artifact is null");
  stepc_parallel_stats parallel;
  CHECK_STATUS(stepc_artifact_parallel_stats(NULL, &parallel),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_artifact_parallel_stats: artifact is null");
  CHECK_STATUS(stepc_artifact_parallel_stats((stepc_artifact *)&parallel, NULL),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_artifact_parallel_stats: out is null");
  CHECK_STATUS(stepc_group_create(NULL, "all", &group),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_create: artifact is null");
  CHECK(group == NULL);
  CHECK_STATUS(stepc_group_create(NULL, "all", NULL),
               STEPC_ERR_INVALID_ARGUMENT, "stepc_group_create: out is null");
  CHECK_STATUS(stepc_group_num_states(NULL, &n), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_num_states: group is null");
  CHECK_STATUS(stepc_group_state_name(NULL, 0, &name),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_state_name: group is null");
  CHECK_STATUS(stepc_group_num_hypers(NULL, &n), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_num_hypers: group is null");
  CHECK_STATUS(stepc_group_hyper_name(NULL, 0, &name),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_hyper_name: group is null");
  int flag = 0;
  CHECK_STATUS(stepc_group_accepts_matrices(NULL, &flag),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_accepts_matrices: group is null");
  CHECK_STATUS(stepc_group_num_inputs(NULL, &n), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_num_inputs: group is null");
  CHECK_STATUS(stepc_group_input_name(NULL, 0, &name),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_input_name: group is null");
  CHECK_STATUS(stepc_group_num_sums(NULL, &n), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_num_sums: group is null");
  CHECK_STATUS(stepc_group_sum_name(NULL, 0, &name),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_sum_name: group is null");
  CHECK_STATUS(stepc_group_bind(NULL, 1, &data, &data, NULL, &rank),
               STEPC_ERR_INVALID_ARGUMENT, "stepc_group_bind: group is null");
  CHECK_STATUS(stepc_group_set_grad(NULL, 0, data), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_set_grad: group is null");
  CHECK_STATUS(stepc_group_init_state(NULL), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_init_state: group is null");
  CHECK_STATUS(stepc_group_set_input(NULL, "loss", 1.0),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_set_input: group is null");
  CHECK_STATUS(stepc_group_total(NULL, "grad_sq", &count),
               STEPC_ERR_INVALID_ARGUMENT, "stepc_group_total: group is null");
  CHECK_STATUS(stepc_step_groups(NULL, 1), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_step_groups: groups is null");
  {
    stepc_group *none[2] = {NULL, NULL};
    CHECK_STATUS(stepc_step_groups(none, 0), STEPC_ERR_INVALID_ARGUMENT,
                 "stepc_step_groups: no groups to step");
    CHECK_STATUS(stepc_step_groups(none, 2), STEPC_ERR_INVALID_ARGUMENT,
                 "stepc_step_groups: groups[0] is null");
  }
  CHECK_STATUS(stepc_group_adopt_state(NULL, 0, "m", data, 1),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_adopt_state: group is null");
  CHECK_STATUS(stepc_group_state_shape(NULL, 0, "m", shape, &rank),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_state_shape: group is null");
  CHECK_STATUS(stepc_group_state_data(NULL, 0, "m", &data),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_state_data: group is null");
  CHECK_STATUS(stepc_group_state_dtype(NULL, "m", &name),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_state_dtype: group is null");
  CHECK_STATUS(stepc_group_read_state(NULL, 0, "m", data, 1),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_read_state: group is null");
  CHECK_STATUS(stepc_group_write_state(NULL, 0, "m", data, 1),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_write_state: group is null");
  CHECK_STATUS(stepc_group_set_hyper(NULL, "lr", 0.1),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_set_hyper: group is null");
  CHECK_STATUS(stepc_group_set_count(NULL, 1.0), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_set_count: group is null");
  CHECK_STATUS(stepc_group_count(NULL, &count), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_count: group is null");
  CHECK_STATUS(stepc_group_step(NULL), STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_step: group is null");

  /* Freeing null is a no-op, as with free(). */
  stepc_artifact_free(NULL);
  stepc_group_free(NULL);
}

static void testFiles(const char *self) {
  stepc_artifact *artifact = NULL;
  CHECK_STATUS(stepc_artifact_load("/nonexistent/dir/model.stepc", &artifact),
               STEPC_ERR_IO,
               "/nonexistent/dir/model.stepc: cannot open: No such file or "
               "directory");
  CHECK(artifact == NULL);
  CHECK_STATUS(stepc_artifact_load("/", &artifact), STEPC_ERR_IO,
               "/: is a directory, not an artifact file");
  /* This test's own executable is a file, but not an artifact. */
  CHECK_STATUS(stepc_artifact_load(self, &artifact), STEPC_ERR_FORMAT,
               "not a stepc artifact (bad magic)");
  CHECK(strncmp(stepc_last_error(), self, strlen(self)) == 0);
  CHECK(artifact == NULL);
  CHECK_STATUS(stepc_artifact_load("/dev/null", &artifact), STEPC_ERR_FORMAT,
               "/dev/null: not a stepc artifact (the file is empty)");
}

static void *failInThread(void *message) {
  stepc_status status = stepc_group_step(NULL);
  *(int *)message = status == STEPC_ERR_INVALID_ARGUMENT &&
                    strcmp(stepc_last_error(),
                           "stepc_group_step: group is null") == 0;
  return NULL;
}

static void testThreadLocalError(void) {
  pthread_t thread;
  int ok = 0;
  stepc_artifact *artifact = NULL;
  stepc_artifact_load(NULL, &artifact);
  CHECK(pthread_create(&thread, NULL, failInThread, &ok) == 0);
  pthread_join(thread, NULL);
  CHECK(ok);
  /* The other thread's failure did not touch this thread's message. */
  CHECK(strcmp(stepc_last_error(), "stepc_artifact_load: path is null") == 0);
}

/* The training loop of runtime/README.md, on capi_e2e_test's artifact:
 * group "all" is SGD with momentum (buf = momentum * buf + g;
 * w -= lr * buf), plus count / 1000 added to w[0]. */
static void testTraining(const char *path) {
  stepc_artifact *artifact = NULL;
  stepc_group *group = NULL;
  float w[6] = {1, 2, 3, 4, 5, 6}, g[6] = {1, 1, 1, 1, 1, 1};
  float momentum[6]; /* the trainer owns the state, to checkpoint it */
  float *params[1] = {w}, *grads[1] = {g};
  int64_t shape[2] = {2, 3}, stateShape[2];
  const int64_t *shapes[1] = {shape};
  size_t ranks[1] = {2}, numGroups = 0, rank = 2;
  const char *name = NULL;
  double count = 0.0;
  float *data = NULL;
  int step;

  CHECK_OK(stepc_artifact_load(path, &artifact));
  if (!artifact)
    return;
  CHECK(strcmp(stepc_last_error(), "") == 0);
  CHECK_OK(stepc_artifact_num_groups(artifact, &numGroups));
  CHECK(numGroups == 3);
  CHECK_STATUS(stepc_artifact_group_name(artifact, 99, &name),
               STEPC_ERR_INVALID_ARGUMENT, "index 99 is out of range");
  CHECK_STATUS(stepc_group_create(artifact, NULL, &group),
               STEPC_ERR_INVALID_ARGUMENT, "stepc_group_create: name is null");
  CHECK_OK(stepc_group_create(artifact, "all", &group));
  if (!group) {
    stepc_artifact_free(artifact);
    return;
  }
  CHECK_STATUS(stepc_group_state_name(group, 99, &name),
               STEPC_ERR_INVALID_ARGUMENT, "index 99 is out of range");
  CHECK_STATUS(stepc_group_bind(group, 1, NULL, grads, shapes, ranks),
               STEPC_ERR_INVALID_ARGUMENT, "stepc_group_bind: params is null");
  CHECK_STATUS(stepc_group_bind(group, 1, params, grads, NULL, ranks),
               STEPC_ERR_INVALID_ARGUMENT, "stepc_group_bind: shapes is null");
  params[0] = NULL;
  CHECK_STATUS(stepc_group_bind(group, 1, params, grads, shapes, ranks),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_bind: params[0] is null");
  params[0] = w;
  CHECK_OK(stepc_group_bind(group, 1, params, grads, shapes, ranks));
  CHECK_STATUS(stepc_group_set_grad(group, 99, g), STEPC_ERR_INVALID_ARGUMENT,
               "index 99 is out of range");
  CHECK_STATUS(stepc_group_set_grad(group, 0, NULL),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_set_grad: grad is null");
  CHECK_STATUS(stepc_group_adopt_state(group, 0, "buf", NULL, 6),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_adopt_state: data is null");
  CHECK_STATUS(stepc_group_adopt_state(group, 0, NULL, momentum, 6),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_adopt_state: state_name is null");
  CHECK_STATUS(stepc_group_state_shape(group, 0, "buf", stateShape, NULL),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_state_shape: rank is null");
  CHECK_STATUS(stepc_group_state_data(group, 5, "buf", &data),
               STEPC_ERR_INVALID_ARGUMENT, "no tensor #5 is bound");
  CHECK_STATUS(stepc_group_set_hyper(group, NULL, 1.0),
               STEPC_ERR_INVALID_ARGUMENT,
               "stepc_group_set_hyper: name is null");

  CHECK_OK(stepc_group_adopt_state(group, 0, "buf", momentum, 6));
  CHECK_OK(stepc_group_init_state(group)); /* zeros, in our buffer */
  CHECK(momentum[0] == 0.0f && momentum[5] == 0.0f);
  CHECK_OK(stepc_group_state_shape(group, 0, "buf", stateShape, &rank));
  CHECK(rank == 2 && stateShape[0] == 2 && stateShape[1] == 3);
  CHECK_OK(stepc_group_set_hyper(group, "lr", 0.5));
  for (step = 0; step < 2; ++step)
    CHECK_OK(stepc_group_step(group));
  /* buf: 1 then 1.5 (momentum defaults to 0.5); w: -0.5 then -0.75. */
  CHECK(momentum[3] == 1.5f && w[3] == 4.0f - 0.5f - 0.75f);
  CHECK(fabsf(w[0] - (1.0f - 1.25f + 0.001f + 0.002f)) < 1e-6f);
  CHECK_OK(stepc_group_count(group, &count));
  CHECK(count == 2.0);
  CHECK_OK(stepc_group_state_data(group, 0, "buf", &data));
  CHECK(data == momentum);
  CHECK_OK(stepc_group_state_dtype(group, "buf", &name));
  CHECK(strcmp(name, "f32") == 0);
  CHECK_STATUS(stepc_group_state_dtype(group, "nope", &name),
               STEPC_ERR_INVALID_ARGUMENT, "has no state 'nope'");
  {
    float copy[6] = {0};
    CHECK_OK(stepc_group_read_state(group, 0, "buf", copy, 6));
    CHECK(copy[3] == 1.5f && copy[0] == momentum[0]);
    CHECK_STATUS(stepc_group_read_state(group, 0, "buf", copy, 5),
                 STEPC_ERR_SHAPE_MISMATCH, "holds 6 values but the buffer has 5");
    CHECK_STATUS(stepc_group_write_state(group, 0, "buf", NULL, 6),
                 STEPC_ERR_INVALID_ARGUMENT,
                 "stepc_group_write_state: values is null");
    copy[3] = 7.0f;
    CHECK_OK(stepc_group_write_state(group, 0, "buf", copy, 6));
    CHECK(momentum[3] == 7.0f);
  }

  stepc_group_free(group);
  stepc_artifact_free(artifact);
}

int main(int argc, char **argv) {
  testNullArguments();
  testFiles(argv[0]);
  testThreadLocalError();
  if (argc > 1)
    testTraining(argv[1]);
  printf("%d checks passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
