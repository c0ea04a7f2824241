//===- artifact_test.cpp - manifest JSON and the artifact format ----------===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Round trips, then every way a file can be wrong: each must give a status
// naming the file and the problem, never a crash or a huge allocation (run
// it under ASan to see the latter).
//
//===----------------------------------------------------------------------===//

#include "Inputs/Check.h"
#include "Inputs/ManifestBuilders.h"
#include "stepc-rt/Artifact.h"
#include "stepc-rt/ManifestJson.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unistd.h>

using namespace stepc::rt;
using testing::arg;
using testing::hyper;
using testing::state;

namespace {
const char *kOrigin = "x.stepc";

bool sameDouble(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof(double)) == 0;
}

bool sameArgument(const Argument &a, const Argument &b) {
  return a.role == b.role && a.name == b.name && a.layout == b.layout &&
         a.init == b.init && sameDouble(a.initValue, b.initValue) &&
         a.storage == b.storage && a.hasDefault == b.hasDefault &&
         sameDouble(a.defaultValue, b.defaultValue);
}

bool sameManifest(const Manifest &a, const Manifest &b) {
  if (a.optimizer != b.optimizer || a.stepcVersion != b.stepcVersion ||
      a.groups.size() != b.groups.size() || a.hasCuda != b.hasCuda ||
      a.cuda.abi != b.cuda.abi || a.cuda.blockSize != b.cuda.blockSize ||
      a.cuda.vectorWidth != b.cuda.vectorWidth ||
      a.cuda.archs != b.cuda.archs ||
      a.cuda.timelineCapacity != b.cuda.timelineCapacity ||
      a.cuda.timelineSites != b.cuda.timelineSites)
    return false;
  for (size_t g = 0; g < a.groups.size(); ++g) {
    const Group &x = a.groups[g], &y = b.groups[g];
    if (x.name != y.name || x.matrix != y.matrix ||
        x.paramDtypes != y.paramDtypes || x.entry != y.entry ||
        x.kernel != y.kernel || x.kernelPhased != y.kernelPhased ||
        x.kernelScratch != y.kernelScratch || x.kernelWork != y.kernelWork ||
        x.kernelPartials != y.kernelPartials ||
        x.kernelSharedBytes != y.kernelSharedBytes ||
        x.args.size() != y.args.size())
      return false;
    for (size_t i = 0; i < x.args.size(); ++i)
      if (!sameArgument(x.args[i], y.args[i]))
        return false;
  }
  return true;
}




/// Every role, layout and init, doubles that need all 17 digits or have no
/// JSON spelling, and names that need escapes.
Manifest richManifest() {
  Manifest m;
  m.optimizer = "adam\"w\\\n\t\x01 \xc3\xa9 \xf0\x9f\x98\x80";
  m.stepcVersion = runtimeVersion();
  Group matrix;
  matrix.name = "matrices";
  matrix.matrix = true;
  matrix.paramDtypes = {"f32", "bf16", "f16"};
  matrix.entry = "_mlir_stepc_adamw_matrices";
  matrix.kernel = "stepc_adamw_matrices";
  matrix.kernelPhased = true;
  matrix.kernelScratch = "0 4 rows mul cols mul align add";
  matrix.kernelWork = "rows rows mul cols mul 5 mul";
  matrix.kernelPartials = 2;
  matrix.kernelSharedBytes = 81920;
  matrix.args = {
      arg(Role::Param, "w"),
      arg(Role::Grad, "g"),
      state("m", Layout::Full, StateInit::Zeros),
      state("r", Layout::PerRow, StateInit::Ones, 0.0, "bf16"),
      state("c", Layout::PerCol, StateInit::Constant, 0.1),
      state("n", Layout::PerTensor, StateInit::ParamNorm),
      state("l", Layout::LongAxis, StateInit::Constant, -0.0),
      state("big", Layout::Full, StateInit::Constant, DBL_MAX),
      state("tiny", Layout::Full, StateInit::Constant,
            std::numeric_limits<double>::denorm_min()),
      hyper("lr", false),
      hyper("beta1", true, 0.9),
      hyper("eps", true, 1e-8),
      hyper("pi", true, M_PI),
      hyper("min", true, DBL_MIN),
      hyper("clip", true, HUGE_VAL),
      hyper("floor", true, -HUGE_VAL),
      hyper("nan", true, NAN),
      hyper("third", true, 1.0 / 3.0),
      arg(Role::Count, "t"),
  };
  Group flat;
  flat.name = "all";
  flat.matrix = false;
  flat.paramDtypes = {};
  flat.entry = "e";
  flat.args = {arg(Role::Param, "p"), arg(Role::Grad, "q"),
               state("s", Layout::PerTensor, StateInit::Zeros)};
  m.groups = {matrix, flat};
  m.hasCuda = true;
  m.cuda.blockSize = 128;
  m.cuda.vectorWidth = 8;
  m.cuda.archs = {"sm_80", "sm_90a"};
  m.cuda.timelineCapacity = 4096;
  m.cuda.timelineSites = {"muon.mlir:23 matmul 1, symmetric",
                          "a \"quoted\" \\ site"};
  return m;
}

