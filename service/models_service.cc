#include "service/models_service.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/tokenizer/utf8.h"
#include "service/grpc_status.h"
#include "service/request_checks.h"

namespace minimind {
namespace {

absl::Status FillModelInfo(const ServingModel& model, v1::ModelInfo& response) {
  const ModelBundle& bundle = model.bundle;
  const Engine& engine = *model.engine;
  const ModelConfig& config = bundle.model.config;
  const KvCacheConfig& kv = engine.kv_config();
  const EngineStats stats = engine.Stats();
  response.set_architecture(ArchitectureName(config.architecture));
  response.set_parameter_count(bundle.model.parameter_count);
  response.set_vocab_size(config.vocab_size);
  response.set_tokenizer_vocab_size(bundle.tokenizer.vocab_size());
  response.set_context_length(config.max_position_embeddings);
  response.set_num_layers(config.num_layers);
  response.set_hidden_size(config.hidden_size);
  response.set_kv_dtype(std::string(KvElementTypeName(kv.element_type)));
  response.set_kv_block_size(kv.block_size);
  response.set_kv_memory_bytes(kv.memory_bytes);
  response.set_kv_blocks_total(engine.kv_num_blocks());
  response.set_kv_blocks_in_use(stats.kv.blocks_used);
  response.set_kv_blocks_cached(stats.kv.blocks_cached);
  response.set_has_chat_template(bundle.chat_template.has_value());
  response.set_running_requests(stats.running);
  response.set_waiting_requests(stats.waiting);
  return absl::OkStatus();
}

absl::Status FillTokenize(const ServingModel& model, const v1::TokenizeRequest& request,
                          v1::TokenizeResponse& response) {
  const PromptBuilder& prompts = *model.prompts;
  // Tokenize shares GenerateRequest's input validation and limits.
  v1::GenerateRequest as_generate;
  switch (request.input_case()) {
    case v1::TokenizeRequest::kText:
      MINIMIND_RETURN_IF_ERROR(CheckUtf8("text", request.text()));
      as_generate.set_prompt(request.text());
      break;
    case v1::TokenizeRequest::kMessages:
      *as_generate.mutable_messages() = request.messages();
      break;
    case v1::TokenizeRequest::INPUT_NOT_SET:
      return absl::InvalidArgumentError("input is empty: set text or messages");
  }
  const bool parse_special = !request.has_parse_special() || request.parse_special();
  if (!parse_special && request.input_case() == v1::TokenizeRequest::kText) {
    const std::string& text = request.text();
    if (text.empty() || static_cast<int64_t>(text.size()) > prompts.limits().max_prompt_bytes ||
        !IsValidUtf8(text)) {
      // Same messages as the special-parsing path.
      return prompts.Build(as_generate).status();
    }
    absl::StatusOr<std::vector<TokenId>> ids = model.bundle.tokenizer.Encode(text, false);
    if (!ids.ok()) return absl::InvalidArgumentError(ids.status().message());
    response.mutable_token_ids()->Add(ids->begin(), ids->end());
    response.set_text(text);
    return absl::OkStatus();
  }
  MINIMIND_ASSIGN_OR_RETURN(std::vector<int32_t> ids, prompts.Build(as_generate));
  response.mutable_token_ids()->Add(ids.begin(), ids.end());
  absl::StatusOr<std::string> text = model.bundle.tokenizer.Decode(ids);
  if (text.ok()) response.set_text(*text);
  return absl::OkStatus();
}

absl::Status FillDetokenize(const ServingModel& model, const v1::DetokenizeRequest& request,
                            v1::DetokenizeResponse& response) {
  const PromptBuilder& prompts = *model.prompts;
  const auto& ids = request.token_ids();
  if (ids.size() > prompts.limits().max_detokenize_ids) {
    return absl::InvalidArgumentError(absl::StrCat("token_ids has ", ids.size(),
                                                   " entries; the limit is ",
                                                   prompts.limits().max_detokenize_ids));
  }
  const std::vector<TokenId> tokens(ids.begin(), ids.end());
  absl::StatusOr<std::string> text = model.bundle.tokenizer.Decode(tokens, request.skip_special());
  if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
  response.set_text(*text);
  return absl::OkStatus();
}

// Checks that `request` parsed and a model is served, then runs fill(model, request, response).
template <typename Request, typename Fill>
absl::Status Serve(const ServiceDependencies& deps, const grpc::CallbackServerContext& context,
                   const Request& request, Fill fill) {
  MINIMIND_RETURN_IF_ERROR(CheckRequestParsed(request));
  MINIMIND_ASSIGN_OR_RETURN(ServingModel * model, deps.model.Get());
  MINIMIND_RETURN_IF_ERROR(deps.authenticator.Authenticate(context).status());
  return fill(*model);
}

}  // namespace

ModelsService::ModelsService(const ServiceDependencies& deps) : deps_(deps) {}

grpc::ServerUnaryReactor* ModelsService::GetModelInfo(grpc::CallbackServerContext* context,
                                                      const v1::GetModelInfoRequest* request,
                                                      v1::ModelInfo* response) {
  return FinishUnary(context, Serve(deps_, *context, *request, [&](const ServingModel& model) {
                       return FillModelInfo(model, *response);
                     }));
}

grpc::ServerUnaryReactor* ModelsService::Tokenize(grpc::CallbackServerContext* context,
                                                  const v1::TokenizeRequest* request,
                                                  v1::TokenizeResponse* response) {
  return FinishUnary(context, Serve(deps_, *context, *request, [&](const ServingModel& model) {
                       return FillTokenize(model, *request, *response);
                     }));
}

grpc::ServerUnaryReactor* ModelsService::Detokenize(grpc::CallbackServerContext* context,
                                                    const v1::DetokenizeRequest* request,
                                                    v1::DetokenizeResponse* response) {
  return FinishUnary(context, Serve(deps_, *context, *request, [&](const ServingModel& model) {
                       return FillDetokenize(model, *request, *response);
                     }));
}

}  // namespace minimind
