#include "engine/tokenizer/known_chat_templates.h"

#include <cstdint>

namespace minimind {
namespace {

// Identifies a published template text without keeping a copy of it. FNV-1a guards against
// accidental matches only, which is all detection needs: a near-miss template has another hash.
struct TemplateFingerprint {
  size_t length;
  uint64_t fnv1a;
  ChatTemplateKind kind;
};

// Measured from the `chat_template` of the tokenizer_config.json files MiniMind publishes
// (minimind-3 at commit d65ef2c, MiniMind2 at commit c090b69).
constexpr TemplateFingerprint kPublishedTemplates[] = {
    {3895, 0xa42856d092c2689bULL, ChatTemplateKind::kMiniMind3},
    {3342, 0xd2c221ad78b4395dULL, ChatTemplateKind::kMiniMind2},
};

uint64_t Fnv1a64(absl::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

absl::string_view ChatTemplateKindName(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::kMiniMind3:
      return "minimind-3";
    case ChatTemplateKind::kMiniMind2:
      return "minimind2";
    case ChatTemplateKind::kChatMl:
      return "chatml";
    case ChatTemplateKind::kChatMlFallback:
      return "chatml-fallback";
  }
  return "unknown";
}

std::optional<ChatTemplateKind> DetectChatTemplateKind(absl::string_view template_text) {
  if (template_text == kChatMlTemplate) return ChatTemplateKind::kChatMl;
  const uint64_t hash = Fnv1a64(template_text);
  for (const TemplateFingerprint& known : kPublishedTemplates) {
    if (known.length == template_text.size() && known.fnv1a == hash) return known.kind;
  }
  return std::nullopt;
}

}  // namespace minimind
