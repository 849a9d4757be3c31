// Deterministic generator of a large, realistic git history for the clone/sync benchmark.
// Writes a `git fast-import` stream on stdout (bench/make_bench_repo.sh pipes it into git).
//
// Realistic means: many files in nested directories, a big initial commit, then commits that
// edit a few files with small hunks (which delta well) and often add a new file (new content,
// which does not). Everything comes from one seeded PRNG, fixed names and fixed dates, so the
// same arguments give byte-identical repositories (same commit ids) on every machine.
//
// Delta quality: fast-import deltas a blob against the blob written just before it. So all
// versions of one file are written consecutively (file-major), then the commits refer to them
// by mark; the pack fast-import writes is then already well deltified, without a repack -f.
//
// Standalone (no project dependency) so the script can build it with one g++ call.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Rng {  // splitmix64: tiny, fast, and the same everywhere
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }
};

struct Options {
  uint64_t seed = 20240601;
  uint32_t commits = 20000;
  uint32_t initial_files = 400;
  uint32_t file_lines = 420;        // average lines of a new file
  uint32_t new_file_per_mille = 600;  // chance per commit of adding a file
};

std::vector<std::string> MakeVocabulary(Rng& rng) {
  static const char* syllables[] = {"ka", "lo", "ri", "tem", "pa", "sun", "dro", "vel", "mi", "qua",
                                    "bel", "tor", "nix", "est", "ar", "on", "ul", "zen", "ba", "cy"};
  std::vector<std::string> words;
  for (int i = 0; i < 3000; ++i) {
    std::string w;
    int parts = 1 + static_cast<int>(rng.Below(3));
    for (int p = 0; p < parts; ++p) w += syllables[rng.Below(20)];
    if (rng.Below(4) == 0) w += "_" + std::string(syllables[rng.Below(20)]);
    words.push_back(w);
  }
  return words;
}

class LineMaker {
 public:
  explicit LineMaker(const std::vector<std::string>& vocabulary) : m_words(vocabulary) {}
  std::string Line(Rng& rng) const {
    char buf[256];
    std::string indent(4 * rng.Below(4), ' ');
    const std::string& a = W(rng);
    const std::string& b = W(rng);
    const std::string& c = W(rng);
    switch (rng.Below(5)) {
      case 0:
        std::snprintf(buf, sizeof buf, "%s%s = %s(%s, 0x%016llx, %u);", indent.c_str(), a.c_str(), b.c_str(),
                      c.c_str(), static_cast<unsigned long long>(rng.Next()), rng.Below(100000));
        break;
      case 1:
        std::snprintf(buf, sizeof buf, "%sif (%s > %u) { %s(%s); }", indent.c_str(), a.c_str(), rng.Below(1000),
                      b.c_str(), c.c_str());
        break;
      case 2:
        std::snprintf(buf, sizeof buf, "%s// %s %s %s %s %s", indent.c_str(), a.c_str(), b.c_str(), c.c_str(),
                      W(rng).c_str(), W(rng).c_str());
        break;
      case 3:
        std::snprintf(buf, sizeof buf, "%sreturn %s.%s(%u, \"%s-%08x\");", indent.c_str(), a.c_str(), b.c_str(),
                      rng.Below(64), c.c_str(), static_cast<unsigned>(rng.Next()));
        break;
      default:
        std::snprintf(buf, sizeof buf, "%sstatic const %s %s_%s = %lld;", indent.c_str(), a.c_str(), b.c_str(),
                      c.c_str(), static_cast<long long>(rng.Next() % 10000000000ull));
        break;
    }
    return buf;
  }

 private:
  const std::string& W(Rng& rng) const { return m_words[rng.Below(static_cast<uint32_t>(m_words.size()))]; }
  const std::vector<std::string>& m_words;
};

struct FileInfo {
  std::string path;
  uint32_t created_at = 0;           // commit index
  std::vector<uint32_t> touched_at;  // commits editing it, increasing
  std::vector<uint32_t> marks;       // blob mark per version (creation, then each edit)
};

void Data(std::FILE* out, const std::string& bytes) {
  std::fprintf(out, "data %zu\n", bytes.size());
  std::fwrite(bytes.data(), 1, bytes.size(), out);
  std::fputc('\n', out);
}

std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) {
    s += l;
    s += '\n';
  }
  return s;
}

