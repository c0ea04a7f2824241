//===- StepOps.cpp - step dialect operations -------------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Parsers, printers and verifiers. Every verifier message names what is wrong
// and what to write instead; test/Dialect/Step/invalid.mlir covers each one.
//
//===----------------------------------------------------------------------===//

#include "stepc/Dialect/Step/IR/StepOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

using namespace mlir;
using namespace stepc::step;

#include "stepc/Dialect/Step/IR/StepEnums.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

Layout stepc::step::classifyLayout(Type type, RankedTensorType full) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return Layout::PerTensor; // a bare f32 scalar
  if (tensor.getRank() == 0)
    return Layout::PerTensor;
  if (tensor.getRank() != full.getRank())
    return Layout::Other;
  auto compatible = [&](unsigned i) {
    return dimsCompatible(tensor.getDimSize(i), full.getDimSize(i));
  };
  if (tensor == full)
    return Layout::Full;
  if (full.getRank() == 1)
    return compatible(0) ? Layout::Full : Layout::Other;
  // A static 1 marks a per-row or per-column value, even where the full
  // tensor's dimension is dynamic and so would also admit it.
  if (tensor.getDimSize(1) == 1 && compatible(0))
    return Layout::PerRow;
  if (tensor.getDimSize(0) == 1 && compatible(1))
    return Layout::PerCol;
  if (compatible(0) && compatible(1))
    return Layout::Full;
  return Layout::Other;
}


static int64_t rankOf(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return tensor.getRank();
  return 0;
}

/// Whether `type` holds one value per row (per column) of `full`: a rank-2
/// tensor whose second (first) dimension is a static 1.
static bool isPerRowOf(Type type, RankedTensorType full) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && full.getRank() == 2 && tensor.getRank() == 2 &&
         tensor.getDimSize(1) == 1 &&
         dimsCompatible(tensor.getDimSize(0), full.getDimSize(0));
}
static bool isPerColOf(Type type, RankedTensorType full) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && full.getRank() == 2 && tensor.getRank() == 2 &&
         tensor.getDimSize(0) == 1 &&
         dimsCompatible(tensor.getDimSize(1), full.getDimSize(1));
}
/// One value per element of the longer axis of a matrix (rows when m >= n).
static bool isLongAxisOf(Type type, RankedTensorType full) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || full.getRank() != 2 || tensor.getRank() != 1)
    return false;
  int64_t longAxis = ShapedType::kDynamic;
  if (full.hasStaticShape())
    longAxis = std::max(full.getDimSize(0), full.getDimSize(1));
  return dimsCompatible(tensor.getDimSize(0), longAxis);
}

/// Whether a value of `type` broadcasts over a tensor of type `full`.
static bool broadcastsTo(Type type, RankedTensorType full) {
  return classifyLayout(type, full) != Layout::Other;
}

static LogicalResult verifyUnitInterval(Operation *op, StringRef name,
                                        double value) {
  if (value >= 0.0 && value < 1.0)
    return success();
  return op->emitOpError() << name << " must be in [0, 1), got " << value;
}

static LogicalResult verifyPositive(Operation *op, StringRef name,
                                    double value) {
  if (value > 0.0 && std::isfinite(value))
    return success();
  return op->emitOpError() << name << " must be positive and finite, got "
                           << value;
}

static LogicalResult verifyMatrixFor(Operation *op, Type type,
                                     StringRef what) {
  if (rankOf(type) == 2)
    return success();
  return op->emitOpError() << what << " needs a matrix (rank-2 tensor), got "
                           << type
                           << "; use it in a group that accepts(matrix)";
}

/// Describes `value` for diagnostics: "the grad argument 'g'" or "a value
/// computed in the group body".
static std::string describeValue(Value value) {
  auto arg = dyn_cast<BlockArgument>(value);
  auto group = arg ? dyn_cast<GroupOp>(arg.getOwner()->getParentOp()) : nullptr;
  if (!group)
    return "a value computed in the group body";
  return ("the " + stringifyRole(group.getRole(arg.getArgNumber())) +
          " argument '" + group.getArgName(arg.getArgNumber()) + "'")
      .str();
}

/// Ops that carry state across steps must read it straight from a `state`
/// argument; otherwise the update would be lost.
static LogicalResult verifyReadsState(Operation *op, Value value,
                                      StringRef what) {
  auto group = op->getParentOfType<GroupOp>();
  if (!group)
    return success();
  auto arg = dyn_cast<BlockArgument>(value);
  if (arg && arg.getOwner()->getParentOp() == group.getOperation() &&
      group.getRole(arg.getArgNumber()) == Role::state)
    return success();
  return op->emitOpError() << what
                           << " must be a state argument of the group "
                              "(declare it in state(...)), got "
                           << describeValue(value);
}

/// A `count(...)` operand must be the group's step count, not another f32.
static LogicalResult verifyIsCount(Operation *op, Value count) {
  auto group = op->getParentOfType<GroupOp>();
  auto arg = dyn_cast<BlockArgument>(count);
  if (!group || (arg && arg.getOwner()->getParentOp() == group.getOperation() &&
                 group.getRole(arg.getArgNumber()) == Role::count))
    return success();
  return op->emitOpError() << "count(...) must be the group's count argument "
                              "(declare count(%t : f32) in the group), got "
                           << describeValue(count);
}

static LogicalResult verifyCount(Operation *op, FirstStep firstStep,
                                 Value count) {
  if (firstStep == FirstStep::grad && !count)
    return op->emitOpError(
        "first_step(grad) needs the step count: add count(%t)");
  if (firstStep != FirstStep::grad && count)
    return op->emitOpError(
        "count(...) is only read with first_step(grad); remove it");
  return count ? verifyIsCount(op, count) : success();
}

//===----------------------------------------------------------------------===//
// Float printing
//===----------------------------------------------------------------------===//

