//===- ManifestJson.cpp - a manifest as JSON text --------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A small strict JSON reader (RFC 8259, no extensions) and the manifest
// schema on top of it. The runtime has no JSON dependency on purpose: it is
// linked into trainers, and a manifest is a few kilobytes.
//
//===----------------------------------------------------------------------===//

#include "stepc-rt/ManifestJson.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <set>
#include <utility>

using namespace stepc::rt;

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

namespace {
void writeString(std::string &os, const std::string &text) {
  os += '"';
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    switch (c) {
    case '"':
      os += "\\\"";
      break;
    case '\\':
      os += "\\\\";
      break;
    case '\n':
      os += "\\n";
      break;
    case '\t':
      os += "\\t";
      break;
    case '\r':
      os += "\\r";
      break;
    default:
      if (byte < 0x20) {
        char escape[8];
        std::snprintf(escape, sizeof(escape), "\\u%04x", byte);
        os += escape;
      } else {
        os += c;
      }
    }
  }
  os += '"';
}

void writeNumber(std::string &os, double value) {
  if (std::isnan(value)) {
    os += "\"NaN\"";
    return;
  }
  if (std::isinf(value)) {
    os += value < 0 ? "\"-Infinity\"" : "\"Infinity\"";
    return;
  }
  // %.17g round-trips every double; to_chars spells it the same way but
  // ignores the process locale, which a trainer may have set to one with a
  // decimal comma.
  char buffer[64];
  std::to_chars_result result = std::to_chars(
      buffer, buffer + sizeof(buffer), value, std::chars_format::general, 17);
  os.append(buffer, result.ptr);
}

void writeKey(std::string &os, const char *key) {
  os += '"';
  os += key;
  os += "\": ";
}

void writeStrings(std::string &os, const std::vector<std::string> &strings) {
  os += "[";
  for (size_t i = 0; i < strings.size(); ++i) {
    os += i ? ", " : "";
    writeString(os, strings[i]);
  }
  os += "]";
}

void writeArgument(std::string &os, const Argument &arg) {
  os += "{";
  writeKey(os, "role");
  writeString(os, toString(arg.role));
  os += ", ";
  writeKey(os, "name");
  writeString(os, arg.name);
  if (arg.role == Role::State) {
    os += ", ";
    writeKey(os, "layout");
    writeString(os, toString(arg.layout));
    os += ", ";
    writeKey(os, "init");
    writeString(os, toString(arg.init));
    if (arg.init == StateInit::Constant) {
      os += ", ";
      writeKey(os, "init_value");
      writeNumber(os, arg.initValue);
    }
    os += ", ";
    writeKey(os, "storage");
    writeString(os, arg.storage);
  } else if (arg.role == Role::Hyper) {
    os += ", ";
    writeKey(os, "default");
    if (arg.hasDefault)
      writeNumber(os, arg.defaultValue);
    else
      os += "null";
  }
  os += "}";
}
} // namespace

