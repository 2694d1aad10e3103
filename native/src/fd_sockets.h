// The fd walk's inner loop (fd_sockets.cc), exported by the nodeward_proc addon.
#ifndef NODEWARD_FD_SOCKETS_H
#define NODEWARD_FD_SOCKETS_H

#include <node_api.h>

namespace nodeward {

// Adds fdSockets() to the addon's exports.
void RegisterFdSockets(napi_env env, napi_value exports);

}  // namespace nodeward

#endif