/// Prints the shortest decimal that reads back as exactly `value`: specs
/// say beta(0.95), and MLIR's default printer would show 0.94999999999999996;
/// dense f64 arrays would even print only 7 digits and lose the rest.
static void printShortestDouble(llvm::raw_ostream &os, double value) {
  char buffer[32];
  int precision = 1;
  for (; precision < 17; ++precision) {
    snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value)
      break;
  }
  // Enough digits that %g prints integers such as 20 as "20", not "2e+01".
  double magnitude = std::fabs(value);
  if (magnitude >= 1.0 && magnitude < 1e15)
    precision = std::max(precision,
                         static_cast<int>(std::floor(std::log10(magnitude))) + 1);
  snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
  // MLIR float literals need a '.': print "1e-07" as "1.0e-07", "2" as "2.0".
  StringRef text(buffer);
  if (!std::isfinite(value) || text.contains('.')) {
    os << text;
    return;
  }
  auto [mantissa, exponent] = text.split('e');
  os << mantissa << ".0";
  if (text.contains('e'))
    os << "e" << exponent;
}

static ParseResult parseShortFloat(OpAsmParser &parser, FloatAttr &attr) {
  double value;
  if (parser.parseFloat(value))
    return failure();
  attr = parser.getBuilder().getF64FloatAttr(value);
  return success();
}

static void printShortFloat(OpAsmPrinter &p, Operation *, FloatAttr attr) {
  if (attr)
    printShortestDouble(p.getStream(), attr.getValueAsDouble());
}

static ParseResult parseCoefficients(OpAsmParser &parser,
                                     DenseF64ArrayAttr &attr) {
  SmallVector<double> values;
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Square, [&] {
        return parser.parseFloat(values.emplace_back());
      }))
    return failure();
  attr = parser.getBuilder().getDenseF64ArrayAttr(values);
  return success();
}

static void printCoefficients(OpAsmPrinter &p, Operation *,
                              DenseF64ArrayAttr attr) {
  p << "[";
  llvm::interleaveComma(attr.asArrayRef(), p, [&](double value) {
    printShortestDouble(p.getStream(), value);
  });
  p << "]";
}

//===----------------------------------------------------------------------===//
// StateInitAttr
//===----------------------------------------------------------------------===//

static void printStateInitBody(AsmPrinter &printer, StateInitAttr init) {
  printer << stringifyStateInitKind(init.getKind());
  if (init.getKind() == StateInitKind::constant && init.getValue()) {
    printer << "(";
    printShortestDouble(printer.getStream(), init.getValue().getValueAsDouble());
    printer << ")";
  }
  if (init.getShape() == StateShape::rows_square)
    printer << " square(rows)";
  else if (init.getShape() == StateShape::cols_square)
    printer << " square(cols)";
  if (init.getStorage())
    printer << " store(" << init.getStorage() << ")";
}

static StateInitAttr parseStateInitBody(AsmParser &parser) {
  MLIRContext *ctx = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return {};
  std::optional<StateInitKind> kind = symbolizeStateInitKind(keyword);
  if (!kind) {
    parser.emitError(loc) << "unknown state initial value '" << keyword
                          << "'; expected zeros, ones, constant(v), "
                             "param_norm or identity";
    return {};
  }
  FloatAttr value;
  if (*kind == StateInitKind::constant) {
    double v;
    if (parser.parseLParen() || parser.parseFloat(v) || parser.parseRParen())
      return {};
    value = FloatAttr::get(Float64Type::get(ctx), v);
  }
  StateShape shape = StateShape::by_type;
  if (succeeded(parser.parseOptionalKeyword("square"))) {
    StringRef side;
    SMLoc sideLoc = parser.getCurrentLocation();
    if (parser.parseLParen() || parser.parseKeyword(&side) ||
        parser.parseRParen())
      return {};
    if (side != "rows" && side != "cols") {
      parser.emitError(sideLoc) << "square(" << side
                                << ") is no square state; use square(rows) "
                                   "(m×m) or square(cols) (n×n)";
      return {};
    }
    shape = side == "rows" ? StateShape::rows_square : StateShape::cols_square;
  }
  Type storage;
  if (succeeded(parser.parseOptionalKeyword("store"))) {
    if (parser.parseLParen() || parser.parseType(storage) ||
        parser.parseRParen())
      return {};
  }
  return parser.getChecked<StateInitAttr>(loc, ctx, *kind, value, storage,
                                          shape);
}

Attribute StateInitAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  StateInitAttr attr = parseStateInitBody(parser);
  if (!attr || parser.parseGreater())
    return {};
  return attr;
}

void StateInitAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printStateInitBody(printer, *this);
  printer << ">";
}

LogicalResult
StateInitAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      StateInitKind kind, FloatAttr value, Type storage,
                      StateShape shape) {
  if (kind == StateInitKind::identity && shape == StateShape::by_type)
    return emitError() << "an identity state must be square: = identity "
                          "square(rows) or square(cols)";
  if (kind == StateInitKind::constant && !value)
    return emitError() << "constant state needs a value: constant(v)";
  if (kind != StateInitKind::constant && value)
    return emitError() << "only a constant state carries a value";
  if (value && !(std::fabs(value.getValueAsDouble()) <=
                 std::numeric_limits<float>::max()))
    return emitError() << "a constant state must be a finite f32";
  if (storage && !storage.isF32() && !storage.isBF16())
    return emitError() << "state storage must be f32 or bf16, got " << storage;
  return success();
}

//===----------------------------------------------------------------------===//
// OptimizerOp
//===----------------------------------------------------------------------===//

LogicalResult OptimizerOp::verify() {
  if (getVersion() < 1 || getVersion() > kSpecVersion)
    return emitOpError() << "spec version " << getVersion()
                         << " is not supported: this stepc reads version "
                         << kSpecVersion;
  for (Operation &op : getBody().front())
    if (!isa<GroupOp>(op))
      return op.emitOpError()
             << "is not allowed in step.optimizer; it holds only step.group";
  return success();
}

