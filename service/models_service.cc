#include "service/models_service.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"
#include "service/grpc_status.h"
#include "service/request_checks.h"

namespace minimind {

ModelsService::ModelsService(const ModelSlot& model) : model_(model) {}

grpc::ServerUnaryReactor* ModelsService::GetModelInfo(grpc::CallbackServerContext* context,
                                                      const v1::GetModelInfoRequest* request,
                                                      v1::ModelInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  absl::StatusOr<ServingModel*> loaded = model_.Get();
  if (!loaded.ok()) {
    reactor->Finish(ToGrpcStatus(loaded.status()));
    return reactor;
  }
  const ModelBundle& bundle = (*loaded)->bundle;
  const Engine& engine = *(*loaded)->engine;
  const ModelConfig& config = bundle.model.config;
  const KvCacheConfig& kv = engine.kv_config();
  const EngineStats stats = engine.Stats();
  response->set_architecture(ArchitectureName(config.architecture));
  response->set_parameter_count(bundle.model.parameter_count);
  response->set_vocab_size(config.vocab_size);
  response->set_tokenizer_vocab_size(bundle.tokenizer.vocab_size());
  response->set_context_length(config.max_position_embeddings);
  response->set_num_layers(config.num_layers);
  response->set_hidden_size(config.hidden_size);
  response->set_kv_dtype(std::string(KvElementTypeName(kv.element_type)));
  response->set_kv_block_size(kv.block_size);
  response->set_kv_memory_bytes(kv.memory_bytes);
  response->set_kv_blocks_total(engine.kv_num_blocks());
  response->set_kv_blocks_in_use(stats.kv.blocks_used);
  response->set_kv_blocks_cached(stats.kv.blocks_cached);
  response->set_has_chat_template(bundle.chat_template.has_value());
  response->set_running_requests(stats.running);
  response->set_waiting_requests(stats.waiting);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ModelsService::Tokenize(grpc::CallbackServerContext* context,
                                                  const v1::TokenizeRequest* request,
                                                  v1::TokenizeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  absl::StatusOr<ServingModel*> loaded = model_.Get();
  if (!loaded.ok()) {
    reactor->Finish(ToGrpcStatus(loaded.status()));
    return reactor;
  }
  const ModelBundle& bundle = (*loaded)->bundle;
  const PromptBuilder& prompts = *(*loaded)->prompts;
  // Tokenize shares GenerateRequest's input validation and limits.
  v1::GenerateRequest as_generate;
  switch (request->input_case()) {
    case v1::TokenizeRequest::kText:
      if (absl::Status s = CheckUtf8("text", request->text()); !s.ok()) {
        reactor->Finish(ToGrpcStatus(s));
        return reactor;
      }
      as_generate.set_prompt(request->text());
      break;
    case v1::TokenizeRequest::kMessages:
      *as_generate.mutable_messages() = request->messages();
      break;
    case v1::TokenizeRequest::INPUT_NOT_SET:
      reactor->Finish(
          ToGrpcStatus(absl::InvalidArgumentError("input is empty: set text or messages")));
      return reactor;
  }
  const bool parse_special = !request->has_parse_special() || request->parse_special();
  if (!parse_special && request->input_case() == v1::TokenizeRequest::kText) {
    const std::string& text = request->text();
    if (text.empty() || static_cast<int64_t>(text.size()) > prompts.limits().max_prompt_bytes ||
        !IsValidUtf8(text)) {
      // Same messages as the special-parsing path.
      absl::StatusOr<std::vector<int32_t>> checked = prompts.Build(as_generate);
      reactor->Finish(ToGrpcStatus(checked.status()));
      return reactor;
    }
    absl::StatusOr<std::vector<TokenId>> ids = bundle.tokenizer.Encode(text, false);
    if (!ids.ok()) {
      reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(ids.status().message())));
      return reactor;
    }
    response->mutable_token_ids()->Add(ids->begin(), ids->end());
    response->set_text(text);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  absl::StatusOr<std::vector<int32_t>> ids = prompts.Build(as_generate);
  if (!ids.ok()) {
    reactor->Finish(ToGrpcStatus(ids.status()));
    return reactor;
  }
  response->mutable_token_ids()->Add(ids->begin(), ids->end());
  absl::StatusOr<std::string> text = bundle.tokenizer.Decode(*ids);
  if (text.ok()) response->set_text(*text);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ModelsService::Detokenize(grpc::CallbackServerContext* context,
                                                    const v1::DetokenizeRequest* request,
                                                    v1::DetokenizeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = CheckRequestParsed(*request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  absl::StatusOr<ServingModel*> loaded = model_.Get();
  if (!loaded.ok()) {
    reactor->Finish(ToGrpcStatus(loaded.status()));
    return reactor;
  }
  const ModelBundle& bundle = (*loaded)->bundle;
  const PromptBuilder& prompts = *(*loaded)->prompts;
  const auto& ids = request->token_ids();
  if (ids.size() > prompts.limits().max_detokenize_ids) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("token_ids has ", ids.size(), " entries; the limit is ",
                     prompts.limits().max_detokenize_ids))));
    return reactor;
  }
  const std::vector<TokenId> tokens(ids.begin(), ids.end());
  absl::StatusOr<std::string> text = bundle.tokenizer.Decode(tokens, request->skip_special());
  if (!text.ok()) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(text.status().message())));
    return reactor;
  }
  response->set_text(*text);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace minimind