/// A realistic manifest: one group, what the compiler writes for SGD.
Manifest smallManifest(const std::string &version = runtimeVersion()) {
  Manifest m;
  m.optimizer = "sgd";
  m.stepcVersion = version;
  Group group;
  group.name = "all";
  group.paramDtypes = {"f32"};
  group.entry = "sgd_all";
  group.args = {arg(Role::Param, "w"), arg(Role::Grad, "g"),
                state("buf", Layout::Full, StateInit::Zeros),
                hyper("lr", false), hyper("momentum", true, 0.9)};
  m.groups = {group};
  return m;
}

Artifact smallArtifact(const std::string &version = runtimeVersion()) {
  Artifact artifact;
  artifact.stepcVersion = version;
  artifact.manifest = smallManifest(version);
  artifact.sections = {{"cpu.so", "\x7f"
                                  "ELF pretend"},
                       {"empty", ""}};
  return artifact;
}

void putU32(std::string &out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out += char(value >> (8 * i));
}

void putU64(std::string &out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out += char(value >> (8 * i));
}

/// The format built by hand from its description, not by the library.
std::string rawArtifact(uint32_t formatVersion, const std::string &version,
                        const std::string &json,
                        const std::vector<ArtifactSection> &sections) {
  std::string out = "STEPCART";
  putU32(out, formatVersion);
  putU32(out, uint32_t(version.size()));
  out += version;
  putU64(out, json.size());
  out += json;
  putU32(out, uint32_t(sections.size()));
  for (const ArtifactSection &section : sections) {
    putU32(out, uint32_t(section.name.size()));
    out += section.name;
    putU64(out, section.bytes.size());
    out += section.bytes;
  }
  // FNV-1a 64, spelled out again.
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : out) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  putU64(out, hash);
  return out;
}

Status parse(const std::string &bytes) {
  Artifact out;
  return parseArtifact(bytes, kOrigin, out);
}

std::string jsonError(const std::string &text) {
  Manifest m;
  std::string error;
  if (manifestFromJson(text, m, error))
    return "(accepted)";
  return error;
}

#define CHECK_JSON_ERROR(text, expected)                                       \
  do {                                                                         \
    std::string error = jsonError(text);                                       \
    check::that(error.find(expected) != std::string::npos,                     \
                std::string("JSON error for ") + (text) + ": expected \"" +    \
                    (expected) + "\", got \"" + error + "\"",                  \
                __LINE__);                                                     \
  } while (false)

void testJsonRoundTrip() {
  Manifest original = richManifest();
  std::string json = manifestToJson(original);
  Manifest parsed;
  std::string error;
  CHECK(manifestFromJson(json, parsed, error));
  check::that(error.empty(), "no error: " + error, __LINE__);
  CHECK(sameManifest(original, parsed));
  CHECK(manifestToJson(parsed) == json);
  // Every spelling appears.
  for (const char *word : {"\"param\"",
                           "\"kernel\": \"stepc_adamw_matrices\"",
                           "\"cuda\": {\"abi\": 6, \"block_size\": 128",
                           "\"archs\": [\"sm_80\", \"sm_90a\"]",
                           "\"grad\"",
                           "\"state\"",
                           "\"hyper\"",
                           "\"count\"",
                           "\"full\"",
                           "\"per_row\"",
                           "\"per_col\"",
                           "\"per_tensor\"",
                           "\"long_axis\"",
                           "\"zeros\"",
                           "\"ones\"",
                           "\"constant\"",
                           "\"param_norm\"",
                           "\"Infinity\"",
                           "\"-Infinity\"",
                           "\"NaN\"",
                           "\"default\": null",
                           "0.90000000000000002",
                           "-0",
                           "\\u0001"})
    check::that(json.find(word) != std::string::npos,
                std::string("the JSON spells ") + word, __LINE__);

  Manifest empty;
  CHECK(manifestFromJson(manifestToJson(empty), parsed, error));
  CHECK(sameManifest(empty, parsed));

  // Escapes the writer never produces are still read.
  std::string text = manifestToJson(smallManifest());
  size_t at = text.find("\"sgd\"");
  text.replace(at, 5, "\"\\u0073\\/\\b\\f\\r\\ud83d\\ude00\\u00e9\"");
  CHECK(manifestFromJson(text, parsed, error));
  CHECK(parsed.optimizer == "s/\b\f\r\xf0\x9f\x98\x80\xc3\xa9");
  // Whitespace anywhere between tokens.
  CHECK(manifestFromJson(" \t\r\n" + manifestToJson(smallManifest()) + "\n ",
                         parsed, error));
  // A failed read leaves the output alone.
  Manifest kept = smallManifest();
  CHECK(!manifestFromJson("{}", kept, error));
  CHECK(sameManifest(kept, smallManifest()));
}

