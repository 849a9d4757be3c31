// Errors as values at layer boundaries (CONVENTIONS.md: no exception crosses a layer).
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace p2pgit {

/** A failure: a machine-readable code (an enum of the module that failed) and one human line. */
template <typename Code>
struct Failure {
  Code code;
  std::string message;
};

template <typename Code>
Failure<Code> Fail(Code code, std::string message) {
  return Failure<Code>{code, std::move(message)};
}

/** Either a value or a Failure<Code>. Accessing the wrong side is a programming error. */
template <typename T, typename Code>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
  Result(Failure<Code> failure) : m_state(std::in_place_index<1>, std::move(failure)) {}

  bool ok() const { return m_state.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(m_state); }
  const T& value() const& { return std::get<0>(m_state); }
  T&& value() && { return std::get<0>(std::move(m_state)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Failure<Code>& error() const { return std::get<1>(m_state); }
  Code code() const { return error().code; }
  const std::string& message() const { return error().message; }

 private:
  std::variant<T, Failure<Code>> m_state;
};

/** Result of an operation that yields nothing but may fail. */
struct Ok {};
template <typename Code>
using Status = Result<Ok, Code>;

}  // namespace p2pgit
