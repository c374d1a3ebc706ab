// LineReader: where `minimind chat` reads its lines. On a terminal: libedit's readline (line
// editing, arrow-key history of this session); otherwise plain std::getline on the stream, so
// piped input and tests behave exactly as before.
#ifndef MINIMIND_TOOLS_CLI_LINE_READER_H_
#define MINIMIND_TOOLS_CLI_LINE_READER_H_

#include <istream>
#include <optional>
#include <ostream>
#include <string>

namespace minimind::cli {

class LineReader {
 public:
  // `interactive`: stdin is a terminal and `in` is std::cin.
  LineReader(std::istream& in, std::ostream& out, bool interactive)
      : in_(in), out_(out), interactive_(interactive) {}

  // The next line without its newline, or nullopt at end of input.
  std::optional<std::string> Read(const char* prompt);

 private:
  std::istream& in_;
  std::ostream& out_;
  const bool interactive_;
};

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_LINE_READER_H_