LogicalResult OptimizerOp::verifyRegions() {
  // Groups stepped together total each key in the same phase.
  llvm::StringMap<std::pair<int64_t, GroupOp>> phaseOfKey;
  for (auto group : getBody().getOps<GroupOp>()) {
    for (auto sum : group.getBody().getOps<GlobalSumOp>()) {
      int64_t phase = sum.getPhase();
      auto [it, inserted] =
          phaseOfKey.try_emplace(sum.getKey(), phase, group);
      if (!inserted && it->second.first != phase)
        return sum.emitOpError()
               << "sums '" << sum.getKey() << "' in phase " << phase
               << ", but group @" << it->second.second.getSymName()
               << " sums it in phase " << it->second.first
               << "; groups stepped together must total a key in the same "
                  "phase (the same number of sums before it)";
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// GroupOp
//===----------------------------------------------------------------------===//

Role GroupOp::getRole(unsigned index) {
  return cast<RoleAttr>(getArgRoles()[index]).getValue();
}

StringRef GroupOp::getArgName(unsigned index) {
  return cast<StringAttr>(getArgNames()[index]).getValue();
}

SmallVector<BlockArgument> GroupOp::getArgsWithRole(Role role) {
  SmallVector<BlockArgument> args;
  for (BlockArgument arg : getBody().getArguments())
    if (getRole(arg.getArgNumber()) == role)
      args.push_back(arg);
  return args;
}

void GroupOp::getAsmBlockArgumentNames(Region &region,
                                       OpAsmSetValueNameFn setNameFn) {
  if (&region != &getBody() || getArgNames().size() != region.getNumArguments())
    return;
  for (BlockArgument arg : region.getArguments())
    setNameFn(arg, getArgName(arg.getArgNumber()));
}

/// The sections of a group signature, in the order they must appear.
static constexpr Role kSectionOrder[] = {Role::param, Role::grad, Role::state,
                                         Role::hyper, Role::input, Role::count};

ParseResult GroupOp::parse(OpAsmParser &parser, OperationState &result) {
  MLIRContext *ctx = parser.getContext();
  Builder builder(ctx);
  auto &props = result.getOrAddProperties<Properties>();

  StringAttr name;
  if (parser.parseSymbolName(name))
    return failure();
  props.setSymName(name);

  StringRef acceptsWord;
  SMLoc acceptsLoc;
  if (parser.parseKeyword("accepts") || parser.parseLParen() ||
      parser.getCurrentLocation(&acceptsLoc) ||
      parser.parseKeyword(&acceptsWord) || parser.parseRParen())
    return failure();
  std::optional<Accepts> accepts = symbolizeAccepts(acceptsWord);
  if (!accepts)
    return parser.emitError(acceptsLoc)
           << "a group accepts 'any' or 'matrix', not '" << acceptsWord << "'";
  props.setAccepts(AcceptsAttr::get(ctx, *accepts));

  SmallVector<Type> dtypes;
  if (parser.parseKeyword("dtypes") ||
      parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren, [&] {
        return parser.parseType(dtypes.emplace_back());
      }))
    return failure();
  props.setParamDtypes(builder.getTypeArrayAttr(dtypes));

  SmallVector<OpAsmParser::Argument> args;
  SmallVector<Attribute> roles, names, inits;
  for (Role role : kSectionOrder) {
    if (failed(parser.parseOptionalKeyword(stringifyRole(role))))
      continue;
    auto parseOne = [&]() -> ParseResult {
      OpAsmParser::Argument &arg = args.emplace_back();
      if (parser.parseArgument(arg, /*allowType=*/true))
        return failure();
      roles.push_back(RoleAttr::get(ctx, role));
      names.push_back(builder.getStringAttr(arg.ssaName.name.drop_front()));
      Attribute init = builder.getUnitAttr();
      if (role == Role::state) {
        if (parser.parseEqual())
          return failure();
        init = parseStateInitBody(parser);
        if (!init)
          return failure();
      } else if (role == Role::count &&
                 succeeded(parser.parseOptionalEqual())) {
        return parser.emitError(parser.getCurrentLocation(),
                                "the step count takes no default: the runtime "
                                "supplies it");
      } else if (role == Role::input &&
                 succeeded(parser.parseOptionalEqual())) {
        return parser.emitError(parser.getCurrentLocation(),
                                "an input takes no default: the trainer sets "
                                "it before every step");
      } else if (role == Role::hyper &&
                 succeeded(parser.parseOptionalEqual())) {
        double value;
        if (parser.parseFloat(value))
          return failure();
        init = builder.getF64FloatAttr(value);
      }
      inits.push_back(init);
      return success();
    };
    if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren,
                                       parseOne))
      return failure();
  }
  StringRef misplaced;
  SMLoc misplacedLoc = parser.getCurrentLocation();
  if (succeeded(parser.parseOptionalKeyword(
          &misplaced, {"param", "grad", "state", "hyper", "input", "count"})))
    return parser.emitError(misplacedLoc)
           << "section '" << misplaced
           << "' is out of place: a group signature has the sections param, "
              "grad, state, hyper, input, count, each at most once and in "
              "this order";
  props.setArgRoles(builder.getArrayAttr(roles));
  props.setArgNames(builder.getArrayAttr(names));
  props.setArgInits(builder.getArrayAttr(inits));

  if (parser.parseOptionalAttrDictWithKeyword(result.attributes))
    return failure();
  Region *body = result.addRegion();
  if (parser.parseRegion(*body, args, /*enableNameShadowing=*/false))
    return failure();
  GroupOp::ensureTerminator(*body, builder, result.location);
  return success();
}

void GroupOp::print(OpAsmPrinter &p) {
  p << " ";
  p.printSymbolName(getSymName());
  p << " accepts(" << stringifyAccepts(getAccepts()) << ") dtypes(";
  llvm::interleaveComma(getParamDtypes(), p, [&](Attribute dtype) {
    p << cast<TypeAttr>(dtype).getValue();
  });
  p << ")";
  Block &entry = getBody().front();
  bool validSignature = getArgRoles().size() == entry.getNumArguments() &&
                        getArgInits().size() == entry.getNumArguments();
  for (Role role : kSectionOrder) {
    if (!validSignature)
      break;
    SmallVector<BlockArgument> args = getArgsWithRole(role);
    if (args.empty())
      continue;
    // Lines: param and grad; states; hypers, inputs and the count.
    bool sameLine =
        role == Role::grad ||
        ((role == Role::count || role == Role::input) &&
         !getArgsWithRole(Role::hyper).empty()) ||
        (role == Role::count && !getArgsWithRole(Role::input).empty());
    if (sameLine)
      p << " ";
    else {
      p.printNewline();
      p << "    ";
    }
    p << stringifyRole(role) << "(";
    llvm::interleaveComma(args, p, [&](BlockArgument arg) {
      p.printOperand(arg);
      p << " : " << arg.getType();
      Attribute init = getArgInits()[arg.getArgNumber()];
      if (auto stateInit = dyn_cast<StateInitAttr>(init)) {
        p << " = ";
        printStateInitBody(p, stateInit);
      } else if (auto value = dyn_cast<FloatAttr>(init)) {
        p << " = ";
        printShortestDouble(p.getStream(), value.getValueAsDouble());
      }
    });
    p << ")";
  }
  p.printOptionalAttrDictWithKeyword(
      (*this)->getAttrs(),
      {getSymNameAttrName(), getAcceptsAttrName(), getParamDtypesAttrName(),
       getArgRolesAttrName(), getArgNamesAttrName(), getArgInitsAttrName()});
  p << " ";
  p.printRegion(getBody(), /*printEntryBlockArgs=*/false,
                /*printBlockTerminators=*/true);
}

