// Errors from syscalls, thrown to JavaScript as Error objects with Node's usual
// fields (code "EPERM", errno, syscall, path) so TypeScript can wrap them.
#pragma once
#include <napi.h>

#include <string>

Napi::Error ErrnoError(Napi::Env env, const char *syscall, int err, const std::string &path = "");
[[noreturn]] void ThrowErrno(Napi::Env env, const char *syscall, int err, const std::string &path = "");