void testJsonErrors() {
  std::string good = manifestToJson(smallManifest());
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string text = good;
    size_t at = text.find(from);
    if (at == std::string::npos) {
      check::that(false, "test setup: no " + from, __LINE__);
      return text;
    }
    return text.replace(at, from.size(), to);
  };

  // Syntax.
  CHECK_JSON_ERROR("", "line 1, column 1: unexpected end of text");
  CHECK_JSON_ERROR("{", "line 1, column 2: unexpected end of text");
  CHECK_JSON_ERROR("{\"a\": 1,}", "expected a string key");
  CHECK_JSON_ERROR("[1, 2,]", "expected a JSON value");
  CHECK_JSON_ERROR("{\"a\" 1}", "expected ':' after a key");
  CHECK_JSON_ERROR("{\"a\": 1 \"b\": 2}", "expected ',' or '}'");
  CHECK_JSON_ERROR("[1 2]", "expected ',' or ']'");
  CHECK_JSON_ERROR("{'a': 1}", "expected a string key");
  CHECK_JSON_ERROR("// c\n{}", "line 1, column 1: unexpected '/'");
  CHECK_JSON_ERROR("[01]", "expected ',' or ']'");
  CHECK_JSON_ERROR("[1.]", "expected a digit after '.'");
  CHECK_JSON_ERROR("[.5]", "unexpected '.'");
  CHECK_JSON_ERROR("[1e]", "expected a digit in the exponent");
  CHECK_JSON_ERROR("[+1]", "unexpected '+'");
  CHECK_JSON_ERROR("[1e999]", "out of the range of a double");
  CHECK_JSON_ERROR("[NaN]", "unexpected 'N'");
  CHECK_JSON_ERROR("[tru]", "expected a JSON value");
  CHECK_JSON_ERROR("[\"abc]", "unterminated string");
  CHECK_JSON_ERROR("[\"a\nb\"]", "unescaped control character (byte 0x0a)");
  CHECK_JSON_ERROR("[\"\\x\"]", "unknown escape \\x");
  CHECK_JSON_ERROR("[\"\\u12\"]", "four hex digits");
  CHECK_JSON_ERROR("[\"\\ud800\"]", "high surrogate without its low half");
  CHECK_JSON_ERROR("[\"\\ud800\\u0041\"]", "without its low half");
  CHECK_JSON_ERROR("[\"\\udc00\"]", "lone low surrogate");
  CHECK_JSON_ERROR("[\"\\u0000\"]", "\\u0000 is not allowed");
  CHECK_JSON_ERROR("[\"\xff\"]", "malformed UTF-8 (byte 0xff)");
  CHECK_JSON_ERROR("[\"\xc0\xaf\"]", "malformed UTF-8");     // overlong '/'
  CHECK_JSON_ERROR("[\"\xed\xa0\x80\"]", "malformed UTF-8"); // a surrogate
  CHECK_JSON_ERROR("[\"\xe2\x82\"]", "malformed UTF-8");     // cut short
  CHECK_JSON_ERROR("{\"a\": 1, \"a\": 2}", "line 1, column 10: duplicate key");
  CHECK_JSON_ERROR("{} {}", "unexpected '{' after the JSON value");
  CHECK_JSON_ERROR("{}\x01", "byte 0x01 after the JSON value");
  CHECK_JSON_ERROR("{\n  \"a\":\n  @}", "line 3, column 3: unexpected '@'");
  CHECK_JSON_ERROR(std::string(100000, '['), "nesting deeper than 64 levels");
  CHECK_JSON_ERROR(std::string(100000, '{'), "expected a string key");

  // Schema: keys.
  CHECK_JSON_ERROR("[]", "the manifest: expected an object, got an array");
  CHECK_JSON_ERROR("{}", "optimizer: missing key");
  CHECK_JSON_ERROR(replaced("\"optimizer\"", "\"optimiser\""),
                   "optimiser: unknown key in a manifest (its keys are "
                   "optimizer, stepc_version, groups, cuda)");
  // The CUDA launch description.
  auto withCuda = [&](const std::string &cuda) {
    std::string text = good;
    return text.insert(text.rfind('}'), ", \"cuda\": " + cuda);
  };
  const std::string cuda = "{\"abi\": 1, \"block_size\": 256, "
                           "\"vector_width\": 4, \"archs\": [\"sm_80\"]}";
  Manifest parsed;
  std::string error;
  CHECK(manifestFromJson(withCuda(cuda), parsed, error));
  CHECK(parsed.hasCuda && parsed.cuda.archs == std::vector<std::string>{"sm_80"});
  CHECK(!manifestFromJson(good, parsed, error) || !parsed.hasCuda);
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 0, "
                            "\"vector_width\": 4, \"archs\": []}"),
                   "cuda.block_size: expected an integer from 1 to 1024");
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 48, "
                            "\"vector_width\": 4, \"archs\": []}"),
                   "cuda.block_size: expected whole warps (a multiple of 32), "
                   "not 48");
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 256, "
                            "\"vector_width\": 2.5, \"archs\": []}"),
                   "cuda.vector_width: expected an integer from 1 to 16");
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 256, "
                            "\"vector_width\": 4, \"archs\": [\"compute_80\"]}"),
                   "cuda.archs[0]: expected an architecture such as \"sm_80\"");
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 256, "
                            "\"vector_width\": 4}"),
                   "cuda.archs: missing key");
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 256, "
                            "\"vector_width\": 4, \"archs\": [], \"grid\": 1}"),
                   "cuda.grid: unknown key in the CUDA launch description");
  // The phase timeline: a capacity and the sites' names, together.
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 256, "
                            "\"vector_width\": 4, \"archs\": [], "
                            "\"timeline_capacity\": 8}"),
                   "cuda: expected timeline_capacity and timeline_sites "
                   "together");
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 256, "
                            "\"vector_width\": 4, \"archs\": [], "
                            "\"timeline_capacity\": 0, "
                            "\"timeline_sites\": []}"),
                   "cuda.timeline_capacity: expected an integer from 1 to "
                   "1048576");
  CHECK_JSON_ERROR(withCuda("{\"abi\": 1, \"block_size\": 256, "
                            "\"vector_width\": 4, \"archs\": [], "
                            "\"timeline_capacity\": 8, "
                            "\"timeline_sites\": [\"a\", 2]}"),
                   "cuda.timeline_sites[1]: expected the name of a barrier "
                   "call site");
  CHECK_JSON_ERROR(replaced("\"entry\": \"sgd_all\",",
                            "\"entry\": \"sgd_all\", \"kernel\": \"\","),
                   "groups[0].kernel: must not be empty");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",",
               "\"entry\": \"sgd_all\", \"kernel\": \"k\", "
               "\"kernel_scratch\": \"rows mul\", \"kernel_work\": \"1\", "
               "\"kernel_partials\": 1,"),
      "groups[0].kernel_scratch: size program 'rows mul': mul needs two "
      "operands");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",",
               "\"entry\": \"sgd_all\", \"kernel\": \"k\", "
               "\"kernel_scratch\": \"0\", \"kernel_work\": \"rows cols\", "
               "\"kernel_partials\": 1,"),
      "groups[0].kernel_work: size program 'rows cols': leaves 2 values "
      "instead of one");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",",
               "\"entry\": \"sgd_all\", \"kernel\": \"k\", "
               "\"kernel_scratch\": \"0\", \"kernel_partials\": 1,"),
      "kernel_work: missing key");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",",
               "\"entry\": \"sgd_all\", \"kernel\": \"k\", "
               "\"kernel_scratch\": \"0\", \"kernel_work\": \"1\", "
               "\"kernel_partials\": 1.5,"),
      "groups[0].kernel_partials: expected an integer from 0 to 64");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",",
               "\"entry\": \"sgd_all\", \"kernel\": \"k\", "
               "\"kernel_scratch\": \"0\", \"kernel_work\": \"1\", "
               "\"kernel_partials\": 1, \"kernel_shared_bytes\": 1e6,"),
      "groups[0].kernel_shared_bytes: expected an integer from 1 to 232448");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",",
               "\"entry\": \"sgd_all\", \"kernel_scratch\": \"0\", "
               "\"kernel_work\": \"1\", \"kernel_partials\": 0,"),
      "groups[0].kernel_scratch: a phased kernel's scratch without a kernel");
  // A group's slots in its optimizer's kernel, one per param dtype.
  const std::string phased = "\"entry\": \"sgd_all\", \"kernel\": \"k\", "
                             "\"kernel_scratch\": \"0\", "
                             "\"kernel_work\": \"rows\", "
                             "\"kernel_partials\": 0, ";
  CHECK(manifestFromJson(
      replaced("\"entry\": \"sgd_all\",", phased + "\"kernel_slots\": [1], "
                                                   "\"kernel_num_slots\": 2,"),
      parsed, error));
  CHECK(parsed.groups[0].kernelSlots == std::vector<int>{1} &&
        parsed.groups[0].kernelNumSlots == 2 &&
        parsed.groups[0].kernelSlotFor("f32") == 1 &&
        parsed.groups[0].kernelFor("f32") == "k");
  {
    Manifest again;
    CHECK(manifestFromJson(manifestToJson(parsed), again, error));
    CHECK(again.groups[0].kernelSlots == std::vector<int>{1} &&
          again.groups[0].kernelNumSlots == 2);
  }
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",", phased + "\"kernel_slots\": [2], "
                                                   "\"kernel_num_slots\": 2,"),
      "groups[0].kernel_slots[0]: expected a slot from 0 to 1");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",", phased + "\"kernel_slots\": [0, 1], "
                                                   "\"kernel_num_slots\": 2,"),
      "groups[0].kernel_slots: expected one slot per param dtype");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",", phased + "\"kernel_slots\": [0],"),
      "groups[0].kernel_num_slots: missing key");
  CHECK_JSON_ERROR(
      replaced("\"entry\": \"sgd_all\",",
               "\"entry\": \"sgd_all\", \"kernel\": \"k\", "
               "\"kernel_slots\": [0], \"kernel_num_slots\": 1,"),
      "groups[0].kernel_slots: slots of a kernel that is not phased");
  CHECK_JSON_ERROR(replaced("\"layout\": \"full\", ", ""),
                   "groups[0].args[2].layout: missing key");
  CHECK_JSON_ERROR(replaced("\"storage\": \"f32\"", "\"storage\": \"f32\", "
                                                    "\"lyout\": 1"),
                   "groups[0].args[2].lyout: unknown key in a state argument");
  CHECK_JSON_ERROR(replaced("\"name\": \"lr\"", "\"name\": \"lr\", \"init\": "
                                                "\"zeros\""),
                   "groups[0].args[3].init: unknown key in a hyper argument "
                   "(its keys are role, name, default)");
  CHECK_JSON_ERROR(replaced("\"name\": \"w\"", "\"name\": \"w\", \"layout\": "
                                               "\"full\""),
                   "groups[0].args[0].layout: unknown key in a param argument");
  CHECK_JSON_ERROR(replaced("\"role\": \"grad\", ", ""),
                   "groups[0].args[1].role: missing key");
  CHECK_JSON_ERROR(replaced(", \"default\": null", ""),
                   "groups[0].args[3].default: missing key");
  CHECK_JSON_ERROR(replaced("\"entry\": \"sgd_all\",", ""),
                   "groups[0].entry: missing key");
  CHECK_JSON_ERROR(replaced("\"matrix\": false", "\"matrix\": false, \"x\": 1"),
                   "groups[0].x: unknown key in a group");

  // Schema: types and values.
  CHECK_JSON_ERROR(replaced("\"matrix\": false", "\"matrix\": 0"),
                   "groups[0].matrix: expected a boolean, got a number");
  CHECK_JSON_ERROR(replaced("\"optimizer\": \"sgd\"", "\"optimizer\": null"),
                   "optimizer: expected a string, got null");
  CHECK_JSON_ERROR(replaced("[\"f32\"]", "[\"f32\", 3]"),
                   "groups[0].param_dtypes[1]: expected a dtype name");
  CHECK_JSON_ERROR(replaced("\"groups\": [", "\"groups\": [1, "),
                   "groups[0]: expected an object, got a number");
  CHECK_JSON_ERROR(replaced("\"args\": [", "\"args\": [[], "),
                   "groups[0].args[0]: expected an object, got an array");
  CHECK_JSON_ERROR(
      replaced("\"default\": 0.90000000000000002", "\"default\": \"0.9\""),
      "groups[0].args[4].default: expected a number, got the "
      "string \"0.9\"");
  CHECK_JSON_ERROR(
      replaced("\"default\": 0.90000000000000002", "\"default\": true"),
      "groups[0].args[4].default: expected a number, got a "
      "boolean");
  CHECK_JSON_ERROR(replaced("\"role\": \"hyper\"", "\"role\": \"hyperparam\""),
                   "groups[0].args[3].role: unknown role 'hyperparam' "
                   "(expected param, grad, state, hyper, input or count)");
  CHECK_JSON_ERROR(replaced("\"full\"", "\"per_rows\""),
                   "groups[0].args[2].layout: unknown layout 'per_rows' "
                   "(expected full, per_row, per_col, per_tensor, "
                   "long_axis, rows_square or cols_square)");
  CHECK_JSON_ERROR(replaced("\"full\"", "\"per_row\""),
                   "groups[0].args[2].layout: per_row needs a matrix group");
  CHECK_JSON_ERROR(replaced("\"zeros\"", "\"zero\""),
                   "groups[0].args[2].init: unknown init 'zero' (expected "
                   "zeros, ones, constant, param_norm or identity)");
  CHECK_JSON_ERROR(replaced("\"zeros\"", "\"identity\""),
                   "groups[0].args[2].init: identity needs a square layout "
                   "(rows_square or cols_square), this one is full");
  CHECK_JSON_ERROR(replaced("\"full\"", "\"rows_square\""),
                   "groups[0].args[2].layout: rows_square needs a matrix "
                   "group");
  CHECK_JSON_ERROR(replaced("\"zeros\"", "\"constant\""),
                   "groups[0].args[2].init_value: missing key");
  CHECK_JSON_ERROR(replaced("\"zeros\"", "\"zeros\", \"init_value\": 1"),
                   "groups[0].args[2].init_value: only a constant init takes "
                   "a value, this one is zeros");
  CHECK_JSON_ERROR(replaced("\"storage\": \"f32\"", "\"storage\": \"f16\""),
                   "groups[0].args[2].storage: unknown storage 'f16' "
                   "(expected f32 or bf16)");
  CHECK_JSON_ERROR(replaced("\"name\": \"buf\"", "\"name\": \"\""),
                   "groups[0].args[2].name: must not be empty");
  CHECK_JSON_ERROR(replaced("\"name\": \"buf\"", "\"name\": \"lr\""),
                   "groups[0].args[3].name: a second argument named 'lr'");

  // Schema: argument order, which the runner relies on.
  CHECK_JSON_ERROR(replaced("\"role\": \"grad\"", "\"role\": \"param\""),
                   "groups[0].args[1]: a param cannot come here");
  CHECK_JSON_ERROR(replaced("{\"role\": \"hyper\", \"name\": \"lr\", "
                            "\"default\": null}",
                            "{\"role\": \"count\", \"name\": \"t\"}"),
                   "groups[0].args[4]: a hyper cannot come here");
  CHECK_JSON_ERROR(replaced("\"args\": [", "\"args\": [{\"role\": \"grad\", "
                                           "\"name\": \"x\"}, "),
                   "groups[0].args[0]: a grad cannot come here");
  Manifest twoCounts = smallManifest();
  twoCounts.groups[0].args.push_back(arg(Role::Count, "t"));
  twoCounts.groups[0].args.push_back(arg(Role::Count, "u"));
  CHECK_JSON_ERROR(manifestToJson(twoCounts),
                   "groups[0].args[6]: a count cannot come here");
  Manifest onlyParam = smallManifest();
  onlyParam.groups[0].args.resize(1);
  CHECK_JSON_ERROR(manifestToJson(onlyParam),
                   "groups[0].args: a group needs at least a param and a "
                   "grad");
  Manifest twoGroups = smallManifest();
  twoGroups.groups.push_back(twoGroups.groups[0]);
  CHECK_JSON_ERROR(manifestToJson(twoGroups),
                   "groups[1].name: a second group named 'all'");
  // The example path from the format's description.
  Manifest deep = richManifest();
  std::string deepJson = manifestToJson(deep);
  size_t at = deepJson.find("\"layout\": \"full\", ", deepJson.find("\"all\""));
  CHECK(at == std::string::npos); // group 1 has a per_tensor state
  at = deepJson.find("\"layout\": \"per_tensor\", ", deepJson.find("\"all\""));
  CHECK_JSON_ERROR(deepJson.erase(at, 24), "groups[1].args[2].layout: "
                                           "missing key");
}

