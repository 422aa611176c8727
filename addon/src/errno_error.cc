#include "errno_error.h"

#include <uv.h>

#include <cstring>

Napi::Error ErrnoError(Napi::Env env, const char *syscall, int err, const std::string &path) {
  const char *code = uv_err_name(-err);
  std::string message = std::string(code) + ": " + std::strerror(err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

void ThrowErrno(Napi::Env env, const char *syscall, int err, const std::string &path) {
  throw ErrnoError(env, syscall, err, path);
}
