// Small N-API helpers shared by the native addons (proc_events.cc, bpf_exec.cc).
#ifndef NODEWARD_NAPI_UTIL_H
#define NODEWARD_NAPI_UTIL_H

#include <node_api.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <string>

namespace nodeward {

inline double MonoMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

inline napi_value Str(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.data(), s.size(), &v);
  return v;
}

inline napi_value Num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

inline napi_value Bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

inline napi_value Null(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}

inline void Set(napi_env env, napi_value obj, const char* name, napi_value v) {
  napi_set_named_property(env, obj, name, v);
}

inline bool GetStringProp(napi_env env, napi_value obj, const char* name, std::string* out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return false;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return false;
  size_t len = 0;
  napi_get_value_string_utf8(env, v, nullptr, 0, &len);
  std::string s(len, '\0');
  napi_get_value_string_utf8(env, v, &s[0], len + 1, &len);
  *out = s;
  return true;
}

inline bool GetNumberProp(napi_env env, napi_value obj, const char* name, double* out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return false;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return false;
  return napi_get_value_double(env, v, out) == napi_ok;
}

inline const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ESRCH: return "ESRCH";
    case ELOOP: return "ELOOP";
    case ENOTDIR: return "ENOTDIR";
    default: return "EIO";
  }
}

// Throws an Error whose `code` is the errno's name, with `syscall` and `errno` set, and
// `detail` when given (e.g. the tail of libbpf's log).
inline napi_value ThrowErrno(napi_env env, const char* what, int err, const std::string& detail = std::string()) {
  char message[256];
  snprintf(message, sizeof(message), "%s: %s", what, strerror(err));
  napi_value code = Str(env, ErrnoName(err));
  napi_value msg = Str(env, message);
  napi_value error;
  napi_create_error(env, code, msg, &error);
  Set(env, error, "syscall", Str(env, what));
  Set(env, error, "errno", Num(env, err));
  if (!detail.empty()) Set(env, error, "detail", Str(env, detail));
  napi_throw(env, error);
  return nullptr;
}

}  // namespace nodeward

#endif
