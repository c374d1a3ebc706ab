// The chat page's files (service/http/web/), embedded in the binary at build time by
// cmake/embed_web_assets.cmake: served by the HTTP listener with no network or files at run time.
#ifndef MINIMIND_SERVICE_HTTP_WEB_ASSETS_H_
#define MINIMIND_SERVICE_HTTP_WEB_ASSETS_H_

#include <cstddef>

#include "absl/types/span.h"

namespace minimind {

struct WebAsset {
  const char* path;          // "/" for index.html, else "/<file name>"
  const char* content_type;  // with its charset
  const unsigned char* data;
  size_t size;
};

absl::Span<const WebAsset> WebAssets();

}  // namespace minimind

#endif  // MINIMIND_SERVICE_HTTP_WEB_ASSETS_H_
