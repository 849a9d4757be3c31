// Terminal escaping and the default clone directory: every class of character a terminal acts on
// comes out as a visible escape, printable text (ASCII and not) comes out unchanged, and every
// hostile repo name becomes one safe path component.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/terminal_text.h"

using namespace p2pgit;
using p2pgit::cli::DefaultCloneDirectory;
using p2pgit::cli::EscapeForTerminal;
using p2pgit::cli::MAX_CLONE_DIRECTORY_BYTES;

namespace {

/** A fixed repo id (0x12 0x20 || 32 bytes 1..32): deterministic fallback names. */
identity::RepoId TestRepo() {
  identity::RepoId id;
  id.multihash[0] = 0x12;
  id.multihash[1] = 0x20;
  for (size_t i = 2; i < id.multihash.size(); ++i) id.multihash[i] = uint8_t(i - 1);
  return id;
}

std::string FallbackName() {
  std::string id = TestRepo().ToString();
  return "repo-" + id.substr(id.size() - 12);
}

/** Escaped output holds no byte a terminal interprets: no C0 but (allowed) \n and \t, no DEL,
 *  no C1 (0xc2 0x80..0x9f), no bidi control's UTF-8 bytes. */
void ExpectInert(const std::string& s, bool allow_newlines) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (allow_newlines && (c == '\n' || c == '\t')) continue;
    EXPECT_FALSE(c < 0x20 || c == 0x7f) << "control byte at " << i << " in " << s;
    if (c == 0xc2 && i + 1 < s.size()) {
      EXPECT_GT(static_cast<unsigned char>(s[i + 1]), 0x9f) << s;
    }
  }
  for (const char* bidi : {"\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                           "\u2066", "\u2067", "\u2068", "\u2069"})
    EXPECT_EQ(s.find(bidi), std::string::npos) << s;
}

/** One safe path component: what DefaultCloneDirectory promises. */
void ExpectSafeComponent(const std::string& dir) {
  SCOPED_TRACE("directory: " + dir);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(dir.find('/'), std::string::npos);
  EXPECT_EQ(dir.find('\\'), std::string::npos);
  EXPECT_EQ(dir.find(".."), std::string::npos);
  EXPECT_NE(dir, ".");
  EXPECT_NE(dir.front(), '.');
  EXPECT_NE(dir.front(), '-');
  EXPECT_NE(dir.front(), ' ');
  EXPECT_LE(dir.size(), MAX_CLONE_DIRECTORY_BYTES);
  ExpectInert(dir, false);
  // Escaping changes nothing: no control, bidi or invalid UTF-8 left.
  EXPECT_EQ(EscapeForTerminal(dir, false), dir);
}

TEST(EscapeForTerminal, C0ControlsBecomeHexEscapes) {
  EXPECT_EQ(EscapeForTerminal("red \x1b[31mALERT\x1b[0m", false), "red \\x1b[31mALERT\\x1b[0m");
  EXPECT_EQ(EscapeForTerminal(std::string("a\0b", 3), false), "a\\x00b");
  EXPECT_EQ(EscapeForTerminal("bell\a", false), "bell\\x07");
  EXPECT_EQ(EscapeForTerminal("over\rwrite", true), "over\\x0dwrite");  // \r never allowed
  EXPECT_EQ(EscapeForTerminal("x\x1f", false), "x\\x1f");
  // \n and \t: kept when allowed, escaped when not.
  EXPECT_EQ(EscapeForTerminal("line1\n\tline2", true), "line1\n\tline2");
  EXPECT_EQ(EscapeForTerminal("line1\n\tline2", false), "line1\\x0a\\x09line2");
  for (int c = 0; c < 0x20; ++c) ExpectInert(EscapeForTerminal(std::string(1, char(c)), false), false);
}

TEST(EscapeForTerminal, DelBecomesHexEscape) {
  EXPECT_EQ(EscapeForTerminal("del\x7f", false), "del\\x7f");
  EXPECT_EQ(EscapeForTerminal("del\x7f", true), "del\\x7f");
}

TEST(EscapeForTerminal, C1ControlsBecomeCodePointEscapes) {
  EXPECT_EQ(EscapeForTerminal("csi\u009b31m", false), "csi\\u009b31m");  // 8-bit CSI
  EXPECT_EQ(EscapeForTerminal("\u0080", false), "\\u0080");
  EXPECT_EQ(EscapeForTerminal("\u009f", true), "\\u009f");
  EXPECT_EQ(EscapeForTerminal("\u0085", true), "\\u0085");  // NEL is not a newline we allow
  // U+00A0 and above are not C1.
  EXPECT_EQ(EscapeForTerminal("\u00a0\u00e9", false), "\u00a0\u00e9");
}

TEST(EscapeForTerminal, EachBidiControlBecomesCodePointEscape) {
  const std::pair<const char*, const char*> cases[] = {
      {"\u061c", "\\u061c"}, {"\u200e", "\\u200e"}, {"\u200f", "\\u200f"}, {"\u202a", "\\u202a"},
      {"\u202b", "\\u202b"}, {"\u202c", "\\u202c"}, {"\u202d", "\\u202d"}, {"\u202e", "\\u202e"},
      {"\u2066", "\\u2066"}, {"\u2067", "\\u2067"}, {"\u2068", "\\u2068"}, {"\u2069", "\\u2069"},
  };
  for (const auto& [raw, escaped] : cases) {
    EXPECT_EQ(EscapeForTerminal(std::string("a") + raw + "b", false), std::string("a") + escaped + "b")
        << escaped;
    EXPECT_EQ(EscapeForTerminal(raw, true), escaped) << escaped;
  }
  // Neighbours of the bidi ranges are ordinary text.
  EXPECT_EQ(EscapeForTerminal("\u061b\u2010\u2029\u202f\u2065\u206a", false),
            "\u061b\u2010\u2029\u202f\u2065\u206a");
}

TEST(EscapeForTerminal, InvalidUtf8BytesBecomeHexEscapes) {
  EXPECT_EQ(EscapeForTerminal("a\xff"
                              "b",
                              false),
            "a\\xffb");
  EXPECT_EQ(EscapeForTerminal("\x80", false), "\\x80");                             // lone continuation
  EXPECT_EQ(EscapeForTerminal("\xc3", false), "\\xc3");                             // truncated
  EXPECT_EQ(EscapeForTerminal("\xe2\x80", false), "\\xe2\\x80");                    // truncated 3-byte
  EXPECT_EQ(EscapeForTerminal("\xc1\x9b", false), "\\xc1\\x9b");                    // overlong ESC-ish
  EXPECT_EQ(EscapeForTerminal("\xe0\x80\x9b", false), "\\xe0\\x80\\x9b");           // overlong
  EXPECT_EQ(EscapeForTerminal("\xed\xa0\x80", false), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(EscapeForTerminal("\xf4\x90\x80\x80", false), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  EXPECT_EQ(EscapeForTerminal("\xf5", false), "\\xf5");
}

TEST(EscapeForTerminal, PrintableUtf8IsUnchanged) {
  for (const std::string text : {"plain ASCII: ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", "caf\u00e9 na\u00efve",
                                 "\u0436\u0443\u0440\u043d\u0430\u043b", "\u65e5\u672c\u8a9e",
                                 "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
                                 "emoji \U0001f680", "\\x1b stays a literal backslash", ""}) {
    EXPECT_EQ(EscapeForTerminal(text, false), text);
    EXPECT_EQ(EscapeForTerminal(text, true), text);
  }
}

TEST(DefaultCloneDirectory, ParentTraversalBecomesItsLastName) {
  EXPECT_EQ(DefaultCloneDirectory("../../escaped", TestRepo()), "escaped");
  ExpectSafeComponent(DefaultCloneDirectory("a/../../b", TestRepo()));
  ExpectSafeComponent(DefaultCloneDirectory("..\\..\\win", TestRepo()));
}

TEST(DefaultCloneDirectory, AbsolutePathBecomesRelativeName) {
  EXPECT_EQ(DefaultCloneDirectory("/etc", TestRepo()), "etc");
  EXPECT_EQ(DefaultCloneDirectory("/etc/passwd", TestRepo()), "etc-passwd");
}

TEST(DefaultCloneDirectory, NoLeadingDashOrDot) {
  EXPECT_EQ(DefaultCloneDirectory("-rf", TestRepo()), "rf");
  EXPECT_EQ(DefaultCloneDirectory(".hidden", TestRepo()), "hidden");
  EXPECT_EQ(DefaultCloneDirectory("--.-x", TestRepo()), "x");
  EXPECT_EQ(DefaultCloneDirectory("  spaced  ", TestRepo()), "spaced");
}

TEST(DefaultCloneDirectory, NothingUsableFallsBackToTheRepoId) {
  std::string fallback = FallbackName();
  EXPECT_EQ(DefaultCloneDirectory("..", TestRepo()), fallback);
  EXPECT_EQ(DefaultCloneDirectory(".", TestRepo()), fallback);
  EXPECT_EQ(DefaultCloneDirectory("", TestRepo()), fallback);
  EXPECT_EQ(DefaultCloneDirectory("/", TestRepo()), fallback);
  EXPECT_EQ(DefaultCloneDirectory("\x1b\x07\x7f\u009b\u202e", TestRepo()), fallback);  // only controls
  EXPECT_EQ(DefaultCloneDirectory("\xff\xfe", TestRepo()), fallback);
  ExpectSafeComponent(fallback);
  EXPECT_EQ(fallback.size(), 5u + 12u);
}

TEST(DefaultCloneDirectory, LongNameIsBoundedAtACodePoint) {
  std::string ascii(300, 'a');
  EXPECT_EQ(DefaultCloneDirectory(ascii, TestRepo()), std::string(MAX_CLONE_DIRECTORY_BYTES, 'a'));
  std::string wide;
  for (int i = 0; i < 100; ++i) wide += "\u00e9";  // 200 bytes of 2-byte letters, odd cut
  std::string dir = DefaultCloneDirectory("x" + wide + std::string(99, 'b'), TestRepo());
  ExpectSafeComponent(dir);
  EXPECT_LE(dir.size(), MAX_CLONE_DIRECTORY_BYTES);
  EXPECT_GE(dir.size(), MAX_CLONE_DIRECTORY_BYTES - 1);
}

TEST(DefaultCloneDirectory, BidiAndControlCharactersBecomeOneDash) {
  EXPECT_EQ(DefaultCloneDirectory("invoice\u202etxt.exe", TestRepo()), "invoice-txt.exe");
  EXPECT_EQ(DefaultCloneDirectory("a\u2066\u2069b", TestRepo()), "a-b");
  EXPECT_EQ(DefaultCloneDirectory("a\x1b[31mb", TestRepo()), "a-[31mb");
  EXPECT_EQ(DefaultCloneDirectory("a\xff\xfe"
                                  "b",
                                  TestRepo()),
            "a-b");
  EXPECT_EQ(DefaultCloneDirectory("\u202eevil", TestRepo()), "evil");
}

TEST(DefaultCloneDirectory, OrdinaryNamesAreKept) {
  EXPECT_EQ(DefaultCloneDirectory("p2p-git", TestRepo()), "p2p-git");
  EXPECT_EQ(DefaultCloneDirectory("my.repo_v2", TestRepo()), "my.repo_v2");
  EXPECT_EQ(DefaultCloneDirectory("\u0436\u0443\u0440\u043d\u0430\u043b", TestRepo()),
            "\u0436\u0443\u0440\u043d\u0430\u043b");
  EXPECT_EQ(DefaultCloneDirectory("a...b", TestRepo()), "a.b");  // no ".." anywhere
}

TEST(DefaultCloneDirectory, EveryHostileNameIsOneSafeComponent) {
  for (const std::string& name :
       std::vector<std::string>{"../../escaped", "/etc", "-rf", ".hidden", "..", "", "\x01\x02\x03",
                                std::string(300, 'z'), "\u202e\u2066x\u2069", "a/b/c", "./.", "-", "...",
                                " ../x", std::string("nul\0byte", 8), "\xc0\xaf\xc0\xaf", "\u2028line"}) {
    std::string dir = DefaultCloneDirectory(name, TestRepo());
    ExpectSafeComponent(dir);
  }
}

}  // namespace