void testArtifactRoundTrip() {
  Artifact original = smallArtifact();
  std::string binary;
  for (int i = 0; i < 256; ++i)
    binary += char(i);
  original.sections.push_back({"binary", binary});
  std::string bytes = serializeArtifact(original);
  // The library writes exactly the documented layout.
  CHECK(bytes == rawArtifact(1, original.stepcVersion,
                             manifestToJson(original.manifest),
                             original.sections));
  Artifact parsed;
  CHECK_OK(parseArtifact(bytes, kOrigin, parsed));
  CHECK(parsed.stepcVersion == original.stepcVersion);
  CHECK(sameManifest(parsed.manifest, original.manifest));
  CHECK(parsed.sections.size() == 3);
  CHECK(parsed.findSection("binary") &&
        parsed.findSection("binary")->bytes == binary);
  CHECK(parsed.findSection("empty") &&
        parsed.findSection("empty")->bytes.empty());
  CHECK(parsed.findSection("cuda.cubin") == nullptr);
  CHECK(parsed.origin == kOrigin);

  // Through a file.
  char directory[] = "/tmp/stepc-artifact-test-XXXXXX";
  CHECK(::mkdtemp(directory) != nullptr);
  std::string path = std::string(directory) + "/a.stepc";
  CHECK_OK(writeArtifactFile(path, original));
  Artifact fromFile;
  CHECK_OK(readArtifactFile(path, fromFile));
  CHECK(fromFile.origin == path);
  CHECK(serializeArtifact(fromFile) == bytes);
  // Overwriting replaces the file and leaves no temporary behind.
  CHECK_OK(writeArtifactFile(path, smallArtifact()));
  CHECK_OK(readArtifactFile(path, fromFile));
  CHECK(fromFile.sections.size() == 2);
  std::string listing = std::string("ls -A ") + directory;
  FILE *ls = ::popen(listing.c_str(), "r");
  char line[256] = {0};
  std::string names;
  while (ls && std::fgets(line, sizeof(line), ls))
    names += line;
  if (ls)
    ::pclose(ls);
  check::that(names == "a.stepc\n", "only a.stepc is left: " + names, __LINE__);

  // File errors.
  CHECK_STATUS_EXACT(
      readArtifactFile(std::string(directory) + "/no.stepc", fromFile), IoError,
      std::string(directory) +
          "/no.stepc: cannot open: No such file or directory");
  CHECK_STATUS_EXACT(readArtifactFile(directory, fromFile), IoError,
                     std::string(directory) +
                         ": is a directory, not an artifact file");
  CHECK_STATUS(writeArtifactFile(std::string(directory) + "/no/such/dir.stepc",
                                 original),
               IoError, "/no/such/dir.stepc: cannot write: No such file");
  std::string emptyPath = std::string(directory) + "/empty.stepc";
  FILE *empty = std::fopen(emptyPath.c_str(), "w");
  if (empty)
    std::fclose(empty);
  CHECK_STATUS_EXACT(readArtifactFile(emptyPath, fromFile), FormatError,
                     emptyPath + ": not a stepc artifact (the file is empty)");
  ::unlink(emptyPath.c_str());
  ::unlink(path.c_str());
  ::rmdir(directory);
}

