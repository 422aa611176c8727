// compileSeccomp(): turns a seccomp filter already decided in TypeScript (actions and
// operators as numbers, syscalls by name) into classic BPF with libseccomp, in the
// parent, so hutch-init only has to load it.
#include <napi.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "errno_error.h"
#include "exports.h"

namespace {

// Action numbers shared with runtime/spec/seccomp.ts.
uint32_t ToAction(uint32_t action, uint32_t errno_ret) {
  switch (action) {
    case 0: return SCMP_ACT_KILL_THREAD;
    case 1: return SCMP_ACT_KILL_PROCESS;
    case 2: return SCMP_ACT_TRAP;
    case 3: return SCMP_ACT_ERRNO(errno_ret);
    case 4: return SCMP_ACT_TRACE(errno_ret);
    case 5: return SCMP_ACT_ALLOW;
    case 6: return SCMP_ACT_LOG;
    case 7: return SCMP_ACT_NOTIFY;
    default: return SCMP_ACT_KILL_PROCESS;
  }
}

uint64_t ToU64(const Napi::Value &v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
}

struct CtxDeleter {
  void operator()(void *ctx) const { seccomp_release(static_cast<scmp_filter_ctx>(ctx)); }
};

void Check(Napi::Env env, int rc, const char *what) {
  if (rc < 0) ThrowErrno(env, what, -rc);
}

std::vector<scmp_arg_cmp> Conditions(const Napi::Array &args) {
  std::vector<scmp_arg_cmp> conds;
  for (uint32_t i = 0; i < args.Length(); i++) {
    Napi::Object a = args.Get(i).As<Napi::Object>();
    scmp_arg_cmp c{};
    c.arg = a.Get("index").As<Napi::Number>().Uint32Value();
    c.op = static_cast<scmp_compare>(a.Get("op").As<Napi::Number>().Uint32Value());
    c.datum_a = ToU64(a.Get("value"));
    c.datum_b = a.Has("valueTwo") ? ToU64(a.Get("valueTwo")) : 0;
    conds.push_back(c);
  }
  return conds;
}

// Like runc: one rule with every condition when each argument index appears once;
// otherwise one rule per condition (libseccomp allows one comparison per argument).
void AddRule(Napi::Env env, scmp_filter_ctx ctx, uint32_t action, int nr, const std::vector<scmp_arg_cmp> &conds) {
  bool distinct = true;
  for (size_t i = 0; i < conds.size(); i++)
    for (size_t j = i + 1; j < conds.size(); j++) distinct = distinct && conds[i].arg != conds[j].arg;
  if (distinct) {
    Check(env, seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()), conds.data()), "seccomp_rule_add");
    return;
  }
  for (const auto &c : conds) Check(env, seccomp_rule_add_array(ctx, action, nr, 1, &c), "seccomp_rule_add");
}

// compileSeccomp({ defaultAction, defaultErrno, architectures: string[], syscalls: [...] }): Buffer
Napi::Value CompileSeccomp(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object filter = info[0].As<Napi::Object>();
  uint32_t default_action =
      ToAction(filter.Get("defaultAction").As<Napi::Number>().Uint32Value(), filter.Get("defaultErrno").As<Napi::Number>().Uint32Value());
  std::unique_ptr<void, CtxDeleter> owner(seccomp_init(default_action));
  scmp_filter_ctx ctx = owner.get();
  if (!ctx) ThrowErrno(env, "seccomp_init", EINVAL);
  // The filter is loaded by hutch-init, which decides about no_new_privs itself.
  Check(env, seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "seccomp_attr_set");

  Napi::Array arches = filter.Get("architectures").As<Napi::Array>();
  for (uint32_t i = 0; i < arches.Length(); i++) {
    std::string name = arches.Get(i).As<Napi::String>().Utf8Value();
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    if (arch == 0) ThrowErrno(env, "seccomp_arch_resolve_name", EINVAL, name);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc != -EEXIST) Check(env, rc, "seccomp_arch_add");
  }

  Napi::Array syscalls = filter.Get("syscalls").As<Napi::Array>();
  for (uint32_t i = 0; i < syscalls.Length(); i++) {
    Napi::Object rule = syscalls.Get(i).As<Napi::Object>();
    uint32_t action = ToAction(rule.Get("action").As<Napi::Number>().Uint32Value(), rule.Get("errno").As<Napi::Number>().Uint32Value());
    if (action == default_action) continue;  // libseccomp refuses such rules; they change nothing
    std::vector<scmp_arg_cmp> conds = Conditions(rule.Get("args").As<Napi::Array>());
    Napi::Array names = rule.Get("names").As<Napi::Array>();
    for (uint32_t j = 0; j < names.Length(); j++) {
      std::string name = names.Get(j).As<Napi::String>().Utf8Value();
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp/arch: ignored, as runc does
      AddRule(env, ctx, action, nr, conds);
    }
  }

  int fd = static_cast<int>(syscall(SYS_memfd_create, "seccomp-bpf", MFD_CLOEXEC));
  if (fd < 0) ThrowErrno(env, "memfd_create", errno);
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    close(fd);
    ThrowErrno(env, "seccomp_export_bpf", -rc);
  }
  off_t size = lseek(fd, 0, SEEK_END);
  std::vector<char> bpf(static_cast<size_t>(size > 0 ? size : 0));
  ssize_t n = size > 0 ? pread(fd, bpf.data(), bpf.size(), 0) : 0;
  int err = errno;
  close(fd);
  if (n < 0 || static_cast<size_t>(n) != bpf.size()) ThrowErrno(env, "pread", n < 0 ? err : EIO);
  return Napi::Buffer<char>::Copy(env, bpf.data(), bpf.size());
}

}  // namespace

void InitSeccomp(Napi::Env env, Napi::Object exports) { exports.Set("compileSeccomp", Napi::Function::New(env, CompileSeccomp)); }
