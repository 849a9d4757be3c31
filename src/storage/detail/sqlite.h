// Thin RAII wrappers over the SQLite C API: a connection with a prepared-statement cache and a
// borrowed statement that resets itself. Internal to storage; every SQLite error becomes a
// Failure<StoreError> carrying SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/bytes.h"
#include "base/result.h"
#include "storage/store.h"

namespace p2pgit::storage::detail {

StoreError ErrorFromSqlite(int rc);
Failure<StoreError> SqliteFailure(sqlite3* db, int rc, std::string_view context);

/**
 * A cached statement borrowed for one use: bind, step, read columns. The destructor resets it and
 * clears its bindings so the cache can hand it out again. Bind errors are kept and reported by the
 * first Step.
 */
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, const char* sql) : m_db(db), m_stmt(stmt), m_sql(sql) {}
  Statement(Statement&& other) noexcept
      : m_db(other.m_db), m_stmt(other.m_stmt), m_sql(other.m_sql), m_bind_rc(other.m_bind_rc) {
    other.m_stmt = nullptr;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Values are copied (SQLITE_TRANSIENT).
  void Bind(int index, int64_t value);
  void Bind(int index, double value);
  void Bind(int index, ByteSpan blob);  // an empty span binds an empty blob, not NULL
  void Bind(int index, std::string_view text);
  void Bind(int index, const std::optional<Bytes>& blob);  // nullopt binds NULL
  void BindNull(int index);

  /** @return true when a row is available, false when done. */
  StoreResult<bool> Step();
  /** Steps to completion (for writes). */
  StoreStatus Run();

  // Columns are 0-based.
  bool IsNull(int column) const;
  int64_t Int(int column) const;
  double Real(int column) const;
  Bytes Blob(int column) const;
  std::optional<Bytes> OptionalBlob(int column) const;
  std::string Text(int column) const;

 private:
  void Check(int rc);
  sqlite3* m_db;
  sqlite3_stmt* m_stmt;
  const char* m_sql;
  int m_bind_rc = SQLITE_OK;
};

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /** Opens (creating) the file in multi-thread mode with extended result codes. */
  StoreStatus Open(const std::string& path);
  sqlite3* db() const { return m_db; }

  /**
   * A statement for sql, prepared once and cached by its text. A statement must not be borrowed
   * twice at the same time (don't run a query from inside a loop over the same query).
   */
  StoreResult<Statement> Prepare(const char* sql);
  /** Runs one or more statements without results (pragmas, BEGIN, DDL). */
  StoreStatus Exec(const char* sql);

 private:
  sqlite3* m_db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> m_cache;
};

}  // namespace p2pgit::storage::detail