/// Describes the layouts a state may have for a parameter of `paramType`.
static std::string stateLayoutsFor(RankedTensorType paramType) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << paramType << " (like the param)";
  if (paramType.getRank() == 2)
    os << ", tensor<?x1xf32> (per row), tensor<1x?xf32> (per column), "
          "tensor<?xf32> (per element of the long axis)";
  os << " or tensor<f32> (per tensor)";
  return text;
}

static bool isValidStateType(Type type, RankedTensorType paramType) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.getElementType().isF32())
    return false;
  if (paramType.getRank() == 2 && tensor.getRank() == 1)
    return true; // long-axis layout (second_moment reduce(short_axis))
  return classifyLayout(type, paramType) != Layout::Other;
}

// Runs before the body's ops are verified, which look up argument roles.
LogicalResult GroupOp::verify() {
  unsigned numArgs = getBody().front().getNumArguments();
  if (getArgRoles().size() != numArgs || getArgNames().size() != numArgs ||
      getArgInits().size() != numArgs)
    return emitOpError() << "arg_roles, arg_names and arg_inits must have one "
                            "entry per block argument ("
                         << numArgs << ")";
  return success();
}

LogicalResult GroupOp::verifyRegions() {
  Block &entry = getBody().front();
  unsigned numArgs = entry.getNumArguments();

  // Roles: exactly one param then one grad, then states, hypers, a count.
  unsigned numParams = 0, numGrads = 0, numCounts = 0;
  for (unsigned i = 0; i < numArgs; ++i) {
    Role role = getRole(i);
    numParams += role == Role::param;
    numGrads += role == Role::grad;
    numCounts += role == Role::count;
    if (i > 0 && static_cast<unsigned>(role) < static_cast<unsigned>(getRole(i - 1)))
      return emitOpError() << "arguments must be ordered param, grad, state, "
                              "hyper, input, count; '"
                           << getArgName(i) << "' (" << stringifyRole(role)
                           << ") comes after a " << stringifyRole(getRole(i - 1));
  }
  if (numParams != 1 || numGrads != 1)
    return emitOpError() << "needs exactly one param and one grad argument, got "
                         << numParams << " and " << numGrads;
  if (numCounts > 1)
    return emitOpError("has more than one count argument; one step count is "
                       "enough");

  // Names: hyper names are how trainers set values, so they must be words.
  llvm::StringSet<> seen;
  for (unsigned i = 0; i < numArgs; ++i) {
    StringRef name = getArgName(i);
    if (name.empty() || llvm::isDigit(name.front()))
      return emitOpError() << "argument #" << i
                           << " needs a name that is a word (e.g. %lr), got '%"
                           << name << "'";
    if (!seen.insert(name).second)
      return emitOpError() << "argument name '" << name << "' is used twice";
  }

  // Param dtypes.
  if (getParamDtypes().empty())
    return emitOpError("dtypes(...) must list at least one parameter dtype");
  llvm::SmallPtrSet<Type, 4> dtypesSeen;
  for (Attribute attr : getParamDtypes()) {
    Type dtype = cast<TypeAttr>(attr).getValue();
    if (!dtype.isF32() && !dtype.isBF16() && !dtype.isF16())
      return emitOpError() << "parameter dtype " << dtype
                           << " is not supported; use f32, bf16 or f16";
    if (!dtypesSeen.insert(dtype).second)
      return emitOpError() << "dtype " << dtype << " is listed twice";
  }

  // Param and grad types.
  BlockArgument param = getParam(), grad = getGrad();
  auto paramType = dyn_cast<RankedTensorType>(param.getType());
  if (!paramType || !paramType.getElementType().isF32())
    return emitOpError() << "param '" << getArgName(param.getArgNumber())
                         << "' must be an f32 tensor (the compute type; "
                            "storage dtypes go in dtypes(...)), got "
                         << param.getType();
  int64_t wantRank = getAccepts() == Accepts::matrix ? 2 : 1;
  if (paramType.getRank() != wantRank)
    return emitOpError() << "a group that accepts(" << stringifyAccepts(getAccepts())
                         << ") sees its params as rank-" << wantRank
                         << " tensors (" << (wantRank == 2 ? "tensor<?x?xf32>" : "tensor<?xf32>")
                         << "), but param '" << getArgName(param.getArgNumber())
                         << "' is " << paramType;
  if (grad.getType() != paramType)
    return emitOpError() << "grad '" << getArgName(grad.getArgNumber())
                         << "' must have the param's type " << paramType
                         << ", got " << grad.getType();

  // States, hypers and count.
  SmallVector<BlockArgument> states = getArgsWithRole(Role::state);
  for (BlockArgument arg : {param, grad})
    if (!isa<UnitAttr>(getArgInits()[arg.getArgNumber()]))
      return emitOpError() << stringifyRole(getRole(arg.getArgNumber()))
                           << " '" << getArgName(arg.getArgNumber())
                           << "' takes no initial value";
  for (BlockArgument state : states) {
    StringRef name = getArgName(state.getArgNumber());
    if (!isValidStateType(state.getType(), paramType))
      return emitOpError() << "state '" << name << "' has type "
                           << state.getType()
                           << ", which is no state layout for this group; use "
                           << stateLayoutsFor(paramType);
    auto init = dyn_cast<StateInitAttr>(getArgInits()[state.getArgNumber()]);
    if (!init)
      return emitOpError() << "state '" << name
                           << "' needs an initial value (= zeros, ones, "
                              "constant(v), param_norm or identity)";
    if (init.getShape() != StateShape::by_type &&
        getAccepts() != Accepts::matrix)
      return emitOpError() << "state '" << name
                           << "' is square, which needs a group that "
                              "accepts(matrix)";
    if (init.getShape() != StateShape::by_type && state.getType() != paramType)
      return emitOpError() << "state '" << name
                           << "' is square, so its type must be the param's "
                           << paramType << ", got " << state.getType();
    if (init.getKind() == StateInitKind::param_norm &&
        rankOf(state.getType()) != 0)
      return emitOpError() << "state '" << name
                           << "' = param_norm holds one norm per tensor, so "
                              "its type must be tensor<f32>";
    if (state.use_empty())
      return emitOpError() << "state '" << name
                           << "' is never read; remove it or use it";
  }
  for (BlockArgument arg : entry.getArguments()) {
    Role role = getRole(arg.getArgNumber());
    if (role != Role::hyper && role != Role::input && role != Role::count)
      continue;
    if (!arg.getType().isF32())
      return emitOpError() << stringifyRole(role) << " '"
                           << getArgName(arg.getArgNumber())
                           << "' must be f32, got " << arg.getType();
    Attribute init = getArgInits()[arg.getArgNumber()];
    if (!isa<UnitAttr, FloatAttr>(init) ||
        (role != Role::hyper && !isa<UnitAttr>(init)))
      return emitOpError() << stringifyRole(role) << " '"
                           << getArgName(arg.getArgNumber())
                           << "' has an invalid default " << init;
    if (auto value = dyn_cast<FloatAttr>(init);
        value && !(std::fabs(value.getValueAsDouble()) <=
                   std::numeric_limits<float>::max()))
      return emitOpError() << "hyper '" << getArgName(arg.getArgNumber())
                           << "' has a default that is no finite f32";
  }

  // One contribution per tensor to each key.
  llvm::StringMap<GlobalSumOp> sumOfKey;
  for (auto sum : entry.getOps<GlobalSumOp>())
    if (!sumOfKey.try_emplace(sum.getKey(), sum).second)
      return sum.emitOpError() << "sums key '" << sum.getKey()
                               << "' a second time in this group; each "
                                  "tensor contributes once to a key";

  // The return: new param, then every state in order.
  auto ret = cast<ReturnOp>(entry.getTerminator());
  if (ret.getValues().size() != 1 + states.size())
    return ret.emitOpError() << "must return the new param and then each of "
                                "the group's "
                             << states.size() << " state(s): "
                             << 1 + states.size() << " values, got "
                             << ret.getValues().size();
  if (ret.getValues()[0].getType() != paramType)
    return ret.emitOpError() << "returns " << ret.getValues()[0].getType()
                             << " as the new param, which must be "
                             << paramType;
  for (auto [stateArg, value] :
       llvm::zip(states, ret.getValues().drop_front())) {
    BlockArgument state = stateArg; // lambdas cannot capture bindings in C++17
    StringRef name = getArgName(state.getArgNumber());
    if (value.getType() != state.getType())
      return ret.emitOpError() << "returns " << value.getType()
                               << " for state '" << name
                               << "', which has type " << state.getType();
    // A state read by a stateful op must get that op's update back.
    SmallVector<Operation *> updaters;
    for (Operation *user : state.getUsers()) {
      bool updates =
          TypeSwitch<Operation *, bool>(user)
              .Case([&](MomentumOp op) { return op.getBuffer() == state; })
              .Case([&](SecondMomentOp op) { return op.getState() == state; })
              .Case([&](GainUpdateOp op) {
                return llvm::is_contained(op.getGains(), state) ||
                       llvm::is_contained(op.getMoments(), state);
              })
              .Default([](Operation *) { return false; });
      if (updates)
        updaters.push_back(user);
    }
    if (updaters.empty())
      continue;
    Operation *producer = value.getDefiningOp();
    bool returnsUpdate = llvm::is_contained(updaters, producer);
    if (auto momentum = dyn_cast_or_null<MomentumOp>(producer))
      returnsUpdate &= value == momentum.getNewBuffer();
    if (!returnsUpdate)
      return ret.emitOpError()
             << "returns a value for state '" << name
             << "' that is not its update: it is read by '"
             << updaters.front()->getName()
             << "', so return that op's new state for it";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// GlobalSumOp
//===----------------------------------------------------------------------===//

/// The latest phase among the global sums `value` depends on (0: none).
/// Looks into nested regions, which may read values defined above them.
static int64_t latestSumPhase(Value value,
                              llvm::DenseMap<Operation *, int64_t> &memo) {
  Operation *def = value.getDefiningOp();
  if (!def)
    return 0;
  if (auto sum = dyn_cast<GlobalSumOp>(def))
    return sum.getPhase();
  if (auto it = memo.find(def); it != memo.end())
    return it->second;
  int64_t latest = 0;
  def->walk([&](Operation *nested) {
    for (Value operand : nested->getOperands())
      if (!def->isAncestor(operand.getParentBlock()->getParentOp()))
        latest = std::max(latest, latestSumPhase(operand, memo));
  });
  memo[def] = latest;
  return latest;
}

int64_t GlobalSumOp::getPhase() {
  llvm::DenseMap<Operation *, int64_t> memo;
  return latestSumPhase(getInput(), memo) + 1;
}

LogicalResult GlobalSumOp::verify() {
  StringRef key = getKey();
  if (key.empty() || llvm::isDigit(key.front()) ||
      !llvm::all_of(key, [](char c) { return llvm::isAlnum(c) || c == '_'; }))
    return emitOpError() << "key '" << key
                         << "' must be a word (letters, digits, '_'): the "
                            "runtime reports the total under it";
  return success();
}

//===----------------------------------------------------------------------===//
// Moments
//===----------------------------------------------------------------------===//

LogicalResult MomentumOp::verify() {
  if (failed(verifyUnitInterval(*this, "beta", getBetaAttr().getValueAsDouble())) ||
      failed(verifyUnitInterval(*this, "dampening",
                                getDampeningAttr().getValueAsDouble())) ||
      failed(verifyReadsState(*this, getBuffer(), "buffer")) ||
      failed(verifyCount(*this, getFirstStep(), getCount())))
    return failure();
  if (getKind() == MomentumKind::ema && getDampeningAttr().getValueAsDouble() != 0.0)
    return emitOpError("dampening applies to heavy_ball momentum; ema already "
                       "weighs the gradient by (1-beta)");
  if (getNesterov() && getDampeningAttr().getValueAsDouble() != 0.0)
    return emitOpError("nesterov needs dampening(0) (as in PyTorch SGD)");
  return success();
}

LogicalResult SecondMomentOp::verify() {
  if (failed(verifyUnitInterval(*this, "beta", getBetaAttr().getValueAsDouble())) ||
      failed(verifyReadsState(*this, getState(), "state")) ||
      failed(verifyCount(*this, getFirstStep(), getCount())))
    return failure();
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto stateType = cast<RankedTensorType>(getState().getType());
  MomentReduce reduce = getReduce();
  if (reduce != MomentReduce::none &&
      failed(verifyMatrixFor(*this, inputType,
                             "reduce(" + stringifyMomentReduce(reduce).str() + ")")))
    return failure();
  auto expect = [&](bool ok, StringRef want) -> LogicalResult {
    if (ok)
      return success();
    return emitOpError() << "reduce(" << stringifyMomentReduce(reduce)
                         << ") keeps " << want << ", so the state must be "
                         << "of that layout; got " << stateType << " for input "
                         << inputType;
  };
  switch (reduce) {
  case MomentReduce::none:
    return expect(stateType == inputType,
                  "one value per element (the input's type)");
  case MomentReduce::rows:
    return expect(isPerRowOf(stateType, inputType),
                  "one value per row (tensor<?x1xf32>)");
  case MomentReduce::cols:
    return expect(isPerColOf(stateType, inputType),
                  "one value per column (tensor<1x?xf32>)");
  case MomentReduce::short_axis:
    return expect(isLongAxisOf(stateType, inputType),
                  "one value per element of the long axis (tensor<?xf32>, "
                  "max(rows, cols) long)");
  case MomentReduce::matrix:
    return expect(stateType.getRank() == 0, "one value (tensor<f32>)");
  }
  return success();
}

LogicalResult PreconditionOp::verify() {
  if (failed(verifyPositive(*this, "eps", getEpsAttr().getValueAsDouble())))
    return failure();
  auto numType = cast<RankedTensorType>(getNumerator().getType());
  if (!broadcastsTo(getMoment().getType(), numType) &&
      !isLongAxisOf(getMoment().getType(), numType))
    return emitOpError() << "moment of type " << getMoment().getType()
                         << " does not broadcast to the numerator " << numType
                         << "; use the same type, one value per row or column, "
                            "one per element of the long axis (tensor<?xf32>) "
                            "or tensor<f32>";
  bool hasBias = getBeta1().has_value();
  if (hasBias != static_cast<bool>(getCount()))
    return emitOpError(hasBias ? "bias_correction(...) needs the step count: "
                                 "add count(%t)"
                               : "count(...) is only read with "
                                 "bias_correction(beta1, beta2); remove it");
  if (!hasBias)
    return success();
  if (failed(verifyIsCount(*this, getCount())))
    return failure();
  double beta1 = getBeta1Attr().getValueAsDouble();
  double beta2 = getBeta2Attr().getValueAsDouble();
  if (failed(verifyUnitInterval(*this, "beta1", beta1)) ||
      failed(verifyUnitInterval(*this, "beta2", beta2)))
    return failure();
  // Bias correction must use the betas the moments were built with.
  if (auto momentum = getNumerator().getDefiningOp<MomentumOp>())
    if (momentum.getKind() == MomentumKind::ema &&
        momentum.getBetaAttr().getValueAsDouble() != beta1)
      return emitOpError() << "bias_correction beta1 " << beta1
                           << " differs from the momentum's beta "
                           << momentum.getBetaAttr().getValueAsDouble();
  if (auto moment = getMoment().getDefiningOp<SecondMomentOp>())
    if (moment.getBetaAttr().getValueAsDouble() != beta2)
      return emitOpError() << "bias_correction beta2 " << beta2
                           << " differs from the second moment's beta "
                           << moment.getBetaAttr().getValueAsDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// Normalization and orthogonalization
//===----------------------------------------------------------------------===//

template <typename NormalizeOpT>
static LogicalResult verifyNormalize(NormalizeOpT op) {
  double p = op.getPAttr().getValueAsDouble();
  if (!(p >= 1.0 && std::isfinite(p)))
    return op.emitOpError() << "p must be finite and at least 1, got " << p;
  return failure(
      failed(verifyPositive(op, "power", op.getPowerAttr().getValueAsDouble())) ||
      failed(verifyPositive(op, "eps", op.getEpsAttr().getValueAsDouble())));
}

LogicalResult NormalizeRowsOp::verify() { return verifyNormalize(*this); }
LogicalResult NormalizeColsOp::verify() { return verifyNormalize(*this); }

std::array<double, 3> NewtonSchulzOp::getCoefficientsAt(int64_t k) {
  ArrayRef<double> coefficients = getCoefficients();
  int64_t numTriples = coefficients.size() / 3;
  int64_t index = std::min(k, numTriples - 1) * 3;
  return {coefficients[index], coefficients[index + 1], coefficients[index + 2]};
}

LogicalResult NewtonSchulzOp::verify() {
  int64_t steps = getSteps();
  if (steps < 1 || steps > 100)
    return emitOpError() << "steps must be in [1, 100], got " << steps;
  size_t numCoefficients = getCoefficients().size();
  if (numCoefficients == 0 || numCoefficients % 3 != 0)
    return emitOpError() << "coefficients must be (a, b, c) triples, one per "
                            "iteration; got "
                         << numCoefficients << " numbers";
  int64_t numTriples = numCoefficients / 3;
  if (numTriples > steps)
    return emitOpError() << "the schedule has " << numTriples
                         << " (a, b, c) triples but steps is " << steps
                         << "; drop the unused triples or raise steps";
  for (double c : getCoefficients())
    if (!std::isfinite(c))
      return emitOpError("coefficients must be finite");
  Type compute = getComputeType();
  if (!compute.isBF16() && !compute.isF16() && !compute.isF32())
    return emitOpError() << "compute type must be bf16, f16 or f32, got "
                         << compute;
  if (failed(verifyPositive(*this, "safety", getSafetyAttr().getValueAsDouble())))
    return failure();
  // eps > 0 keeps a zero gradient from becoming 0/0 = NaN.
  return verifyPositive(*this, "eps", getEpsAttr().getValueAsDouble());
}

//===----------------------------------------------------------------------===//
// Spheres and gains
//===----------------------------------------------------------------------===//

LogicalResult SphereProjectOp::verify() {
  Type type = getInput().getType();
  if (getSphere() != SphereMode::frobenius &&
      failed(verifyMatrixFor(*this, type,
                             "sphere(" + stringifySphereMode(getSphere()).str() + ")")))
    return failure();
  if (getShape() != ShapeFactor::none &&
      failed(verifyMatrixFor(*this, type,
                             "shape(" + stringifyShapeFactor(getShape()).str() + ")")))
    return failure();
  return failure(
      failed(verifyPositive(*this, "radius", getRadiusAttr().getValueAsDouble())) ||
      failed(verifyPositive(*this, "eps", getEpsAttr().getValueAsDouble())));
}

/// Checks that `gains` match `axes` for a parameter of type `paramType`.
static LogicalResult verifyGains(Operation *op, GainAxes axes,
                                 ValueRange gains, Type paramType) {
  SmallVector<Layout> want;
  StringRef wantText;
  switch (axes) {
  case GainAxes::scalar:
    want = {Layout::PerTensor};
    wantText = "one tensor<f32> gain";
    break;
  case GainAxes::row:
    want = {Layout::PerRow};
    wantText = "one per-row gain (tensor<?x1xf32>)";
    break;
  case GainAxes::col:
    want = {Layout::PerCol};
    wantText = "one per-column gain (tensor<1x?xf32>)";
    break;
  case GainAxes::row_col:
    want = {Layout::PerRow, Layout::PerCol};
    wantText = "a per-row gain (tensor<?x1xf32>) then a per-column gain "
               "(tensor<1x?xf32>)";
    break;
  }
  if (axes != GainAxes::scalar &&
      failed(verifyMatrixFor(op, paramType,
                             "axes(" + stringifyGainAxes(axes).str() + ")")))
    return failure();
  auto fail = [&]() {
    return op->emitOpError() << "axes(" << stringifyGainAxes(axes)
                             << ") needs " << wantText << " in gains(...)";
  };
  if (gains.size() != want.size())
    return fail();
  auto full = cast<RankedTensorType>(paramType);
  for (auto [gain, layout] : llvm::zip(gains, want)) {
    bool fits = layout == Layout::PerRow   ? isPerRowOf(gain.getType(), full)
                : layout == Layout::PerCol ? isPerColOf(gain.getType(), full)
                                           : rankOf(gain.getType()) == 0;
    if (!fits)
      return fail();
    if (failed(verifyReadsState(op, gain, "each gain")))
      return failure();
  }
  return success();
}

LogicalResult GainSplitOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, ValueRange operands,
    DictionaryAttr, OpaqueProperties, RegionRange,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  if (operands.size() < 2)
    return failure();
  inferredReturnTypes.assign({operands[0].getType(), operands[0].getType()});
  for (Value gain : operands.drop_front(2))
    inferredReturnTypes.push_back(gain.getType());
  return success();
}

LogicalResult GainSplitOp::verify() {
  if (failed(verifyPositive(*this, "eps", getEpsAttr().getValueAsDouble())))
    return failure();
  return verifyGains(*this, getAxes(), getGains(), getParam().getType());
}

LogicalResult GainUpdateOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  Adaptor adaptor(operands, attributes, properties, regions);
  inferredReturnTypes.push_back(adaptor.getDirection().getType());
  for (Value gain : adaptor.getGains())
    inferredReturnTypes.push_back(gain.getType());
  for (Value moment : adaptor.getMoments())
    inferredReturnTypes.push_back(moment.getType());
  return success();
}

LogicalResult GainUpdateOp::verify() {
  if (failed(verifyGains(*this, getAxes(), getGains(),
                         getDirection().getType())) ||
      failed(verifyUnitInterval(*this, "beta1", getBeta1Attr().getValueAsDouble())) ||
      failed(verifyUnitInterval(*this, "beta2", getBeta2Attr().getValueAsDouble())) ||
      failed(verifyPositive(*this, "eps", getEpsAttr().getValueAsDouble())))
    return failure();
  if (getGainGrads().size() != getGains().size())
    return emitOpError() << "needs one gradient per gain: "
                         << getGains().size() << " gains, "
                         << getGainGrads().size() << " grads";
  if (getMoments().size() != 2 * getGains().size())
    return emitOpError() << "needs two Adam moments (m, v) per gain: "
                         << 2 * getGains().size() << " moments, got "
                         << getMoments().size();
  for (Value moment : getMoments())
    if (failed(verifyReadsState(*this, moment, "each moment")))
      return failure();
  return verifyIsCount(*this, getCount());
}

/// `: type, gainType, ...`: gradients and both moments share each gain's type.
static ParseResult parseGainTypes(OpAsmParser &parser,
                                  SmallVectorImpl<Type> &gainTypes,
                                  SmallVectorImpl<Type> &gradTypes,
                                  SmallVectorImpl<Type> &momentTypes) {
  if (parser.parseTypeList(gainTypes))
    return failure();
  gradTypes.assign(gainTypes.begin(), gainTypes.end());
  for (Type type : gainTypes)
    momentTypes.append({type, type});
  return success();
}

static void printGainTypes(OpAsmPrinter &p, Operation *, TypeRange gainTypes,
                           TypeRange, TypeRange) {
  llvm::interleaveComma(gainTypes, p);
}

//===----------------------------------------------------------------------===//
// Scaling, decay, apply
//===----------------------------------------------------------------------===//

LogicalResult ScaleOp::verify() {
  if (!std::isfinite(getFactorAttr().getValueAsDouble()))
    return emitOpError("factor must be finite");
  if (getShape() != ShapeFactor::none &&
      failed(verifyMatrixFor(*this, getInput().getType(),
                             "shape(" + stringifyShapeFactor(getShape()).str() + ")")))
    return failure();
  if (getRestore() && getRestore().getType() != getInput().getType())
    return emitOpError() << "restore(...) must have the input's type "
                         << getInput().getType() << ", got "
                         << getRestore().getType();
  return verifyPositive(*this, "eps", getEpsAttr().getValueAsDouble());
}

LogicalResult WeightDecayOp::verify() {
  if (getMode() == DecayMode::decoupled) {
    if (!getLr())
      return emitOpError("decoupled decay multiplies by the learning rate: "
                         "add lr(%lr : f32)");
    if (getGrad())
      return emitOpError("into(...) is for coupled decay; decoupled decay "
                         "changes the param itself");
  } else {
    if (!getGrad())
      return emitOpError("coupled decay adds wd*W to a gradient: add "
                         "into(%g : type)");
    if (getLr() || getCautious())
      return emitOpError("coupled decay takes no lr(...) or cautious(...); "
                         "they belong to decoupled decay");
  }
  for (Value operand : {getGrad(), getCautious()})
    if (operand && operand.getType() != getParam().getType())
      return emitOpError() << "operand of type " << operand.getType()
                           << " must have the param's type "
                           << getParam().getType();
  return success();
}

LogicalResult TangentProjectOp::verify() {
  if (getSphere() != SphereMode::frobenius &&
      failed(verifyMatrixFor(*this, getInput().getType(),
                             "sphere(" + stringifySphereMode(getSphere()).str() + ")")))
    return failure();
  return verifyPositive(*this, "eps", getEpsAttr().getValueAsDouble());
}

//===----------------------------------------------------------------------===//
// Elementwise and reduce
//===----------------------------------------------------------------------===//

LogicalResult ElementwiseOp::verifyRegions() {
  if (getResults().empty())
    return emitOpError("needs at least one result");
  auto resultType = cast<RankedTensorType>(getResult(0).getType());
  for (Type type : getResultTypes())
    if (type != resultType)
      return emitOpError() << "all results must have one type; got "
                           << resultType << " and " << type;
  // A tensor<f32> result has no dimension to take from an input: a value
  // computed from scalars (a group-wide factor) or constants.
  if (resultType.getRank() != 0 && llvm::none_of(getInputs(), [&](Value input) {
        return input.getType() == resultType;
      }))
    return emitOpError() << "needs an input of the result type " << resultType
                         << " to give the result its shape";
  for (Value input : getInputs())
    if (!broadcastsTo(input.getType(), resultType))
      return emitOpError() << "input of type " << input.getType()
                           << " does not broadcast to the result " << resultType
                           << "; use the same type, one value per row "
                              "(?x1) or column (1x?), tensor<f32> or f32";
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "body needs one f32 argument per input ("
                         << getInputs().size() << "), got "
                         << body.getNumArguments();
  for (BlockArgument arg : body.getArguments())
    if (!arg.getType().isF32())
      return emitOpError() << "body arguments are f32 elements, got "
                           << arg.getType();
  for (Operation &op : body.without_terminator()) {
    StringRef dialect = op.getDialect() ? op.getDialect()->getNamespace() : "";
    if (dialect != "arith" && dialect != "math")
      return op.emitOpError()
             << "is not allowed in step.elementwise; only arith and math ops "
                "may compute elements";
    auto isScalar = [](Type type) { return type.isIntOrIndexOrFloat(); };
    if (!llvm::all_of(op.getOperandTypes(), isScalar) ||
        !llvm::all_of(op.getResultTypes(), isScalar))
      return op.emitOpError("in step.elementwise must compute on scalars "
                            "(one element at a time), not on tensors or "
                            "vectors");
  }
  auto yield = dyn_cast_or_null<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end with step.yield");
  if (yield.getValues().size() != getResults().size())
    return yield.emitOpError() << "yields " << yield.getValues().size()
                               << " values for " << getResults().size()
                               << " results";
  return success();
}

LogicalResult MatmulOp::verify() {
  auto lhs = cast<RankedTensorType>(getLhs().getType());
  auto rhs = cast<RankedTensorType>(getRhs().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  int64_t rows = lhs.getDimSize(transposesLhs() ? 1 : 0);
  int64_t inner = lhs.getDimSize(transposesLhs() ? 0 : 1);
  int64_t otherInner = rhs.getDimSize(transposesRhs() ? 1 : 0);
  int64_t cols = rhs.getDimSize(transposesRhs() ? 0 : 1);
  if (!dimsCompatible(inner, otherInner))
    return emitOpError() << "inner dimensions differ: " << inner << " and "
                         << otherInner << " (transpose("
                         << stringifyMatmulTranspose(getTranspose()) << "))";
  if (!dimsCompatible(result.getDimSize(0), rows) ||
      !dimsCompatible(result.getDimSize(1), cols))
    return emitOpError() << "result type " << result
                         << " is not the product's shape";
  return success();
}

LogicalResult ReduceOp::verify() {
  if (getInputs().empty() || getInputs().size() > 2)
    return emitOpError() << "takes one tensor (two for dot), got "
                         << getInputs().size();
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto resultType = cast<RankedTensorType>(getResult().getType());
  if ((getKind() == ReduceKind::dot) != static_cast<bool>(getOther()))
    return emitOpError(getKind() == ReduceKind::dot
                           ? "dot needs a second operand: reduce dot %a, %b"
                           : "only dot takes a second operand");
  if (getOther() && getOther().getType() != inputType)
    return emitOpError() << "dot operands must have one type; got " << inputType
                         << " and " << getOther().getType();
  double p = getPAttr().getValueAsDouble();
  if (getKind() == ReduceKind::norm && !(p >= 1.0 && std::isfinite(p)))
    return emitOpError() << "p must be finite and at least 1, got "
                         << getPAttr().getValueAsDouble();
  ReduceAxis axis = getAxis();
  if (axis != ReduceAxis::all &&
      failed(verifyMatrixFor(*this, inputType,
                             "over(" + stringifyReduceAxis(axis).str() + ")")))
    return failure();
  bool ok = false;
  StringRef want;
  switch (axis) {
  case ReduceAxis::rows:
    ok = isPerRowOf(resultType, inputType);
    want = "tensor<?x1xf32> (one value per row)";
    break;
  case ReduceAxis::cols:
    ok = isPerColOf(resultType, inputType);
    want = "tensor<1x?xf32> (one value per column)";
    break;
  case ReduceAxis::all:
    ok = resultType.getRank() == 0;
    want = "tensor<f32>";
    break;
  }
  if (!ok)
    return emitOpError() << "over(" << stringifyReduceAxis(axis)
                         << ") gives " << want << ", not " << resultType;
  return success();
}

#define GET_OP_CLASSES
#include "stepc/Dialect/Step/IR/StepOps.cpp.inc"
