//===- ManifestJson.h - a manifest as JSON text -----------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The manifest travels inside an artifact as JSON so that a person (or
// `jq`) can read it, and so that fields can be added without a new binary
// layout. The reader is strict: a manifest the runtime does not fully
// understand must not be half-applied to tensors.
//
// Shape of the text (keys in this order, enums as their toString spelling):
//
//   {"optimizer": "adamw", "stepc_version": "0.1.0", "groups": [
//     {"name": "all", "matrix": false, "param_dtypes": ["f32"],
//      "entry": "...", "args": [
//        {"role": "param", "name": "w"},
//        {"role": "state", "name": "m", "layout": "full", "init": "zeros",
//         "storage": "f32"},
//        {"role": "state", "name": "s", "layout": "per_row",
//         "init": "constant", "init_value": 0.5, "storage": "bf16"},
//        {"role": "hyper", "name": "lr", "default": null}, ...]}]}
//
// Strings are UTF-8 (the reader rejects malformed sequences and \u0000).
// Only the keys of an argument's role are written ("init_value" only for a
// constant init, "default" is null for a hyper without one); the fields of
// Argument that do not apply read back as their defaults. Numbers are
// written with 17 significant digits so doubles round-trip exactly; the
// non-finite values JSON cannot spell are the strings "NaN", "Infinity" and
// "-Infinity".
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_MANIFESTJSON_H
#define STEPC_RT_MANIFESTJSON_H

#include "stepc-rt/Manifest.h"

#include <string>

namespace stepc::rt {

/// The manifest as JSON text (UTF-8, ending in a newline).
std::string manifestToJson(const Manifest &manifest);

/// Reads JSON text written by manifestToJson. On failure returns false,
/// leaves `out` untouched and sets `error` to one line naming the place: a
/// line and column for bad JSON, a path such as `groups[1].args[3].layout`
/// for a missing, unknown or mistyped key, or the rule a group breaks.
bool manifestFromJson(const std::string &text, Manifest &out,
                      std::string &error);

} // namespace stepc::rt

#endif // STEPC_RT_MANIFESTJSON_H