std::string stepc::rt::manifestToJson(const Manifest &manifest) {
  std::string os = "{\n  ";
  writeKey(os, "optimizer");
  writeString(os, manifest.optimizer);
  os += ",\n  ";
  writeKey(os, "stepc_version");
  writeString(os, manifest.stepcVersion);
  os += ",\n  ";
  writeKey(os, "groups");
  os += "[";
  for (size_t g = 0; g < manifest.groups.size(); ++g) {
    const Group &group = manifest.groups[g];
    os += g ? ",\n    {\n      " : "\n    {\n      ";
    writeKey(os, "name");
    writeString(os, group.name);
    os += ",\n      ";
    writeKey(os, "matrix");
    os += group.matrix ? "true" : "false";
    os += ",\n      ";
    writeKey(os, "elementwise");
    os += group.elementwise ? "true" : "false";
    os += ",\n      ";
    writeKey(os, "param_dtypes");
    writeStrings(os, group.paramDtypes);
    os += ",\n      ";
    writeKey(os, "entry");
    writeString(os, group.entry);
    os += ",\n      ";
    if (!group.kernel.empty()) {
      writeKey(os, "kernel");
      writeString(os, group.kernel);
      os += ",\n      ";
      if (group.kernelPhased) {
        writeKey(os, "kernel_scratch");
        writeString(os, group.kernelScratch);
        os += ",\n      ";
        writeKey(os, "kernel_work");
        writeString(os, group.kernelWork);
        os += ",\n      ";
        writeKey(os, "kernel_partials");
        os += std::to_string(group.kernelPartials);
        os += ",\n      ";
        writeKey(os, "kernel_batches");
        os += group.kernelBatches ? "true" : "false";
        os += ",\n      ";
        if (group.kernelSharedBytes) {
          writeKey(os, "kernel_shared_bytes");
          os += std::to_string(group.kernelSharedBytes);
          os += ",\n      ";
        }
      }
      if (!group.kernelSlots.empty()) {
        writeKey(os, "kernel_slots");
        os += "[";
        for (size_t d = 0; d < group.kernelSlots.size(); ++d)
          os += (d ? ", " : "") + std::to_string(group.kernelSlots[d]);
        os += "],\n      ";
        writeKey(os, "kernel_num_slots");
        os += std::to_string(group.kernelNumSlots);
        os += ",\n      ";
      }
    }
    if (!group.sumPhases.empty()) {
      writeKey(os, "sum_phases");
      os += "[";
      for (size_t p = 0; p < group.sumPhases.size(); ++p) {
        os += p ? ", {" : "{";
        writeKey(os, "entry");
        writeString(os, group.sumPhases[p].entry);
        os += ", ";
        writeKey(os, "keys");
        os += "[";
        for (size_t k = 0; k < group.sumPhases[p].keys.size(); ++k) {
          os += k ? ", " : "";
          writeString(os, group.sumPhases[p].keys[k]);
        }
        os += "]}";
      }
      os += "],\n      ";
    }
    writeKey(os, "args");
    os += "[";
    for (size_t a = 0; a < group.args.size(); ++a) {
      os += a ? ",\n        " : "\n        ";
      writeArgument(os, group.args[a]);
    }
    os += group.args.empty() ? "]" : "\n      ]";
    os += "\n    }";
  }
  os += manifest.groups.empty() ? "]" : "\n  ]";
  if (manifest.hasCuda) {
    const CudaLaunch &cuda = manifest.cuda;
    os += ",\n  ";
    writeKey(os, "cuda");
    os += "{";
    writeKey(os, "abi");
    writeNumber(os, cuda.abi);
    os += ", ";
    writeKey(os, "block_size");
    writeNumber(os, cuda.blockSize);
    os += ", ";
    writeKey(os, "vector_width");
    writeNumber(os, cuda.vectorWidth);
    os += ", ";
    writeKey(os, "archs");
    writeStrings(os, cuda.archs);
    if (cuda.timelineCapacity) {
      os += ", ";
      writeKey(os, "timeline_capacity");
      writeNumber(os, cuda.timelineCapacity);
      os += ", ";
      writeKey(os, "timeline_sites");
      writeStrings(os, cuda.timelineSites);
    }
    os += "}";
  }
  os += "\n}\n";
  return os;
}

//===----------------------------------------------------------------------===//
// The JSON reader
//===----------------------------------------------------------------------===//

namespace {
struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<JsonValue> elements;
  /// In the order written; keys are unique.
  std::vector<std::pair<std::string, JsonValue>> members;
};

const char *describe(JsonValue::Kind kind) {
  switch (kind) {
  case JsonValue::Kind::Null:
    return "null";
  case JsonValue::Kind::Bool:
    return "a boolean";
  case JsonValue::Kind::Number:
    return "a number";
  case JsonValue::Kind::String:
    return "a string";
  case JsonValue::Kind::Array:
    return "an array";
  case JsonValue::Kind::Object:
    return "an object";
  }
  return "?";
}

/// Recursive descent over the whole text; the first error stops it.
class JsonParser {
public:
  explicit JsonParser(const std::string &text) : text_(text) {}

  bool parse(JsonValue &out, std::string &error) {
    skipSpace();
    bool ok = parseValue(out, 0);
    if (ok) {
      skipSpace();
      if (!atEnd())
        ok = fail("unexpected " + here() + " after the JSON value");
    }
    if (!ok)
      error = error_;
    return ok;
  }

private:
  /// Nesting deeper than a manifest ever needs is refused instead of
  /// recursing until the stack runs out.
  static constexpr int kMaxDepth = 64;

  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  /// The character at the cursor, for messages.
  std::string here() const {
    if (atEnd())
      return "end of text";
    unsigned char c = static_cast<unsigned char>(peek());
    if (c < 0x20 || c >= 0x7f) {
      char buffer[16];
      std::snprintf(buffer, sizeof(buffer), "byte 0x%02x", c);
      return buffer;
    }
    return std::string("'") + char(c) + "'";
  }

