// JSON Schema to grammar: the json_schema constraint. The output is a JSON document the schema
// accepts (an independent validator, ajv, checks it in the tests).
//
// Supported keywords: type (one or a list), properties, required, additionalProperties, items,
// minItems, maxItems, enum, const, anyOf, oneOf (generated as anyOf: the output matches at least
// one branch), allOf of one schema, $ref to "#" or a JSON pointer within the document ($defs,
// definitions; recursion allowed), minLength, maxLength, pattern, format (date, time, date-time,
// uuid, email, ipv4), and true/false schemas. Annotations (title, description, $schema, $id,
// $comment, examples, default, deprecated, readOnly, writeOnly, $defs, definitions) change
// nothing. Every other keyword is InvalidArgument naming it and where it is; never ignored.
//
// What the output looks like: an object has the schema's properties in the schema's order,
// required ones always and optional ones when the model chooses to, and no other properties
// (additionalProperties true, absent or a schema allows more, and none is also valid); an object
// schema without properties allows any members (of the additionalProperties schema when it is
// one). Whitespace and number bounds as in json_grammar.h.
#ifndef MINIMIND_ENGINE_CONSTRAIN_JSON_SCHEMA_COMPILER_H_
#define MINIMIND_ENGINE_CONSTRAIN_JSON_SCHEMA_COMPILER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/constrain/grammar.h"

namespace minimind {

struct JsonSchemaLimits {
  int64_t max_schema_bytes = 65536;
  int max_nesting = 32;  // schemas within schemas
  int64_t max_grammar_states = 200000;
};

// InvalidArgument for text that is not a JSON object/boolean schema, an unsupported keyword or
// value (naming it and its JSON pointer), or a limit; ResourceExhausted past max_grammar_states.
absl::StatusOr<Grammar> CompileJsonSchema(absl::string_view schema_text,
                                          const JsonSchemaLimits& limits = {});
// Any JSON object (the json_object constraint; OpenAI's response_format json_object).
absl::StatusOr<Grammar> CompileJsonObject(int64_t max_grammar_states = 200000);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_CONSTRAIN_JSON_SCHEMA_COMPILER_H_