int Usage() {
  std::fprintf(stderr,
               "usage: make_bench_repo [--seed N] [--commits N] [--initial-files N] [--file-lines N] "
               "[--new-file-per-mille N] > stream\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return Usage();
    uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
    std::string flag = argv[i++];
    if (flag == "--seed") o.seed = v;
    else if (flag == "--commits") o.commits = static_cast<uint32_t>(v);
    else if (flag == "--initial-files") o.initial_files = static_cast<uint32_t>(v);
    else if (flag == "--file-lines") o.file_lines = static_cast<uint32_t>(v);
    else if (flag == "--new-file-per-mille") o.new_file_per_mille = static_cast<uint32_t>(v);
    else return Usage();
  }
  if (o.commits == 0 || o.initial_files == 0 || o.file_lines < 4) return Usage();

  Rng plan{o.seed};
  std::vector<std::string> vocabulary = MakeVocabulary(plan);
  LineMaker maker(vocabulary);

  // Pass 1: which files each commit creates and edits.
  std::vector<FileInfo> files;
  std::vector<std::vector<uint32_t>> commit_files(o.commits);  // file indexes touched or created
  auto new_file = [&](uint32_t commit) {
    char path[160];
    uint32_t n = static_cast<uint32_t>(files.size());
    std::snprintf(path, sizeof path, "src/%s/%s/%s_%u.c", vocabulary[plan.Below(40)].c_str(),
                  vocabulary[40 + plan.Below(6)].c_str(), vocabulary[100 + plan.Below(2000)].c_str(), n);
    files.push_back({path, commit, {}, {}});
    commit_files[commit].push_back(n);
  };
  for (uint32_t f = 0; f < o.initial_files; ++f) new_file(0);
  for (uint32_t c = 1; c < o.commits; ++c) {
    uint32_t edits = 1 + plan.Below(3);
    for (uint32_t e = 0; e < edits; ++e) {
      // Recent files are edited more often, as in real projects.
      uint32_t count = static_cast<uint32_t>(files.size());
      uint32_t f = plan.Below(4) == 0 ? count - 1 - plan.Below(std::min<uint32_t>(count, 50)) : plan.Below(count);
      auto& touched = files[f].touched_at;
      if (!touched.empty() && touched.back() == c) continue;
      touched.push_back(c);
      commit_files[c].push_back(f);
    }
    if (plan.Below(1000) < o.new_file_per_mille) new_file(c);
  }

  std::FILE* out = stdout;
  static char buffer[1 << 20];
  std::setvbuf(out, buffer, _IOFBF, sizeof buffer);

  // Pass 2: every version of every file, file after file (see the delta note at the top).
  uint32_t next_mark = 1;
  for (size_t f = 0; f < files.size(); ++f) {
    Rng rng{o.seed ^ (0x51ed270b27f1c0d3ull * (f + 1))};
    std::vector<std::string> lines;
    uint32_t n = o.file_lines / 2 + rng.Below(o.file_lines);
    for (uint32_t i = 0; i < n; ++i) lines.push_back(maker.Line(rng));
    for (size_t version = 0; version <= files[f].touched_at.size(); ++version) {
      if (version > 0) {
        uint32_t hunks = 1 + rng.Below(4);
        for (uint32_t h = 0; h < hunks; ++h) {
          size_t at = rng.Below(static_cast<uint32_t>(lines.size()));
          size_t remove = std::min<size_t>(rng.Below(4), lines.size() - at);
          lines.erase(lines.begin() + static_cast<long>(at), lines.begin() + static_cast<long>(at + remove));
          uint32_t add = 1 + rng.Below(6);
          for (uint32_t a = 0; a < add; ++a) lines.insert(lines.begin() + static_cast<long>(at), maker.Line(rng));
        }
      }
      files[f].marks.push_back(next_mark);
      std::fprintf(out, "blob\nmark :%u\n", next_mark++);
      Data(out, Join(lines));
    }
  }

  // Pass 3: the commits.
  static const char* names[] = {"Ada Lovelace", "Alan Turing", "Grace Hopper", "Ken Thompson", "Barbara Liskov",
                                "Donald Knuth", "Frances Allen", "Edsger Dijkstra", "Margaret Hamilton", "Linus T"};
  std::vector<size_t> version(files.size(), 0);
  uint32_t first_commit_mark = next_mark;
  const uint64_t base_time = 1600000000;
  for (uint32_t c = 0; c < o.commits; ++c) {
    const char* who = names[plan.Below(10)];
    std::string email;
    for (const char* p = who; *p; ++p) email += (*p == ' ') ? '.' : static_cast<char>(std::tolower(*p));
    uint64_t when = base_time + 600ull * c + plan.Below(600);
    std::fprintf(out, "commit refs/heads/main\nmark :%u\n", next_mark);
    std::fprintf(out, "author %s <%s@example.org> %llu +0000\n", who, email.c_str(), static_cast<unsigned long long>(when));
    std::fprintf(out, "committer %s <%s@example.org> %llu +0000\n", who, email.c_str(),
                 static_cast<unsigned long long>(when + 30));
    std::string message = c == 0 ? "Initial import\n" : "Change " + std::to_string(c) + ": " +
                                                              vocabulary[plan.Below(3000)] + " " +
                                                              vocabulary[plan.Below(3000)] + "\n";
    Data(out, message);
    if (c > 0) std::fprintf(out, "from :%u\n", next_mark - 1);
    for (uint32_t f : commit_files[c]) {
      uint32_t mark = files[f].marks[files[f].created_at == c ? 0 : ++version[f]];
      std::fprintf(out, "M 100644 :%u %s\n", mark, files[f].path.c_str());
    }
    std::fputc('\n', out);
    ++next_mark;
    if ((c + 1) % 1000 == 0) std::fprintf(out, "reset refs/tags/v%u\nfrom :%u\n\n", (c + 1) / 1000, next_mark - 1);
  }
  (void)first_commit_mark;
  std::fflush(out);
  return std::ferror(out) ? 1 : 0;
}
