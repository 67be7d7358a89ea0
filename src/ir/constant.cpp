#include "nncf/ir/constant.h"

#include <c10/util/Exception.h>

#include <cstring>

#include "nncf/ir/graph.h"

namespace nncf::ir {

namespace {

const char* kind_name(Constant::Kind k) {
  switch (k) {
    case Constant::Kind::None:
      return "None";
    case Constant::Kind::Bool:
      return "bool";
    case Constant::Kind::Int:
      return "int";
    case Constant::Kind::Double:
      return "float";
    case Constant::Kind::String:
      return "str";
    case Constant::Kind::Device:
      return "Device";
    case Constant::Kind::IntList:
      return "int[]";
    case Constant::Kind::DoubleList:
      return "float[]";
    case Constant::Kind::BoolList:
      return "bool[]";
  }
  return "?";
}

// Bitwise, so that NaN equals itself and 0.0 differs from -0.0 (see operator== in graph.h).
bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof(double)) == 0;
}

bool expects_float(const c10::TypePtr& type) {
  if (auto opt = type->cast<c10::OptionalType>()) return expects_float(opt->getElementType());
  return type->kind() == c10::TypeKind::FloatType;
}

bool expects_float_list(const c10::TypePtr& type) {
  if (auto opt = type->cast<c10::OptionalType>()) return expects_float_list(opt->getElementType());
  auto list = type->cast<c10::ListType>();
  return list && list->getElementType()->kind() == c10::TypeKind::FloatType;
}

}  // namespace

Constant Constant::boolean(bool v) {
  Constant c;
  c.kind_ = Kind::Bool;
  c.data_ = v;
  return c;
}

Constant Constant::integer(int64_t v) {
  Constant c;
  c.kind_ = Kind::Int;
  c.data_ = v;
  return c;
}

Constant Constant::real(double v) {
  Constant c;
  c.kind_ = Kind::Double;
  c.data_ = v;
  return c;
}

Constant Constant::string(std::string v) {
  Constant c;
  c.kind_ = Kind::String;
  c.data_ = std::move(v);
  return c;
}

Constant Constant::device(std::string v) {
  Constant c;
  c.kind_ = Kind::Device;
  c.data_ = std::move(v);
  return c;
}

Constant Constant::int_list(std::vector<int64_t> v) {
  Constant c;
  c.kind_ = Kind::IntList;
  c.data_ = std::move(v);
  return c;
}

Constant Constant::double_list(std::vector<double> v) {
  Constant c;
  c.kind_ = Kind::DoubleList;
  c.data_ = std::move(v);
  return c;
}

Constant Constant::bool_list(std::vector<bool> v) {
  Constant c;
  c.kind_ = Kind::BoolList;
  c.data_ = std::move(v);
  return c;
}

bool Constant::to_bool() const {
  TORCH_CHECK(kind_ == Kind::Bool, "Constant: expected bool, got ", kind_name(kind_));
  return std::get<bool>(data_);
}

int64_t Constant::to_int() const {
  TORCH_CHECK(kind_ == Kind::Int, "Constant: expected int, got ", kind_name(kind_));
  return std::get<int64_t>(data_);
}

double Constant::to_double() const {
  TORCH_CHECK(kind_ == Kind::Double, "Constant: expected float, got ", kind_name(kind_));
  return std::get<double>(data_);
}

const std::string& Constant::to_string() const {
  TORCH_CHECK(kind_ == Kind::String || kind_ == Kind::Device, "Constant: expected str or Device, got ",
              kind_name(kind_));
  return std::get<std::string>(data_);
}

const std::vector<int64_t>& Constant::to_int_list() const {
  TORCH_CHECK(kind_ == Kind::IntList, "Constant: expected int[], got ", kind_name(kind_));
  return std::get<std::vector<int64_t>>(data_);
}

const std::vector<double>& Constant::to_double_list() const {
  TORCH_CHECK(kind_ == Kind::DoubleList, "Constant: expected float[], got ", kind_name(kind_));
  return std::get<std::vector<double>>(data_);
}

const std::vector<bool>& Constant::to_bool_list() const {
  TORCH_CHECK(kind_ == Kind::BoolList, "Constant: expected bool[], got ", kind_name(kind_));
  return std::get<std::vector<bool>>(data_);
}

bool Constant::operator==(const Constant& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::Double:
      return same_bits(to_double(), other.to_double());
    case Kind::DoubleList: {
      const auto& a = to_double_list();
      const auto& b = other.to_double_list();
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!same_bits(a[i], b[i])) return false;
      }
      return true;
    }
    default:
      return data_ == other.data_;
  }
}

c10::IValue to_ivalue(const Constant& c, const c10::TypePtr* expected) {
  using K = Constant::Kind;
  switch (c.kind()) {
    case K::None:
      return c10::IValue();
    case K::Bool:
      return c10::IValue(c.to_bool());
    case K::Int:
      if (expected && expects_float(*expected)) return c10::IValue(static_cast<double>(c.to_int()));
      return c10::IValue(c.to_int());
    case K::Double:
      return c10::IValue(c.to_double());
    case K::String:
      return c10::IValue(c.to_string());
    case K::Device:
      return c10::IValue(c10::Device(c.to_string()));
    case K::IntList: {
      if (expected && expects_float_list(*expected)) {
        const auto& v = c.to_int_list();
        return c10::IValue(c10::List<double>(std::vector<double>(v.begin(), v.end())));
      }
      return c10::IValue(c10::List<int64_t>(c.to_int_list()));
    }
    case K::DoubleList:
      return c10::IValue(c10::List<double>(c.to_double_list()));
    case K::BoolList: {
      c10::List<bool> list;
      for (bool b : c.to_bool_list()) list.push_back(b);
      return c10::IValue(std::move(list));
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled constant kind");
}

const char* to_string(InputRole role) {
  switch (role) {
    case InputRole::Data:
      return "data";
    case InputRole::Training:
      return "training";
    case InputRole::Parameter:
      return "param";
    case InputRole::Buffer:
      return "buffer";
  }
  return "?";
}

const char* to_string(RunsIn r) {
  switch (r) {
    case RunsIn::Always:
      return "always";
    case RunsIn::Training:
      return "train_only";
    case RunsIn::Eval:
      return "eval_only";
  }
  return "?";
}

}  // namespace nncf::ir