void testArtifactErrors() {
  std::string good = serializeArtifact(smallArtifact());
  Artifact out;
  out.stepcVersion = "untouched";

  CHECK_STATUS_EXACT(parse(""), FormatError,
                     "x.stepc: not a stepc artifact (the file is empty)");
  std::string badMagic = good;
  badMagic[3] = 'x';
  CHECK_STATUS_EXACT(parse(badMagic), FormatError,
                     "x.stepc: not a stepc artifact (bad magic)");
  CHECK_STATUS_EXACT(parse("\x7f"
                           "ELF\x02\x01\x01"),
                     FormatError, "x.stepc: not a stepc artifact (bad magic)");
  CHECK_STATUS_EXACT(parse("{\"optimizer\": \"sgd\"}"), FormatError,
                     "x.stepc: not a stepc artifact (bad magic)");

  // Every prefix of a valid artifact is truncated, and says so.
  size_t truncated = 0;
  for (size_t n = 1; n < good.size(); ++n) {
    Status status = parseArtifact(good.substr(0, n), kOrigin, out);
    if (status.code == StatusCode::FormatError &&
        status.message.rfind("x.stepc: truncated: ", 0) == 0)
      ++truncated;
    else
      check::that(
          false, "prefix of " + std::to_string(n) + " bytes: " + status.message,
          __LINE__);
  }
  check::that(truncated == good.size() - 1,
              std::to_string(truncated) + " of " +
                  std::to_string(good.size() - 1) +
                  " prefixes report truncation",
              __LINE__);
  CHECK(out.stepcVersion == "untouched");
  std::string json = manifestToJson(smallManifest());
  size_t jsonStart = 8 + 4 + 4 + std::strlen(runtimeVersion()) + 8;
  CHECK_STATUS_EXACT(parse(good.substr(0, jsonStart + 120)), FormatError,
                     "x.stepc: truncated: the manifest needs " +
                         std::to_string(json.size()) + " bytes but 120 remain");
  CHECK_STATUS_EXACT(parse(good.substr(0, 5)), FormatError,
                     "x.stepc: truncated: the magic needs 8 bytes but 5 "
                     "remain");
  CHECK_STATUS_EXACT(parse(good.substr(0, good.size() - 3)), FormatError,
                     "x.stepc: truncated: the checksum needs 8 bytes but 5 "
                     "remain");
  CHECK_STATUS(parse(good.substr(0, good.size() - 9)), FormatError,
               "x.stepc: truncated: section #1 (empty)'s payload length "
               "needs 8 bytes but 7 remain");

  // Every single-byte corruption fails; nearly all as a checksum mismatch
  // (the others break the structure first: a length, the magic, the format
  // version).
  std::map<StatusCode, size_t> byCode;
  for (unsigned char mask : {0x01, 0x80, 0xff}) {
    for (size_t i = 0; i < good.size(); ++i) {
      std::string corrupt = good;
      corrupt[i] = char(corrupt[i] ^ mask);
      Status status = parseArtifact(corrupt, kOrigin, out);
      ++byCode[status.code];
      if (status.ok() || status.message.rfind("x.stepc: ", 0) != 0)
        check::that(false,
                    "byte " + std::to_string(i) + " ^ " + std::to_string(mask) +
                        ": " + status.message,
                    __LINE__);
    }
  }
  size_t total = 3 * good.size();
  size_t checksum = byCode[StatusCode::ChecksumMismatch];
  std::printf("corruptions: %zu of %zu checksum, %zu format, %zu version\n",
              checksum, total, byCode[StatusCode::FormatError],
              byCode[StatusCode::VersionMismatch]);
  CHECK(byCode[StatusCode::Ok] == 0);
  CHECK(checksum * 10 >= total * 9);
  std::string flipped = good;
  flipped[jsonStart + 10] ^= 0x20;
  CHECK_STATUS_EXACT(parse(flipped), ChecksumMismatch,
                     "x.stepc: checksum mismatch: the file is corrupted");
  flipped = good;
  flipped[good.size() - 1] ^= 1;
  CHECK_STATUS_EXACT(parse(flipped), ChecksumMismatch,
                     "x.stepc: checksum mismatch: the file is corrupted");

  // Bytes after the checksum.
  CHECK_STATUS_EXACT(parse(good + "junk"), ChecksumMismatch,
                     "x.stepc: checksum mismatch: the file is corrupted");
  std::string appended = good + "junk";
  uint64_t hash = fnv1a64(appended.data(), appended.size());
  putU64(appended, hash);
  CHECK_STATUS_EXACT(parse(appended), FormatError,
                     "x.stepc: 12 unexpected bytes after the checksum");

  // Versions, with correct checksums.
  const std::vector<ArtifactSection> sections = {{"cpu.so", "x"}};
  CHECK_STATUS_EXACT(parse(rawArtifact(7, runtimeVersion(), json, sections)),
                     VersionMismatch,
                     "x.stepc: artifact format version 7, but this runtime "
                     "reads version 1");
  CHECK_STATUS_EXACT(parse(rawArtifact(0, runtimeVersion(), json, sections)),
                     VersionMismatch,
                     "x.stepc: artifact format version 0, "
                     "but this runtime reads version 1");
  CHECK_STATUS_EXACT(parse(serializeArtifact(smallArtifact("0.2.0"))),
                     VersionMismatch,
                     std::string("x.stepc: compiled by stepc 0.2.0, but this "
                                 "runtime is stepc ") +
                         runtimeVersion() + "; recompile the spec");
  Artifact disagreeing = smallArtifact();
  disagreeing.manifest.stepcVersion = "0.0.9";
  CHECK_STATUS_EXACT(parse(serializeArtifact(disagreeing)), FormatError,
                     std::string("x.stepc: the manifest says stepc 0.0.9 but "
                                 "the header says stepc ") +
                         runtimeVersion());

  // A well-formed file around a bad manifest.
  CHECK_STATUS_EXACT(
      parse(rawArtifact(1, runtimeVersion(), "{\"optimizer\": ", sections)),
      FormatError,
      "x.stepc: manifest: line 1, column 15: unexpected end of text; "
      "expected a JSON value");
  CHECK_STATUS_EXACT(
      parse(rawArtifact(1, runtimeVersion(),
                        "{\"optimizer\": \"a\", \"stepc_version\": \"" +
                            std::string(runtimeVersion()) +
                            "\", \"groups\": [], \"extra\": 1}",
                        sections)),
      FormatError,
      "x.stepc: manifest: extra: unknown key in a manifest (its keys are "
      "optimizer, stepc_version, groups, cuda)");
  std::string missingLayout = json;
  missingLayout.erase(missingLayout.find("\"layout\": \"full\", "), 18);
  CHECK_STATUS_EXACT(
      parse(rawArtifact(1, runtimeVersion(), missingLayout, sections)),
      FormatError, "x.stepc: manifest: groups[0].args[2].layout: missing key");

  // Sections.
  CHECK_STATUS_EXACT(parse(rawArtifact(1, runtimeVersion(), json,
                                       {{"cpu.so", "a"}, {"cpu.so", "b"}})),
                     FormatError, "x.stepc: two sections are named 'cpu.so'");
  CHECK_STATUS_EXACT(parse(rawArtifact(1, runtimeVersion(), json, {{"", "a"}})),
                     FormatError, "x.stepc: a section has an empty name");

  // Lengths far past the end are refused before anything is allocated.
  std::string hugeCount = "STEPCART";
  putU32(hugeCount, 1);
  putU32(hugeCount, 0);
  putU64(hugeCount, 0);
  putU32(hugeCount, 0xffffffffu);
  putU64(hugeCount, fnv1a64(hugeCount.data(), hugeCount.size()));
  CHECK_STATUS_EXACT(parse(hugeCount), FormatError,
                     "x.stepc: truncated: 4294967295 sections needs "
                     "51539607540 bytes but 8 remain");
  std::string hugeManifest = "STEPCART";
  putU32(hugeManifest, 1);
  putU32(hugeManifest, 0);
  putU64(hugeManifest, ~uint64_t(0));
  CHECK_STATUS_EXACT(parse(hugeManifest), FormatError,
                     "x.stepc: truncated: the manifest needs "
                     "18446744073709551615 bytes but 0 remain");
  std::string hugeVersion = "STEPCART";
  putU32(hugeVersion, 1);
  putU32(hugeVersion, 0xfffffff0u);
  CHECK_STATUS(parse(hugeVersion), FormatError,
               "truncated: the stepc version needs 4294967280 bytes");
  CHECK(out.stepcVersion == "untouched");
}
} // namespace