  bool fail(const std::string &message) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    error_ = "line " + std::to_string(line) + ", column " +
             std::to_string(column) + ": " + message;
    return false;
  }

  void skipSpace() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' ||
                        peek() == '\r'))
      ++pos_;
  }

  bool parseLiteral(const char *word) {
    size_t length = std::char_traits<char>::length(word);
    if (text_.compare(pos_, length, word) != 0)
      return fail("unexpected " + here() + "; expected a JSON value");
    pos_ += length;
    return true;
  }

  bool parseValue(JsonValue &out, int depth) {
    if (atEnd())
      return fail("unexpected end of text; expected a JSON value");
    switch (peek()) {
    case '{':
      return parseObject(out, depth);
    case '[':
      return parseArray(out, depth);
    case '"':
      out.kind = JsonValue::Kind::String;
      return parseString(out.string);
    case 't':
      out.kind = JsonValue::Kind::Bool;
      out.boolean = true;
      return parseLiteral("true");
    case 'f':
      out.kind = JsonValue::Kind::Bool;
      out.boolean = false;
      return parseLiteral("false");
    case 'n':
      out.kind = JsonValue::Kind::Null;
      return parseLiteral("null");
    default:
      if (peek() == '-' || (peek() >= '0' && peek() <= '9')) {
        out.kind = JsonValue::Kind::Number;
        return parseNumber(out.number);
      }
      return fail("unexpected " + here() + "; expected a JSON value");
    }
  }

  bool parseObject(JsonValue &out, int depth) {
    if (depth >= kMaxDepth)
      return fail("nesting deeper than " + std::to_string(kMaxDepth) +
                  " levels");
    out.kind = JsonValue::Kind::Object;
    ++pos_;
    skipSpace();
    if (!atEnd() && peek() == '}') {
      ++pos_;
      return true;
    }
    std::set<std::string> keys;
    while (true) {
      skipSpace();
      if (atEnd() || peek() != '"')
        return fail("unexpected " + here() + "; expected a string key");
      size_t keyStart = pos_;
      std::string key;
      if (!parseString(key))
        return false;
      if (!keys.insert(key).second) {
        pos_ = keyStart;
        return fail("duplicate key \"" + key + "\"");
      }
      skipSpace();
      if (atEnd() || peek() != ':')
        return fail("unexpected " + here() + "; expected ':' after a key");
      ++pos_;
      skipSpace();
      out.members.emplace_back(std::move(key), JsonValue());
      if (!parseValue(out.members.back().second, depth + 1))
        return false;
      skipSpace();
      if (!atEnd() && peek() == ',') {
        ++pos_;
        continue;
      }
      if (!atEnd() && peek() == '}') {
        ++pos_;
        return true;
      }
      return fail("unexpected " + here() + "; expected ',' or '}'");
    }
  }

  bool parseArray(JsonValue &out, int depth) {
    if (depth >= kMaxDepth)
      return fail("nesting deeper than " + std::to_string(kMaxDepth) +
                  " levels");
    out.kind = JsonValue::Kind::Array;
    ++pos_;
    skipSpace();
    if (!atEnd() && peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      skipSpace();
      out.elements.emplace_back();
      if (!parseValue(out.elements.back(), depth + 1))
        return false;
      skipSpace();
      if (!atEnd() && peek() == ',') {
        ++pos_;
        continue;
      }
      if (!atEnd() && peek() == ']') {
        ++pos_;
        return true;
      }
      return fail("unexpected " + here() + "; expected ',' or ']'");
    }
  }

  bool parseHex4(unsigned &out) {
    out = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      if (atEnd())
        return fail("unexpected end of text in a \\u escape");
      char c = peek();
      unsigned digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return fail("unexpected " + here() +
                    "; a \\u escape takes four hex digits");
      out = out * 16 + digit;
    }
    return true;
  }

  static void appendUtf8(std::string &out, unsigned code) {
    if (code < 0x80) {
      out += char(code);
    } else if (code < 0x800) {
      out += char(0xc0 | (code >> 6));
      out += char(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += char(0xe0 | (code >> 12));
      out += char(0x80 | ((code >> 6) & 0x3f));
      out += char(0x80 | (code & 0x3f));
    } else {
      out += char(0xf0 | (code >> 18));
      out += char(0x80 | ((code >> 12) & 0x3f));
      out += char(0x80 | ((code >> 6) & 0x3f));
      out += char(0x80 | (code & 0x3f));
    }
  }

  /// Length of the well-formed UTF-8 sequence at the cursor, or 0. Overlong
  /// forms, surrogates and code points past U+10FFFF are malformed.
  size_t utf8Length() const {
    auto byte = [&](size_t i) -> unsigned {
      return pos_ + i < text_.size()
                 ? static_cast<unsigned char>(text_[pos_ + i])
                 : 0;
    };
    auto continuation = [&](size_t i) { return (byte(i) & 0xc0) == 0x80; };
    unsigned lead = byte(0);
    if (lead >= 0xc2 && lead <= 0xdf)
      return continuation(1) ? 2 : 0;
    if (lead >= 0xe0 && lead <= 0xef) {
      unsigned second = byte(1);
      if ((lead == 0xe0 && second < 0xa0) || (lead == 0xed && second >= 0xa0))
        return 0;
      return continuation(1) && continuation(2) ? 3 : 0;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
      unsigned second = byte(1);
      if ((lead == 0xf0 && second < 0x90) || (lead == 0xf4 && second >= 0x90))
        return 0;
      return continuation(1) && continuation(2) && continuation(3) ? 4 : 0;
    }
    return 0;
  }

  bool parseString(std::string &out) {
    ++pos_; // the opening quote
    while (true) {
      if (atEnd())
        return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20)
        return fail("unescaped control character (" + here() + ") in a string");
      if (c >= 0x80) {
        size_t length = utf8Length();
        if (!length)
          return fail("malformed UTF-8 (" + here() + ") in a string");
        out.append(text_, pos_, length);
        pos_ += length;
        continue;
      }
      if (c != '\\') {
        out += char(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (atEnd())
        return fail("unterminated string");
      char escape = peek();
      ++pos_;
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned code;
        if (!parseHex4(code))
          return false;
        if (code >= 0xdc00 && code <= 0xdfff)
          return fail("\\u escape of a lone low surrogate");
        if (code >= 0xd800 && code <= 0xdbff) {
          if (text_.compare(pos_, 2, "\\u") != 0)
            return fail("\\u escape of a high surrogate without its low half");
          pos_ += 2;
          unsigned low;
          if (!parseHex4(low))
            return false;
          if (low < 0xdc00 || low > 0xdfff)
            return fail("\\u escape of a high surrogate without its low half");
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        }
        // Names end up as C strings; an embedded NUL would cut them short.
        if (code == 0)
          return fail("\\u0000 is not allowed in a string");
        appendUtf8(out, code);
        break;
      }
      default:
        --pos_;
        return fail("unknown escape \\" + std::string(1, escape) +
                    " in a string");
      }
    }
  }

  bool parseNumber(double &out) {
    size_t start = pos_;
    auto digits = [&] {
      size_t first = pos_;
      while (!atEnd() && peek() >= '0' && peek() <= '9')
        ++pos_;
      return pos_ - first;
    };
    if (peek() == '-')
      ++pos_;
    if (!atEnd() && peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return fail("unexpected " + here() + " in a number");
    }
    if (!atEnd() && peek() == '.') {
      ++pos_;
      if (!digits())
        return fail("unexpected " + here() +
                    " in a number; expected a digit after '.'");
    }
    if (!atEnd() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!atEnd() && (peek() == '+' || peek() == '-'))
        ++pos_;
      if (!digits())
        return fail("unexpected " + here() +
                    " in a number; expected a digit in the exponent");
    }
    // Leading zeros such as 01 end the number at 0 and fail on the next
    // token, as the grammar says.
    const char *first = text_.data() + start;
    const char *last = text_.data() + pos_;
    std::from_chars_result result = std::from_chars(first, last, out);
    if (result.ec == std::errc::result_out_of_range) {
      pos_ = start;
      return fail("number " + std::string(first, last) +
                  " is out of the range of a double");
    }
    if (result.ec != std::errc() || result.ptr != last) {
      pos_ = start;
      return fail("malformed number " + std::string(first, last));
    }
    return true;
  }

  const std::string &text_;
  size_t pos_ = 0;
  std::string error_;
};
} // namespace

