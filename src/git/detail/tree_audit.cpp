#include "git/detail/tree_audit.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "git/detail/process.h"

namespace p2pgit::git::detail {

namespace {

constexpr size_t OID_HEX_CHARS = 40;
constexpr size_t RAW_OID_BYTES = 20;

char LowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool StartsWithNoCase(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size()) return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i)
    if (LowerAscii(s[i]) != lower_prefix[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// HFS+ aliases. HFS+ ignores some code points entirely when comparing names and folds case, so
// ".g\u200cIT" is ".git" there. Malformed UTF-8 ends the comparison as the end of the name
// does, as git does: stricter at the end (".git\xff" counts as ".git"), a mismatch elsewhere.

/** The next code point of `s`, or 0 at the end or on malformed UTF-8 (overlong forms,
 *  surrogates, above U+10FFFF, U+FFFE/U+FFFF). */
char32_t NextCodePoint(std::string_view& s) {
  if (s.empty()) return 0;
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) {
    s.remove_prefix(1);
    return c;
  }
  size_t len;
  char32_t cp;
  char32_t min;
  if ((c & 0xe0) == 0xc0) {
    len = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    s = {};
    return 0;
  }
  if (s.size() < len) {
    s = {};
    return 0;
  }
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xc0) != 0x80) {
      s = {};
      return 0;
    }
    cp = (cp << 6) | (b(i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff) {
    s = {};
    return 0;
  }
  s.remove_prefix(len);
  return cp;
}

bool IsHfsIgnorable(char32_t cp) {
  return (cp >= 0x200c && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x206a && cp <= 0x206f) ||
         cp == 0xfeff;
}

char32_t NextHfsChar(std::string_view& s) {
  for (;;) {
    char32_t cp = NextCodePoint(s);
    if (cp == 0 || !IsHfsIgnorable(cp)) return cp;
  }
}

/** `name` is "." + `needle` (lowercase ASCII) on HFS+. */
bool IsHfsDotName(std::string_view name, std::string_view needle) {
  if (NextHfsChar(name) != U'.') return false;
  for (char want : needle) {
    char32_t c = NextHfsChar(name);
    if (c > 127 || LowerAscii(static_cast<char>(c)) != want) return false;
  }
  char32_t c = NextHfsChar(name);
  return c == 0 || c == U'/';
}

// ---------------------------------------------------------------------------------------------
// NTFS aliases. NTFS drops trailing dots and spaces, reads "name:stream" as a stream of "name"
// (".git::$INDEX_ALLOCATION" is the .git directory), has 8.3 short names ("GIT~1", "GITMOD~1")
// and treats '\\' as a separator.

/** Only dots and spaces from `i` until the end of `name` or `stop` (a separator or ':'). */
bool OnlyDotsAndSpacesUntil(std::string_view name, size_t i, std::string_view stop) {
  for (; i < name.size(); ++i) {
    char c = name[i];
    if (stop.find(c) != std::string_view::npos) return true;
    if (c != '.' && c != ' ') return false;
  }
  return true;
}

bool IsNtfsDotGit(std::string_view name) {
  size_t i;
  if (StartsWithNoCase(name, ".git"))
    i = 4;
  else if (StartsWithNoCase(name, "git~1"))
    i = 5;
  else
    return false;
  return OnlyDotsAndSpacesUntil(name, i, "\\/:");
}

/** `name` is "." + `dotless` on NTFS: the name itself with trailing dots/spaces or a stream
 *  suffix, its regular short name (first six characters, "~1".."~4"), or the fallback short
 *  name Windows derives from a hash (`short_prefix`, up to 6 characters, then "~" and digits
 *  making 8 characters). */
bool IsNtfsDotName(std::string_view name, std::string_view dotless, std::string_view short_prefix) {
  auto at = [&](size_t i) { return i < name.size() ? name[i] : '\0'; };
  if (at(0) == '.' && StartsWithNoCase(name.substr(1), dotless))
    return OnlyDotsAndSpacesUntil(name, 1 + dotless.size(), ":");
  if (StartsWithNoCase(name, dotless.substr(0, 6)) && at(6) == '~' && at(7) >= '1' && at(7) <= '4')
    return OnlyDotsAndSpacesUntil(name, 8, ":");
  if (name.size() < 8) return false;
  size_t tilde = name.substr(0, 8).find('~');
  if (tilde == std::string_view::npos || tilde > 6) return false;
  for (size_t i = 0; i < tilde; ++i)
    if (LowerAscii(name[i]) != short_prefix[i]) return false;
  if (at(tilde + 1) < '1' || at(tilde + 1) > '9') return false;
  for (size_t i = tilde + 2; i < 8; ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  return OnlyDotsAndSpacesUntil(name, 8, ":");
}

struct DotFile {
  std::string_view dotless;       // "gitmodules"
  std::string_view short_prefix;  // Windows' hash-derived 8.3 prefix of ".gitmodules"
};
constexpr DotFile GITMODULES{"gitmodules", "gi7eba"};
constexpr DotFile GITATTRIBUTES{"gitattributes", "gi7d29"};
constexpr DotFile GITIGNORE{"gitignore", "gi250a"};
constexpr DotFile MAILMAP{"mailmap", "maba30"};

bool IsDotFileName(std::string_view name, const DotFile& file) {
  return IsHfsDotName(name, file.dotless) || IsNtfsDotName(name, file.dotless, file.short_prefix);
}

/** The components after each backslash: on Windows "a\\.git" is the path a/.git. */
template <typename F>
bool AnyBackslashComponent(std::string_view name, F&& test) {
  for (size_t p = name.find('\\'); p != std::string_view::npos; p = name.find('\\', p + 1))
    if (test(name.substr(p + 1))) return true;
  return false;
}

bool IsDotGitName(std::string_view name) {
  return IsHfsDotName(name, "git") || IsNtfsDotGit(name) || AnyBackslashComponent(name, IsNtfsDotGit);
}

bool IsKnownMode(uint32_t mode) {
  switch (mode) {
    case MODE_TREE:
    case MODE_FILE:
    case MODE_EXECUTABLE:
    case MODE_SYMLINK:
    case MODE_GITLINK:
      return true;
    default:
      return false;
  }
}

bool IsRegularFileMode(uint32_t mode) {
  return mode == MODE_FILE || mode == MODE_EXECUTABLE;
}

std::string OctalMode(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%o", mode);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// .gitmodules: git-config syntax. A reader over the bytes that folds CRLF to LF as git does.

class ConfigReader {
 public:
  explicit ConfigReader(std::string_view text) : m_text(text) {}
  static constexpr int END = -1;
  /** The next character; END once at the end of the text. */
  int Next() {
    if (m_pos >= m_text.size()) return END;
    char c = m_text[m_pos++];
    if (c == '\r' && m_pos < m_text.size() && m_text[m_pos] == '\n') c = m_text[m_pos++];
    if (c == '\n') ++m_line;
    return static_cast<unsigned char>(c);
  }
  size_t line() const { return m_line; }

 private:
  std::string_view m_text;
  size_t m_pos = 0;
  size_t m_line = 1;
};

bool IsConfigSpace(int c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}
bool IsAlpha(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsKeyChar(int c) {
  return IsAlpha(c) || (c >= '0' && c <= '9') || c == '-';
}
int LowerInt(int c) {
  return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

bool IsSeparator(char c) {
  return c == '/' || c == '\\';
}

bool HasDotDotComponent(std::string_view s) {
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || IsSeparator(s[i])) {
      if (s.substr(start, i - start) == "..") return true;
      start = i + 1;
    }
  }
  return false;
}

/** Absolute on any platform a checkout may run on: "/x", "\\x", "C:…". */
bool IsAbsoluteAnywhere(std::string_view s) {
  if (!s.empty() && IsSeparator(s[0])) return true;
  return s.size() >= 2 && IsAlpha(static_cast<unsigned char>(s[0])) && s[1] == ':';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool StartsWithDotSlash(std::string_view s) {
  return s.size() >= 2 && s[0] == '.' && IsSeparator(s[1]);
}
bool StartsWithDotDotSlash(std::string_view s) {
  return s.size() >= 3 && s[0] == '.' && s[1] == '.' && IsSeparator(s[2]);
}

/** Why git's submodule code must not be given this url (git's check_submodule_url, with both
 *  separators on every platform and newlines refused in every url). */
std::optional<std::string> CheckSubmoduleUrl(std::string_view url) {
  if (!url.empty() && url[0] == '-') return "url starts with '-' (an option of git or ssh)";
  std::string decoded = PercentDecode(url);
  if (decoded.find_first_of("\n\r") != std::string::npos) return "url contains a newline";
  if (StartsWithDotSlash(url) || StartsWithDotDotSlash(url)) {
    // "../" that climbs past the superproject's url replaces its host: "https::…", "https:///…"
    // (CVE-2020-11008).
    std::string_view rest = url;
    size_t climbs = 0;
    for (;;) {
      if (StartsWithDotDotSlash(rest)) {
        ++climbs;
        rest.remove_prefix(3);
      } else if (StartsWithDotSlash(rest)) {
        rest.remove_prefix(2);
      } else {
        break;
      }
    }
    if (climbs > 0 && !rest.empty() && (rest[0] == ':' || rest[0] == '/'))
      return "relative url climbs into the host part";
    return std::nullopt;
  }
  // URLs that git hands to curl: "<scheme>://" or the remote-helper form "<scheme>::<url>".
  std::string_view curl_url;
  bool is_curl = false;
  for (std::string_view scheme : {"http", "https", "ftp", "ftps"}) {
    std::string helper = std::string(scheme) + "::";
    std::string direct = std::string(scheme) + "://";
    if (url.starts_with(helper)) {
      curl_url = url.substr(helper.size());
      is_curl = true;
    } else if (url.starts_with(direct)) {
      curl_url = url;
      is_curl = true;
    }
  }
  if (is_curl) {
    size_t scheme_end = curl_url.find("://");
    if (scheme_end == std::string_view::npos) return "url has no scheme";
    std::string_view rest = curl_url.substr(scheme_end + 3);
    size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    size_t at = authority.rfind('@');
    std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
    if (PercentDecode(host).empty()) return "url has no host";
  }
  return std::nullopt;
}

/** git's check_submodule_name, plus absolute names (stricter). */
std::optional<std::string> CheckSubmoduleName(std::string_view name) {
  if (name.empty()) return "empty submodule name";
  if (IsAbsoluteAnywhere(name)) return "absolute submodule name";
  if (HasDotDotComponent(name)) return "submodule name with a '..' component";
  return std::nullopt;
}

std::optional<std::string> CheckSubmoduleSetting(std::string_view key, std::string_view value) {
  if (key == "url") return CheckSubmoduleUrl(value);
  if (key == "path") {
    if (!value.empty() && value[0] == '-') return "path starts with '-' (an option of git)";
    if (IsAbsoluteAnywhere(value)) return "absolute path";
    if (HasDotDotComponent(value)) return "path with a '..' component";
  }
  if (key == "update") {
    size_t first = value.find_first_not_of(" \t");
    if (first != std::string_view::npos && value[first] == '!') return "update runs a command ('!')";
  }
  if (key == "branch" && !value.empty() && value[0] == '-')
    return "branch starts with '-' (an option of git)";
  return std::nullopt;
}

class GitmodulesParser {
 public:
  explicit GitmodulesParser(std::string_view text) : m_in(text) {}

  std::optional<std::string> Run() {
    for (;;) {
      int c = m_in.Next();
      if (c == ConfigReader::END) return std::nullopt;
      if (c == '\n' || IsConfigSpace(c)) continue;
      if (c == '#' || c == ';') {
        SkipLine();
        continue;
      }
      if (c == '[') {
        if (!ParseSectionHeader()) return Error("bad section header");
        continue;
      }
      if (!IsAlpha(c)) return Error("bad config line");
      if (auto refused = ParseSetting(c)) return refused;
    }
  }

 private:
  std::string Error(std::string_view what) const {
    return "unparseable .gitmodules: " + std::string(what) + " at line " + std::to_string(m_in.line());
  }

  void SkipLine() {
    for (int c = m_in.Next(); c != ConfigReader::END && c != '\n'; c = m_in.Next()) {
    }
  }

  /** After '[': "name]" or "name "subsection"]"; the name lowercased, as git does. */
  bool ParseSectionHeader() {
    m_section.clear();
    m_subsection.reset();
    for (;;) {
      int c = m_in.Next();
      if (c == ConfigReader::END || c == '\n') return false;
      if (c == ']') return !m_section.empty();
      if (IsConfigSpace(c)) return ParseSubsection();
      if (!IsKeyChar(c) && c != '.') return false;
      if (m_section.size() >= MAX_GITMODULES_NAME_BYTES) return false;
      m_section += static_cast<char>(LowerInt(c));
    }
  }

  bool ParseSubsection() {
    if (m_section.empty()) return false;
    int c = m_in.Next();
    while (IsConfigSpace(c)) c = m_in.Next();
    if (c != '"') return false;
    std::string sub;
    for (;;) {
      c = m_in.Next();
      if (c == ConfigReader::END || c == '\n') return false;
      if (c == '"') break;
      if (c == '\\') {
        c = m_in.Next();
        if (c == ConfigReader::END || c == '\n') return false;
      }
      if (sub.size() >= MAX_GITMODULES_NAME_BYTES) return false;
      sub += static_cast<char>(c);
    }
    if (m_in.Next() != ']') return false;
    m_subsection = std::move(sub);
    return true;
  }

  /** A key (first character `first`) and its optional "= value". */
  std::optional<std::string> ParseSetting(int first) {
    if (m_section.empty()) return Error("setting outside a section");
    std::string key(1, static_cast<char>(LowerInt(first)));
    int c;
    for (;;) {
      c = m_in.Next();
      if (!IsKeyChar(c)) break;
      if (key.size() >= MAX_GITMODULES_NAME_BYTES) return Error("key too long");
      key += static_cast<char>(LowerInt(c));
    }
    while (c == ' ' || c == '\t') c = m_in.Next();
    std::optional<std::string> value;
    if (c != '\n' && c != ConfigReader::END) {
      if (c != '=') return Error("bad config line");
      value.emplace();
      if (auto bad = ParseValue(*value)) return bad;
    }
    return Judge(key, value);
  }

  /** git's value syntax: leading and trailing blanks dropped, inner runs of blanks kept (each
   *  as a space), "…" quoting, \\ \" \n \t \b escapes, backslash-newline continues the line,
   *  ';' or '#' outside quotes start a comment. */
  std::optional<std::string> ParseValue(std::string& out) {
    bool quoted = false;
    bool comment = false;
    size_t pending_spaces = 0;
    for (;;) {
      int c = m_in.Next();
      if (c == ConfigReader::END || c == '\n') {
        if (quoted) return Error("unterminated quote");
        return std::nullopt;
      }
      if (comment) continue;
      if (!quoted && IsConfigSpace(c)) {
        if (!out.empty()) ++pending_spaces;
        continue;
      }
      if (!quoted && (c == ';' || c == '#')) {
        comment = true;
        continue;
      }
      out.append(pending_spaces, ' ');
      pending_spaces = 0;
      if (c == '\\') {
        c = m_in.Next();
        switch (c) {
          case '\n':
            continue;
          case 't':
            c = '\t';
            break;
          case 'b':
            c = '\b';
            break;
          case 'n':
            c = '\n';
            break;
          case '\\':
          case '"':
            break;
          default:
            return Error("unknown escape in value");
        }
      } else if (c == '"') {
        quoted = !quoted;
        continue;
      }
      if (out.size() >= MAX_GITMODULES_VALUE_BYTES) return Error("value too long");
      out += static_cast<char>(c);
    }
  }

  /** Splits "<section>[.<subsection>].<key>" as git's parse_config_key does (section up to
   *  the first dot, key after the last), so "[submodule.x]" and "[submodule "x"]" both name
   *  submodule x. */
  std::optional<std::string> Judge(const std::string& key, const std::optional<std::string>& value) const {
    std::string var = m_section;
    if (m_subsection) var += "." + *m_subsection;
    var += "." + key;
    size_t first_dot = var.find('.');
    size_t last_dot = var.rfind('.');
    if (var.substr(0, first_dot) != "submodule" || first_dot == last_dot) return std::nullopt;
    std::string_view name = std::string_view(var).substr(first_dot + 1, last_dot - first_dot - 1);
    if (auto bad = CheckSubmoduleName(name)) return *bad + " \"" + EscapeForLine(name) + "\"";
    if (!value) return std::nullopt;
    if (auto bad = CheckSubmoduleSetting(key, *value))
      return "submodule \"" + EscapeForLine(name) + "\": " + *bad + ": \"" + EscapeForLine(*value) + "\"";
    return std::nullopt;
  }

  ConfigReader m_in;
  std::string m_section;
  std::optional<std::string> m_subsection;
};

// ---------------------------------------------------------------------------------------------
// Driver: git cat-file with its stdin written only when the pipe has room and its stdout read
// as it arrives, in one poll loop (no thread, no deadlock: neither side waits on a full pipe).

/** Bytes per stdin write: the kernel accepts up to PIPE_BUF bytes without blocking once poll
 *  reports the pipe writable, so a blocking write of this size never stalls the loop. */
constexpr size_t STDIN_CHUNK_BYTES = 4096;
/** A cat-file header line ("<oid> <type> <size>") longer than this is not git's. */
constexpr size_t MAX_HEADER_BYTES = 256;

using Sink = std::function<std::optional<Failure<GitError>>(std::string_view chunk)>;

GitStatus PumpCatFile(const std::filesystem::path& git_dir, const std::vector<std::string>& env,
                      const std::string& mode, const std::vector<std::string_view>& oids, const Sink& sink) {
  auto started =
      GitProcess::Start(InGitDir(git_dir.string(), {"cat-file", mode, "--buffer"}, env), true, true);
  if (!started) return started.error();
  GitProcess& p = *started;
  size_t next = 0;
  if (oids.empty()) p.CloseStdin();
  std::string chunk;
  std::vector<uint8_t> buf(64 * 1024);
  bool out_open = true;
  while (out_open) {
    pollfd fds[2];
    int count = 0;
    fds[count++] = {p.stdout_fd(), POLLIN, 0};
    bool writing = p.stdin_fd() >= 0;
    if (writing) fds[count++] = {p.stdin_fd(), POLLOUT, 0};
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return Fail(GitError::GitFailed, std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = p.Read(buf);
      if (n <= 0) {
        out_open = false;
      } else if (auto failure =
                     sink(std::string_view(reinterpret_cast<const char*>(buf.data()), size_t(n)))) {
        p.Kill();
        return *failure;
      }
    }
    if (writing && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      chunk.clear();
      while (next < oids.size() && chunk.size() + oids[next].size() + 1 <= STDIN_CHUNK_BYTES) {
        chunk += oids[next++];
        chunk += '\n';
      }
      if (!p.Write(AsBytes(chunk)) || next == oids.size()) p.CloseStdin();
    }
  }
  GitExit exit = p.Wait();
  if (exit.exit_code != 0) return Fail(GitError::GitFailed, "cat-file " + mode + ": " + exit.Line());
  // A child that stopped reading before every id was written has exited with an error above;
  // the sink checks that every id was answered.
  return Ok{};
}

/** Splits `cat-file --batch` output into objects: header line, `size` bytes, LF. */
class BatchObjectReader {
 public:
  /** `on_object(oid, type, content)`; `limit(type)`: the largest content accepted. */
  using ObjectFn =
      std::function<std::optional<Failure<GitError>>(std::string_view, std::string_view, std::string_view)>;
  using LimitFn = std::function<std::optional<Failure<GitError>>(std::string_view, std::string_view, size_t)>;
  BatchObjectReader(ObjectFn on_object, LimitFn check_header)
      : m_on_object(std::move(on_object)), m_check_header(std::move(check_header)) {}

  std::optional<Failure<GitError>> Feed(std::string_view data) {
    while (!data.empty()) {
      if (m_state == State::Header) {
        size_t nl = data.find('\n');
        std::string_view part = data.substr(0, nl);
        if (m_header.size() + part.size() > MAX_HEADER_BYTES)
          return Failure<GitError>{GitError::GitFailed, "cat-file --batch printed an unexpected line"};
        m_header.append(part);
        if (nl == std::string_view::npos) return std::nullopt;
        data.remove_prefix(nl + 1);
        if (auto bad = StartObject()) return bad;
      } else if (m_state == State::Content) {
        size_t take = std::min(data.size(), m_size - m_content.size());
        m_content.append(data.substr(0, take));
        data.remove_prefix(take);
        if (m_content.size() == m_size) m_state = State::Terminator;
      } else {
        if (data[0] != '\n')
          return Failure<GitError>{GitError::GitFailed, "cat-file --batch output out of step"};
        data.remove_prefix(1);
        ++m_objects;
        m_state = State::Header;
        auto result = m_on_object(m_oid, m_type, m_content);
        m_header.clear();
        m_content.clear();  // keeps its capacity: one tree's worth, reused
        if (result) return result;
      }
    }
    return std::nullopt;
  }
  size_t objects() const { return m_objects; }
  bool idle() const { return m_state == State::Header && m_header.empty(); }

 private:
  enum class State { Header, Content, Terminator };

  std::optional<Failure<GitError>> StartObject() {
    std::string_view h(m_header);
    size_t sp1 = h.find(' ');
    std::string_view oid = h.substr(0, sp1);
    if (sp1 == std::string_view::npos)
      return Failure<GitError>{GitError::GitFailed, "cat-file --batch printed an unexpected line"};
    std::string_view rest = h.substr(sp1 + 1);
    if (rest == "missing" || rest == "ambiguous")
      return Failure<GitError>{GitError::MissingObjects, "object " + EscapeForLine(oid) + " cannot be read"};
    size_t sp2 = rest.find(' ');
    if (sp2 == std::string_view::npos || sp2 + 1 >= rest.size())
      return Failure<GitError>{GitError::GitFailed, "cat-file --batch printed an unexpected line"};
    size_t size = 0;
    for (char c : rest.substr(sp2 + 1)) {
      if (c < '0' || c > '9' || size > (SIZE_MAX - 9) / 10)
        return Failure<GitError>{GitError::GitFailed, "cat-file --batch printed an unexpected size"};
      size = size * 10 + static_cast<size_t>(c - '0');
    }
    m_oid.assign(oid);
    m_type.assign(rest.substr(0, sp2));
    if (auto bad = m_check_header(m_oid, m_type, size)) return bad;
    m_size = size;
    m_content.reserve(size);
    m_state = size == 0 ? State::Terminator : State::Content;
    return std::nullopt;
  }

  ObjectFn m_on_object;
  LimitFn m_check_header;
  State m_state = State::Header;
  std::string m_header;
  std::string m_oid;
  std::string m_type;
  std::string m_content;
  size_t m_size = 0;
  size_t m_objects = 0;
};

bool IsOidHex(std::string_view s) {
  if (s.size() != OID_HEX_CHARS) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Failure<GitError> Hostile(std::string line) {
  return Failure<GitError>{GitError::HostileContent, std::move(line)};
}

}  // namespace

const char* TreeParseErrorName(TreeParseError error) {
  switch (error) {
    case TreeParseError::TooLarge:
      return "too-large";
    case TreeParseError::TooManyEntries:
      return "too-many-entries";
    case TreeParseError::BadMode:
      return "bad-mode";
    case TreeParseError::Truncated:
      return "truncated";
  }
  return "unknown";
}

Result<std::vector<TreeEntry>, TreeParseError> ParseTree(ByteSpan tree) {
  if (tree.size() > MAX_TREE_BYTES)
    return Fail(TreeParseError::TooLarge, "tree of " + std::to_string(tree.size()) + " bytes (limit " +
                                              std::to_string(MAX_TREE_BYTES) + ")");
  std::string_view text(reinterpret_cast<const char*>(tree.data()), tree.size());
  std::vector<TreeEntry> entries;
  size_t pos = 0;
  while (pos < text.size()) {
    if (entries.size() == MAX_TREE_ENTRIES)
      return Fail(TreeParseError::TooManyEntries,
                  "more than " + std::to_string(MAX_TREE_ENTRIES) + " entries");
    TreeEntry entry;
    size_t start = pos;
    uint32_t mode = 0;
    while (pos < text.size() && text[pos] != ' ') {
      char c = text[pos];
      if (c < '0' || c > '7')
        return Fail(TreeParseError::BadMode, "non-octal mode at offset " + std::to_string(pos));
      if (pos - start == MAX_TREE_MODE_DIGITS)
        return Fail(TreeParseError::BadMode, "mode of more than 7 digits at offset " + std::to_string(start));
      mode = mode * 8 + static_cast<uint32_t>(c - '0');
      ++pos;
    }
    if (pos == text.size())
      return Fail(TreeParseError::Truncated, "entry at offset " + std::to_string(start));
    if (pos == start) return Fail(TreeParseError::BadMode, "empty mode at offset " + std::to_string(start));
    entry.mode = mode;
    entry.mode_text = text.substr(start, pos - start);
    ++pos;  // the space
    size_t nul = text.find('\0', pos);
    if (nul == std::string_view::npos)
      return Fail(TreeParseError::Truncated, "entry name without NUL at offset " + std::to_string(pos));
    entry.name = text.substr(pos, nul - pos);
    pos = nul + 1;
    if (text.size() - pos < RAW_OID_BYTES)
      return Fail(TreeParseError::Truncated, "short object id at offset " + std::to_string(pos));
    entry.oid = tree.subspan(pos, RAW_OID_BYTES);
    pos += RAW_OID_BYTES;
    entries.push_back(entry);
  }
  return entries;
}

std::optional<std::string> CheckTreeEntryName(std::string_view name, uint32_t mode) {
  if (name.empty()) return "empty name";
  if (name.size() > MAX_TREE_ENTRY_NAME_BYTES)
    return "name longer than " + std::to_string(MAX_TREE_ENTRY_NAME_BYTES) + " bytes";
  if (name == ".") return "name is '.'";
  if (name == "..") return "name is '..'";
  if (name.find('/') != std::string_view::npos) return "name contains '/'";
  if (name.find('\0') != std::string_view::npos) return "name contains NUL";
  if (!IsKnownMode(mode)) return "bad file mode " + OctalMode(mode);
  if (IsDotGitName(name)) return "'.git' or a name a filesystem treats as '.git'";
  if (IsGitmodulesName(name) && !IsRegularFileMode(mode))
    return mode == MODE_SYMLINK ? std::string("'.gitmodules' is a symbolic link")
                                : "'.gitmodules' is not a regular file (mode " + OctalMode(mode) + ")";
  if (mode == MODE_SYMLINK) {
    if (IsDotFileName(name, GITATTRIBUTES)) return "'.gitattributes' is a symbolic link";
    if (IsDotFileName(name, GITIGNORE)) return "'.gitignore' is a symbolic link";
    if (IsDotFileName(name, MAILMAP)) return "'.mailmap' is a symbolic link";
  }
  return std::nullopt;
}

bool IsGitmodulesName(std::string_view name) {
  if (IsDotFileName(name, GITMODULES)) return true;
  return AnyBackslashComponent(name, [](std::string_view component) {
    return IsNtfsDotName(component, GITMODULES.dotless, GITMODULES.short_prefix);
  });
}

std::optional<std::string> CheckTreeEntries(std::span<const TreeEntry> entries) {
  auto refuse = [](const TreeEntry& e, const std::string& why) {
    return "entry \"" + EscapeForLine(e.name) + "\": " + why;
  };
  // Files that a later directory of the same name could duplicate: git sorts a directory as
  // if its name ended in '/', so "a" (file), "a.c", "a/" (directory) is in order yet holds
  // "a" twice. Each element is a prefix of the next, so the stack stays short and every name
  // is pushed and popped once.
  std::vector<std::string_view> open_files;
  static constexpr uint8_t NULL_OID[RAW_OID_BYTES] = {};
  for (size_t i = 0; i < entries.size(); ++i) {
    const TreeEntry& e = entries[i];
    if (auto bad = CheckTreeEntryName(e.name, e.mode)) return refuse(e, *bad);
    if (!e.mode_text.empty() && e.mode_text[0] == '0')
      return refuse(e, "zero-padded file mode " + std::string(e.mode_text));
    if (e.oid.size() != RAW_OID_BYTES) return refuse(e, "object id of the wrong length");
    if (std::equal(e.oid.begin(), e.oid.end(), NULL_OID)) return refuse(e, "null object id");
    bool is_dir = e.mode == MODE_TREE;
    if (i > 0) {
      const TreeEntry& prev = entries[i - 1];
      std::string_view a = prev.name, b = e.name;
      size_t common = std::min(a.size(), b.size());
      int cmp = std::memcmp(a.data(), b.data(), common);
      if (cmp == 0) {
        if (a.size() == b.size()) return refuse(e, "duplicate name");
        unsigned char ca =
            a.size() > common ? static_cast<unsigned char>(a[common]) : (prev.mode == MODE_TREE ? '/' : 0);
        unsigned char cb = b.size() > common ? static_cast<unsigned char>(b[common]) : (is_dir ? '/' : 0);
        if (ca >= cb) return refuse(e, "entries not in git's order");
      } else if (cmp > 0) {
        return refuse(e, "entries not in git's order");
      }
    }
    while (!open_files.empty()) {
      std::string_view top = open_files.back();
      bool still_open = e.name.starts_with(top) &&
                        (e.name.size() == top.size() || static_cast<unsigned char>(e.name[top.size()]) < '/');
      if (still_open) break;
      open_files.pop_back();
    }
    if (is_dir && !open_files.empty() && open_files.back() == e.name)
      return refuse(e, "duplicate name (a file and a directory)");
    if (!is_dir) open_files.push_back(e.name);
  }
  return std::nullopt;
}

std::optional<std::string> CheckGitmodulesBlob(std::string_view content) {
  if (content.size() > MAX_GITMODULES_BYTES)
    return ".gitmodules of " + std::to_string(content.size()) + " bytes (limit " +
           std::to_string(MAX_GITMODULES_BYTES) + ")";
  if (content.find('\0') != std::string_view::npos) return ".gitmodules contains a NUL byte";
  if (content.starts_with("\xef\xbb\xbf")) content.remove_prefix(3);  // a UTF-8 BOM, skipped by git too
  return GitmodulesParser(content).Run();
}

std::string EscapeForLine(std::string_view bytes, size_t max_bytes) {
  std::string out;
  size_t n = std::min(bytes.size(), max_bytes);
  out.reserve(n + 8);
  static constexpr char HEX[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += HEX[c >> 4];
      out += HEX[c & 15];
    }
  }
  if (bytes.size() > max_bytes) out += "...";
  return out;
}

GitStatus AuditObjects(const std::filesystem::path& git_dir, const std::vector<std::string>& env,
                       const std::vector<std::string>& oid_hex) {
  std::vector<std::string_view> all;
  all.reserve(oid_hex.size());
  for (const auto& oid : oid_hex) {
    if (!IsOidHex(oid))
      return Fail(GitError::InvalidArgument, "not an object id: \"" + EscapeForLine(oid) + "\"");
    all.emplace_back(oid);
  }
  if (all.empty()) return Ok{};

  // 1. Types. Only trees are read; other objects are judged by the trees that name them.
  std::vector<std::string> trees;
  std::string partial;
  size_t answered = 0;
  auto types = PumpCatFile(
      git_dir, env, "--batch-check=%(objectname) %(objecttype)", all,
      [&](std::string_view chunk) -> std::optional<Failure<GitError>> {
        while (!chunk.empty()) {
          size_t nl = chunk.find('\n');
          std::string_view piece = chunk.substr(0, nl);
          if (partial.size() + piece.size() > MAX_HEADER_BYTES)
            return Failure<GitError>{GitError::GitFailed,
                                     "cat-file --batch-check printed an unexpected line"};
          partial.append(piece);
          if (nl == std::string_view::npos) break;
          chunk.remove_prefix(nl + 1);
          std::string_view line(partial);
          size_t sp = line.find(' ');
          std::string_view type = sp == std::string_view::npos ? "" : line.substr(sp + 1);
          if (type == "missing" || type == "ambiguous" || sp != OID_HEX_CHARS)
            return Failure<GitError>{GitError::MissingObjects,
                                     "object " + EscapeForLine(line.substr(0, sp)) + " cannot be read"};
          if (type == "tree") trees.emplace_back(line.substr(0, sp));
          ++answered;
          partial.clear();
        }
        return std::nullopt;
      });
  if (!types) return types;
  if (answered != all.size())
    return Fail(GitError::GitFailed, "cat-file --batch-check answered " + std::to_string(answered) + " of " +
                                         std::to_string(all.size()) + " objects");

  // 2. Trees, one at a time. Each .gitmodules blob is remembered with the first tree naming it.
  struct Naming {
    std::string tree;
    std::string name;
  };
  std::unordered_map<std::string, Naming> gitmodules;
  BatchObjectReader tree_reader(
      [&](std::string_view oid, std::string_view type,
          std::string_view content) -> std::optional<Failure<GitError>> {
        if (type != "tree")
          return Failure<GitError>{GitError::GitFailed, "object " + std::string(oid) + " changed type"};
        auto entries = ParseTree(AsBytes(content));
        if (!entries)
          return Hostile("malformed tree " + std::string(oid) + ": " + TreeParseErrorName(entries.code()) +
                         ": " + entries.message());
        if (auto bad = CheckTreeEntries(*entries))
          return Hostile("hostile tree " + std::string(oid) + ": " + *bad);
        for (const auto& e : *entries)
          if (IsGitmodulesName(e.name))
            gitmodules.try_emplace(ToHex(e.oid), Naming{std::string(oid), std::string(e.name)});
        return std::nullopt;
      },
      [](std::string_view oid, std::string_view, size_t size) -> std::optional<Failure<GitError>> {
        if (size > MAX_TREE_BYTES)
          return Hostile("hostile tree " + std::string(oid) + ": " + std::to_string(size) + " bytes (limit " +
                         std::to_string(MAX_TREE_BYTES) + ")");
        return std::nullopt;
      });
  std::vector<std::string_view> tree_ids(trees.begin(), trees.end());
  auto read_trees = PumpCatFile(git_dir, env, "--batch", tree_ids,
                                [&](std::string_view chunk) { return tree_reader.Feed(chunk); });
  if (!read_trees) return read_trees;
  if (tree_reader.objects() != tree_ids.size() || !tree_reader.idle())
    return Fail(GitError::GitFailed, "cat-file --batch answered " + std::to_string(tree_reader.objects()) +
                                         " of " + std::to_string(tree_ids.size()) + " trees");
  if (gitmodules.empty()) return Ok{};

  // 3. The .gitmodules blobs, new or already in the store (a new tree can give an old blob the
  //    name .gitmodules).
  auto named = [&](std::string_view blob) {
    auto it = gitmodules.find(std::string(blob));
    if (it == gitmodules.end()) return "object " + EscapeForLine(blob);
    return "tree " + it->second.tree + " entry \"" + EscapeForLine(it->second.name) + "\"";
  };
  BatchObjectReader blob_reader(
      [&](std::string_view oid, std::string_view type,
          std::string_view content) -> std::optional<Failure<GitError>> {
        if (type != "blob")
          return Hostile("hostile .gitmodules: " + named(oid) + " names a " + std::string(type) +
                         ", not a blob");
        if (auto bad = CheckGitmodulesBlob(content))
          return Hostile("hostile .gitmodules blob " + std::string(oid) + " (" + named(oid) + "): " + *bad);
        return std::nullopt;
      },
      [&](std::string_view oid, std::string_view type, size_t size) -> std::optional<Failure<GitError>> {
        if (type == "blob" && size > MAX_GITMODULES_BYTES)
          return Hostile("hostile .gitmodules blob " + std::string(oid) + " (" + named(oid) +
                         "): " + std::to_string(size) + " bytes (limit " +
                         std::to_string(MAX_GITMODULES_BYTES) + ")");
        if (type != "blob")
          return Hostile("hostile .gitmodules: " + named(oid) + " names a " + EscapeForLine(type) +
                         ", not a blob");
        return std::nullopt;
      });
  std::vector<std::string_view> blob_ids;
  blob_ids.reserve(gitmodules.size());
  for (const auto& [blob, naming] : gitmodules) blob_ids.emplace_back(blob);
  std::sort(blob_ids.begin(), blob_ids.end());  // a deterministic first refusal
  auto read_blobs = PumpCatFile(git_dir, env, "--batch", blob_ids,
                                [&](std::string_view chunk) { return blob_reader.Feed(chunk); });
  if (!read_blobs) return read_blobs;
  if (blob_reader.objects() != blob_ids.size() || !blob_reader.idle())
    return Fail(GitError::GitFailed, "cat-file --batch answered " + std::to_string(blob_reader.objects()) +
                                         " of " + std::to_string(blob_ids.size()) + " .gitmodules blobs");
  return Ok{};
}

}  // namespace p2pgit::git::detail
