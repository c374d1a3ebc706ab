#include "tools/cli/line_reader.h"

#include <editline/readline.h>

#include <cstdlib>

namespace minimind::cli {

std::optional<std::string> LineReader::Read(const char* prompt) {
  if (!interactive_) {
    std::string line;
    if (!std::getline(in_, line)) return std::nullopt;
    return line;
  }
  out_ << std::flush;
  char* line = ::readline(prompt);
  if (line == nullptr) return std::nullopt;
  std::string text(line);
  std::free(line);
  if (!text.empty()) ::add_history(text.c_str());
  return text;
}

}  // namespace minimind::cli