/// Which CUDA code each device arch loads: the arch-specific cubin (the
/// wgmma form of sm_90a), the cubin of its arch, else the PTX.
void testFindCudaCode() {
  Artifact artifact;
  artifact.sections = {{"cuda.ptx", "ptx"},
                       {"cuda.sm_80.cubin", "80"},
                       {"cuda.sm_90.cubin", "90"},
                       {"cuda.sm_90a.cubin", "90a"}};
  auto loaded = [&](const std::string &arch) {
    std::string source;
    const ArtifactSection *code = artifact.findCudaCode(arch, source);
    return code ? code->bytes + " (" + source + ")" : "none (" + source + ")";
  };
  CHECK(loaded("sm_90") == "90a (sm_90a cubin)");
  CHECK(loaded("sm_80") == "80 (sm_80 cubin)");
  CHECK(loaded("sm_86") == "ptx (PTX JIT-compiled for sm_86)");
  CHECK(loaded("sm_100") == "ptx (PTX JIT-compiled for sm_100)");
  artifact.sections.pop_back();
  CHECK(loaded("sm_90") == "90 (sm_90 cubin)");
  artifact.sections = {{"cuda.sm_90a.cubin", "90a"}};
  CHECK(loaded("sm_90") == "90a (sm_90a cubin)");
  // sm_90a's code runs on sm_90 alone: nothing for another GPU.
  CHECK(loaded("sm_80").substr(0, 4) == "none");
  CHECK(loaded("sm_100").substr(0, 4) == "none");
}

int main() {
  testJsonRoundTrip();
  testJsonErrors();
  testArtifactRoundTrip();
  testArtifactErrors();
  testFindCudaCode();
  return check::summary();
}