//===----------------------------------------------------------------------===//
// The manifest schema
//===----------------------------------------------------------------------===//

namespace {
std::string join(const std::string &path, const char *key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

std::string indexed(const std::string &path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string listKeys(std::initializer_list<const char *> keys) {
  std::string list;
  for (const char *key : keys)
    list += (list.empty() ? "" : ", ") + std::string(key);
  return list;
}

/// Reads one JSON object at `path`: every key must be in `allowed`, and the
/// typed getters name the missing or mistyped key by its full path.
class ObjectReader {
public:
  ObjectReader(const JsonValue &value, std::string path, std::string &error)
      : value_(value), path_(std::move(path)), error_(error) {}

  /// False unless the value is an object whose keys are all in `allowed`;
  /// `what` names the object in the message ("a hyper argument").
  bool check(std::initializer_list<const char *> allowed, const char *what) {
    if (value_.kind != JsonValue::Kind::Object)
      return fail(path_.empty() ? "the manifest" : path_,
                  std::string("expected an object, got ") +
                      describe(value_.kind));
    for (const auto &member : value_.members) {
      bool known = false;
      for (const char *key : allowed)
        known = known || member.first == key;
      if (!known)
        return fail(join(path_, member.first.c_str()),
                    std::string("unknown key in ") + what + " (its keys are " +
                        listKeys(allowed) + ")");
    }
    return true;
  }

  bool has(const char *key) const { return find(key) != nullptr; }

  /// The value of `key`, or null after recording that it is missing.
  const JsonValue *get(const char *key) {
    const JsonValue *value = find(key);
    if (!value)
      fail(join(path_, key), "missing key");
    return value;
  }

  bool getString(const char *key, std::string &out) {
    const JsonValue *value = get(key);
    if (!value || !expect(key, *value, JsonValue::Kind::String))
      return false;
    out = value->string;
    return true;
  }

  /// A string that must not be empty: names and symbols.
  bool getName(const char *key, std::string &out) {
    if (!getString(key, out))
      return false;
    if (out.empty())
      return fail(join(path_, key), "must not be empty");
    return true;
  }

  bool getBool(const char *key, bool &out) {
    const JsonValue *value = get(key);
    if (!value || !expect(key, *value, JsonValue::Kind::Bool))
      return false;
    out = value->boolean;
    return true;
  }

  /// A number, or one of the strings that spell a non-finite double.
  bool getNumber(const char *key, double &out) {
    const JsonValue *value = get(key);
    if (!value)
      return false;
    return numberFrom(key, *value, out);
  }

  bool numberFrom(const char *key, const JsonValue &value, double &out) {
    if (value.kind == JsonValue::Kind::Number) {
      out = value.number;
      return true;
    }
    if (value.kind == JsonValue::Kind::String) {
      if (value.string == "NaN") {
        out = NAN;
        return true;
      }
      if (value.string == "Infinity" || value.string == "-Infinity") {
        out = value.string[0] == '-' ? -HUGE_VAL : HUGE_VAL;
        return true;
      }
      return fail(join(path_, key),
                  "expected a number, got the string \"" + value.string +
                      "\" (only \"NaN\", \"Infinity\" and \"-Infinity\" "
                      "stand for numbers)");
    }
    return expect(key, value, JsonValue::Kind::Number);
  }

  const JsonValue *getArray(const char *key) {
    const JsonValue *value = get(key);
    if (!value || !expect(key, *value, JsonValue::Kind::Array))
      return nullptr;
    return value;
  }

  bool fail(const std::string &where, const std::string &message) {
    error_ = where + ": " + message;
    return false;
  }

  const std::string &path() const { return path_; }

private:
  const JsonValue *find(const char *key) const {
    for (const auto &member : value_.members)
      if (member.first == key)
        return &member.second;
    return nullptr;
  }

  bool expect(const char *key, const JsonValue &value, JsonValue::Kind kind) {
    if (value.kind == kind)
      return true;
    return fail(join(path_, key), std::string("expected ") + describe(kind) +
                                      ", got " + describe(value.kind));
  }

  const JsonValue &value_;
  std::string path_;
  std::string &error_;
};

template <typename Enum> std::string spellings(Enum last) {
  std::string list;
  for (int i = 0; i <= int(last); ++i)
    list += std::string(i ? (i == int(last) ? " or " : ", ") : "") +
            toString(Enum(i));
  return list;
}

/// Arguments come in calling order; the runner relies on it.
int orderOf(Role role) {
  switch (role) {
  case Role::Param:
    return 0;
  case Role::Grad:
    return 1;
  case Role::State:
    return 2;
  case Role::Hyper:
    return 3;
  case Role::Input:
    return 4;
  case Role::Count:
    return 5;
  }
  return 6;
}

bool readArgument(const JsonValue &value, const std::string &path, bool matrix,
                  Argument &arg, std::string &error) {
  ObjectReader object(value, path, error);
  if (value.kind != JsonValue::Kind::Object)
    return object.check({}, "an argument");
  std::string role;
  if (!object.getString("role", role))
    return false;
  if (!parseRole(role, arg.role))
    return object.fail(join(path, "role"), "unknown role '" + role +
                                               "' (expected " +
                                               spellings(Role::Count) + ")");
  switch (arg.role) {
  case Role::Param:
  case Role::Grad:
  case Role::Input:
  case Role::Count:
    if (!object.check(
            {"role", "name"},
            (std::string("a ") + toString(arg.role) + " argument").c_str()))
      return false;
    return object.getName("name", arg.name);
  case Role::State: {
    if (!object.check(
            {"role", "name", "layout", "init", "init_value", "storage"},
            "a state argument") ||
        !object.getName("name", arg.name))
      return false;
    std::string layout, init;
    if (!object.getString("layout", layout))
      return false;
    if (!parseLayout(layout, arg.layout))
      return object.fail(join(path, "layout"),
                         "unknown layout '" + layout + "' (expected " +
                             spellings(Layout::ColsSquare) + ")");
    if (!matrix && arg.layout != Layout::Full &&
        arg.layout != Layout::PerTensor)
      return object.fail(join(path, "layout"),
                         layout + " needs a matrix group; a group of "
                                  "flattened tensors has full or per_tensor "
                                  "states");
    if (!object.getString("init", init))
      return false;
    if (!parseStateInit(init, arg.init))
      return object.fail(join(path, "init"),
                         "unknown init '" + init + "' (expected " +
                             spellings(StateInit::Identity) + ")");
    bool square =
        arg.layout == Layout::RowsSquare || arg.layout == Layout::ColsSquare;
    if (arg.init == StateInit::Identity && !square)
      return object.fail(join(path, "init"),
                         "identity needs a square layout (rows_square or "
                         "cols_square), this one is " +
                             layout);
    if (arg.init == StateInit::Constant) {
      if (!object.getNumber("init_value", arg.initValue))
        return false;
    } else if (object.has("init_value")) {
      return object.fail(join(path, "init_value"),
                         "only a constant init takes a value, this one is " +
                             init);
    }
    if (!object.getString("storage", arg.storage))
      return false;
    if (arg.storage != "f32" && arg.storage != "bf16")
      return object.fail(join(path, "storage"), "unknown storage '" +
                                                    arg.storage +
                                                    "' (expected f32 or bf16)");
    return true;
  }
  case Role::Hyper: {
    if (!object.check({"role", "name", "default"}, "a hyper argument") ||
        !object.getName("name", arg.name))
      return false;
    const JsonValue *value = object.get("default");
    if (!value)
      return false;
    if (value->kind == JsonValue::Kind::Null)
      return true;
    arg.hasDefault = true;
    return object.numberFrom("default", *value, arg.defaultValue);
  }
  }
  return false;
}

bool getCount(ObjectReader &object, const char *key, int max, int &out);

bool readGroup(const JsonValue &value, const std::string &path, Group &group,
               std::string &error) {
  ObjectReader object(value, path, error);
  if (!object.check({"name", "matrix", "elementwise", "param_dtypes", "entry",
                     "kernel", "kernel_scratch", "kernel_work",
                     "kernel_partials", "kernel_batches", "kernel_shared_bytes",
                     "kernel_slots", "kernel_num_slots", "sum_phases", "args"},
                    "a group") ||
      !object.getName("name", group.name) ||
      !object.getBool("matrix", group.matrix) ||
      !object.getBool("elementwise", group.elementwise))
    return false;
  const JsonValue *dtypes = object.getArray("param_dtypes");
  if (!dtypes)
    return false;
  for (size_t i = 0; i < dtypes->elements.size(); ++i) {
    const JsonValue &dtype = dtypes->elements[i];
    std::string where = indexed(join(path, "param_dtypes"), i);
    if (dtype.kind != JsonValue::Kind::String || dtype.string.empty())
      return object.fail(where, std::string("expected a dtype name, got ") +
                                    describe(dtype.kind));
    group.paramDtypes.push_back(dtype.string);
  }
  if (!object.getName("entry", group.entry))
    return false;
  if (object.has("kernel") && !object.getName("kernel", group.kernel))
    return false;
  if (object.has("kernel_scratch")) {
    group.kernelPhased = true;
    double partials = 0;
    int64_t bytes = 0;
    std::string why;
    if (!object.getString("kernel_scratch", group.kernelScratch) ||
        !object.getString("kernel_work", group.kernelWork) ||
        !object.getNumber("kernel_partials", partials))
      return false;
    if (group.kernel.empty())
      return object.fail(join(path, "kernel_scratch"),
                         "a phased kernel's scratch without a kernel");
    if (!evaluateSizeProgram(group.kernelScratch, 1, 1, bytes, why))
      return object.fail(join(path, "kernel_scratch"), why);
    if (!evaluateSizeProgram(group.kernelWork, 1, 1, bytes, why))
      return object.fail(join(path, "kernel_work"), why);
    if (!(partials >= 0 && partials <= 64) || partials != std::floor(partials))
      return object.fail(join(path, "kernel_partials"),
                         "expected an integer from 0 to 64");
    group.kernelPartials = int(partials);
    if (object.has("kernel_batches") &&
        !object.getBool("kernel_batches", group.kernelBatches))
      return false;
    if (object.has("kernel_shared_bytes") &&
        !getCount(object, "kernel_shared_bytes", kMaxKernelSharedBytes,
                  group.kernelSharedBytes))
      return false;
  }
  if (object.has("kernel_slots")) {
    std::string slotsPath = join(path, "kernel_slots");
    const JsonValue *slots = object.getArray("kernel_slots");
    if (!slots ||
        !getCount(object, "kernel_num_slots", 1024, group.kernelNumSlots))
      return false;
    if (!group.kernelPhased)
      return object.fail(slotsPath, "slots of a kernel that is not phased");
    if (slots->elements.size() != group.paramDtypes.size())
      return object.fail(slotsPath, "expected one slot per param dtype");
    for (size_t d = 0; d < slots->elements.size(); ++d) {
      const JsonValue &slot = slots->elements[d];
      if (slot.kind != JsonValue::Kind::Number || slot.number < 0 ||
          slot.number >= group.kernelNumSlots ||
          slot.number != std::floor(slot.number))
        return object.fail(indexed(slotsPath, d),
                           "expected a slot from 0 to " +
                               std::to_string(group.kernelNumSlots - 1));
      group.kernelSlots.push_back(int(slot.number));
    }
  }
  if (object.has("sum_phases")) {
    const JsonValue *phases = object.getArray("sum_phases");
    if (!phases)
      return false;
    std::set<std::string> keys;
    for (size_t p = 0; p < phases->elements.size(); ++p) {
      std::string where = indexed(join(path, "sum_phases"), p);
      ObjectReader phaseObject(phases->elements[p], where, error);
      SumPhase phase;
      if (!phaseObject.check({"entry", "keys"}, "a sum phase") ||
          !phaseObject.getName("entry", phase.entry))
        return false;
      const JsonValue *phaseKeys = phaseObject.getArray("keys");
      if (!phaseKeys)
        return false;
      if (phaseKeys->elements.empty())
        return object.fail(join(where, "keys"), "a sum phase sums some key");
      for (size_t k = 0; k < phaseKeys->elements.size(); ++k) {
        const JsonValue &key = phaseKeys->elements[k];
        std::string keyPath = indexed(join(where, "keys"), k);
        if (key.kind != JsonValue::Kind::String || key.string.empty())
          return object.fail(keyPath, std::string("expected a key, got ") +
                                          describe(key.kind));
        if (!keys.insert(key.string).second)
          return object.fail(keyPath, "key '" + key.string +
                                          "' is summed twice");
        phase.keys.push_back(key.string);
      }
      group.sumPhases.push_back(std::move(phase));
    }
  }
  const JsonValue *args = object.getArray("args");
  if (!args)
    return false;
  std::string argsPath = join(path, "args");
  std::set<std::string> names;
  int previous = -1;
  for (size_t i = 0; i < args->elements.size(); ++i) {
    std::string where = indexed(argsPath, i);
    Argument arg;
    if (!readArgument(args->elements[i], where, group.matrix, arg, error))
      return false;
    int order = orderOf(arg.role);
    bool fits = i == 0   ? order == 0
                : i == 1 ? order == 1
                         : order >= 2 && order >= previous &&
                               !(order == 5 && previous == 5);
    if (!fits)
      return object.fail(where, std::string("a ") + toString(arg.role) +
                                    " cannot come here: arguments go param, "
                                    "grad, states, hypers, inputs, then at "
                                    "most one count");
    previous = order;
    // States and hypers are set by name; two of a name would be ambiguous.
    if (!names.insert(arg.name).second)
      return object.fail(join(where, "name"),
                         "a second argument named '" + arg.name + "'");
    group.args.push_back(std::move(arg));
  }
  if (group.args.size() < 2)
    return object.fail(argsPath,
                       "a group needs at least a param and a grad argument");
  return true;
}

/// A positive integer no larger than `max`.
bool getCount(ObjectReader &object, const char *key, int max, int &out) {
  double value = 0;
  if (!object.getNumber(key, value))
    return false;
  if (!(value >= 1 && value <= max) || value != std::floor(value))
    return object.fail(join(object.path(), key),
                       "expected an integer from 1 to " + std::to_string(max));
  out = int(value);
  return true;
}

bool readCudaLaunch(const JsonValue &value, CudaLaunch &cuda,
                    std::string &error) {
  ObjectReader object(value, "cuda", error);
  if (!object.check({"abi", "block_size", "vector_width", "archs",
                     "timeline_capacity", "timeline_sites"},
                    "the CUDA launch description") ||
      !getCount(object, "abi", 1 << 20, cuda.abi) ||
      !getCount(object, "block_size", 1024, cuda.blockSize) ||
      !getCount(object, "vector_width", 16, cuda.vectorWidth))
    return false;
  // Warp reductions and mma.sync need every lane of every warp.
  if (cuda.blockSize % 32 != 0)
    return object.fail("cuda.block_size",
                       "expected whole warps (a multiple of 32), not " +
                           std::to_string(cuda.blockSize));
  const JsonValue *archs = object.getArray("archs");
  if (!archs)
    return false;
  for (size_t i = 0; i < archs->elements.size(); ++i) {
    const JsonValue &arch = archs->elements[i];
    if (arch.kind != JsonValue::Kind::String || arch.string.rfind("sm_", 0))
      return object.fail(indexed("cuda.archs", i),
                         "expected an architecture such as \"sm_80\"");
    cuda.archs.push_back(arch.string);
  }
  if (object.has("timeline_capacity") != object.has("timeline_sites"))
    return object.fail("cuda", "expected timeline_capacity and "
                               "timeline_sites together");
  if (!object.has("timeline_capacity"))
    return true;
  if (!getCount(object, "timeline_capacity", kMaxTimelineCapacity,
                cuda.timelineCapacity))
    return false;
  const JsonValue *sites = object.getArray("timeline_sites");
  if (!sites)
    return false;
  for (size_t i = 0; i < sites->elements.size(); ++i) {
    const JsonValue &site = sites->elements[i];
    if (site.kind != JsonValue::Kind::String)
      return object.fail(indexed("cuda.timeline_sites", i),
                         "expected the name of a barrier call site");
    cuda.timelineSites.push_back(site.string);
  }
  return true;
}
} // namespace

bool stepc::rt::manifestFromJson(const std::string &text, Manifest &out,
                                 std::string &error) {
  JsonValue root;
  if (!JsonParser(text).parse(root, error))
    return false;
  Manifest manifest;
  ObjectReader object(root, "", error);
  if (!object.check({"optimizer", "stepc_version", "groups", "cuda"},
                    "a manifest") ||
      !object.getString("optimizer", manifest.optimizer) ||
      !object.getString("stepc_version", manifest.stepcVersion))
    return false;
  const JsonValue *groups = object.getArray("groups");
  if (!groups)
    return false;
  std::set<std::string> names;
  for (size_t i = 0; i < groups->elements.size(); ++i) {
    std::string where = indexed("groups", i);
    Group group;
    if (!readGroup(groups->elements[i], where, group, error))
      return false;
    if (!names.insert(group.name).second)
      return object.fail(join(where, "name"),
                         "a second group named '" + group.name + "'");
    manifest.groups.push_back(std::move(group));
  }
  if (object.has("cuda")) {
    manifest.hasCuda = true;
    if (!readCudaLaunch(*object.get("cuda"), manifest.cuda, error))
      return false;
  }
  out = std::move(manifest);
  return true;
}
