// Session-affine routing: every call about a session carries its id as `x-session-id` metadata,
// so a load balancer in front of several replicas (deploy/nginx: `hash $http_x_session_id
// consistent`) sends all of a session's turns to the replica that holds its KV cache. The server
// itself reads the id from the request, never from this header.
#ifndef MINIMIND_TOOLS_CLI_SESSION_ROUTING_H_
#define MINIMIND_TOOLS_CLI_SESSION_ROUTING_H_

#include <grpcpp/client_context.h>

#include <string>

namespace minimind {

inline constexpr char kSessionRoutingHeader[] = "x-session-id";

// Adds the routing header for `session_id`; nothing for an empty id (stateless calls).
inline void RouteBySession(grpc::ClientContext& context, const std::string& session_id) {
  if (!session_id.empty()) context.AddMetadata(kSessionRoutingHeader, session_id);
}

}  // namespace minimind

#endif  // MINIMIND_TOOLS_CLI_SESSION_ROUTING_H_
