#include "storage/detail/sqlite.h"

#include <limits>

namespace p2pgit::storage::detail {

StoreError ErrorFromSqlite(int rc) {
  switch (rc & 0xff) {  // primary code of an extended result code
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StoreError::Busy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StoreError::Corrupt;
    case SQLITE_CONSTRAINT:
      return StoreError::Constraint;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return StoreError::Io;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return StoreError::InvalidArgument;
    default:
      return StoreError::Sqlite;
  }
}

Failure<StoreError> SqliteFailure(sqlite3* db, int rc, std::string_view context) {
  std::string message = "sqlite: ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (";
  message += context;
  message += ")";
  return Fail(ErrorFromSqlite(rc), std::move(message));
}

Statement::~Statement() {
  if (m_stmt == nullptr) return;
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

void Statement::Check(int rc) {
  if (rc != SQLITE_OK && m_bind_rc == SQLITE_OK) m_bind_rc = rc;
}

void Statement::Bind(int index, int64_t value) {
  Check(sqlite3_bind_int64(m_stmt, index, value));
}
void Statement::Bind(int index, double value) {
  Check(sqlite3_bind_double(m_stmt, index, value));
}

void Statement::Bind(int index, ByteSpan blob) {
  // sqlite3_bind_blob with a null pointer binds NULL; an empty blob needs zeroblob(0).
  if (blob.empty()) {
    Check(sqlite3_bind_zeroblob(m_stmt, index, 0));
    return;
  }
  if (blob.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    Check(SQLITE_TOOBIG);
    return;
  }
  Check(sqlite3_bind_blob(m_stmt, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT));
}

void Statement::Bind(int index, std::string_view text) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    Check(SQLITE_TOOBIG);
    return;
  }
  Check(sqlite3_bind_text(m_stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
}

void Statement::Bind(int index, const std::optional<Bytes>& blob) {
  if (blob) {
    Bind(index, ByteSpan(*blob));
  } else {
    BindNull(index);
  }
}

void Statement::BindNull(int index) {
  Check(sqlite3_bind_null(m_stmt, index));
}

StoreResult<bool> Statement::Step() {
  if (m_bind_rc != SQLITE_OK) {
    return Fail(ErrorFromSqlite(m_bind_rc),
                std::string("sqlite: cannot bind: ") + sqlite3_errstr(m_bind_rc) + " (" + m_sql + ")");
  }
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteFailure(m_db, rc, m_sql);
}

StoreStatus Statement::Run() {
  while (true) {
    auto row = Step();
    if (!row) return row.error();
    if (!*row) return Ok{};
  }
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}
int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(m_stmt, column);
}
double Statement::Real(int column) const {
  return sqlite3_column_double(m_stmt, column);
}

Bytes Statement::Blob(int column) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(m_stmt, column));
  int size = sqlite3_column_bytes(m_stmt, column);  // after column_blob, as SQLite documents
  if (data == nullptr || size <= 0) return {};
  return Bytes(data, data + size);
}

std::optional<Bytes> Statement::OptionalBlob(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Blob(column);
}

std::string Statement::Text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, column));
  int size = sqlite3_column_bytes(m_stmt, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(data, static_cast<size_t>(size));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : m_cache) sqlite3_finalize(stmt);
  if (m_db != nullptr) sqlite3_close_v2(m_db);
}

StoreStatus Connection::Open(const std::string& path) {
  // Multi-thread mode: one connection is never used by two threads at once (store.h).
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    auto failure = SqliteFailure(m_db, rc, "open " + path);
    sqlite3_close_v2(m_db);
    m_db = nullptr;
    return failure;
  }
  sqlite3_extended_result_codes(m_db, 1);
  return Ok{};
}

StoreResult<Statement> Connection::Prepare(const char* sql) {
  auto it = m_cache.find(sql);
  if (it == m_cache.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteFailure(m_db, rc, sql);
    it = m_cache.emplace(sql, stmt).first;
  }
  return Statement(m_db, it->second, it->first.c_str());
}

StoreStatus Connection::Exec(const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Ok{};
  std::string message = std::string("sqlite: ") + (error != nullptr ? error : sqlite3_errstr(rc));
  sqlite3_free(error);
  std::string context(sql);
  if (context.size() > 80) context = context.substr(0, 80) + "…";
  return Fail(ErrorFromSqlite(rc), message + " (" + context + ")");
}

}  // namespace p2pgit::storage::detail
