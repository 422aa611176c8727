// cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program built from an
// ordered rule list, loaded and attached to a cgroup directory, replacing the device
// programs attached there before. The rule list is policy, decided in TypeScript
// (plugins/cgroup/devices.ts); this file only translates it to instructions:
//
//   for each rule, in order: if it matches the access, return its verdict;
//   otherwise return the default verdict.
//
// A rule matches when its type (unless "a"), major and minor (unless -1 = any) are
// equal and, for an allow rule, the requested access is a subset of its access (the
// kernel's v1 whitelist semantics), for a deny rule when they share any bit (v1's
// blacklist semantics).
//
// The new program is attached with BPF_F_ALLOW_MULTI before the old ones are detached:
// in between both run and a device must pass both, so the switch never widens access.
#include <fcntl.h>
#include <linux/bpf.h>
#include <napi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "errno_error.h"
#include "exports.h"
#include "fd.h"

namespace {

struct DeviceRule {
  char type;  // 'a', 'b' or 'c'
  int64_t major;  // -1: any
  int64_t minor;  // -1: any
  uint32_t access;  // BPF_DEVCG_ACC_* bits
  bool allow;
};

long Bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn;
  std::memset(&insn, 0, sizeof insn);
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

// The context is struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// with access_type = (access << 16) | type.
void Prologue(std::vector<bpf_insn> &p) {
  p.push_back(Insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0));  // r2 = access_type
  p.push_back(Insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));  // w2 = type
  p.push_back(Insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0));  // r3 = access_type
  p.push_back(Insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));  // w3 = access
  p.push_back(Insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0));  // r4 = major
  p.push_back(Insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0));  // r5 = minor
}

// One rule: a run of conditional jumps to the end of its own block, then the verdict.
void AppendRule(std::vector<bpf_insn> &p, const DeviceRule &r) {
  const uint32_t all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  std::vector<bpf_insn> block;
  std::vector<size_t> jumps;  // indexes of jumps to patch to "next rule"
  if (r.type != 'a') {
    int32_t t = r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    jumps.push_back(block.size());
    block.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, t));
  }
  if ((r.access & all) != all) {
    block.push_back(Insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));  // w1 = access
    block.push_back(Insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, static_cast<int32_t>(r.access)));
    jumps.push_back(block.size());
    if (r.allow) block.push_back(Insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));  // not a subset
    else block.push_back(Insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 0, 0));  // no bit in common
  }
  if (r.major >= 0) {
    jumps.push_back(block.size());
    block.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, static_cast<int32_t>(r.major)));
  }
  if (r.minor >= 0) {
    jumps.push_back(block.size());
    block.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, static_cast<int32_t>(r.minor)));
  }
  block.push_back(Insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r.allow ? 1 : 0));
  block.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - j - 1);
  p.insert(p.end(), block.begin(), block.end());
}

std::vector<bpf_insn> BuildProgram(const std::vector<DeviceRule> &rules, bool defaultAllow) {
  std::vector<bpf_insn> p;
  Prologue(p);
  for (const DeviceRule &r : rules) AppendRule(p, r);
  p.push_back(Insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, defaultAllow ? 1 : 0));
  p.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

uint32_t AccessBits(const std::string &access) {
  uint32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    else if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    else if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

std::vector<DeviceRule> RulesFrom(Napi::Env env, const Napi::Array &list) {
  std::vector<DeviceRule> rules;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object o = list.Get(i).As<Napi::Object>();
    std::string type = o.Get("type").As<Napi::String>().Utf8Value();
    if (type != "a" && type != "b" && type != "c") throw Napi::TypeError::New(env, "device rule type must be a, b or c");
    rules.push_back(DeviceRule{type[0], o.Get("major").As<Napi::Number>().Int64Value(), o.Get("minor").As<Napi::Number>().Int64Value(),
                               AccessBits(o.Get("access").As<Napi::String>().Utf8Value()), o.Get("allow").As<Napi::Boolean>().Value()});
  }
  return rules;
}

int LoadProgram(Napi::Env env, const std::vector<bpf_insn> &insns) {
  static const char license[] = "Apache-2.0";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uint64_t>(license);
  int fd = static_cast<int>(Bpf(BPF_PROG_LOAD, &attr));
  if (fd >= 0) return fd;
  int err = errno;
  if (err != EACCES && err != EINVAL) ThrowErrno(env, "bpf(BPF_PROG_LOAD)", err);
  // Load again with the verifier's log, to say why it refused.
  std::vector<char> log(16384, '\0');
  attr.log_level = 1;
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  fd = static_cast<int>(Bpf(BPF_PROG_LOAD, &attr));
  if (fd >= 0) return fd;
  Napi::Error e = ErrnoError(env, "bpf(BPF_PROG_LOAD)", errno);
  e.Set("verifierLog", Napi::String::New(env, log.data()));
  throw e;
}

std::vector<uint32_t> QueryPrograms(Napi::Env env, int cgroupFd, const std::string &dir) {
  std::vector<uint32_t> ids(64);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(cgroupFd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (Bpf(BPF_PROG_QUERY, &attr) < 0) ThrowErrno(env, "bpf(BPF_PROG_QUERY)", errno, dir);
  ids.resize(attr.query.prog_cnt);
  return ids;
}

Fd OpenCgroup(Napi::Env env, const std::string &dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, "open", errno, dir);
  return Fd(fd);
}

// attachDeviceFilter(cgroupDir, rules, defaultAllow): void
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::vector<DeviceRule> rules = RulesFrom(env, info[1].As<Napi::Array>());
  bool defaultAllow = info[2].As<Napi::Boolean>().Value();

  Fd cgroup = OpenCgroup(env, dir);
  std::vector<uint32_t> old = QueryPrograms(env, cgroup.get(), dir);
  Fd prog(LoadProgram(env, BuildProgram(rules, defaultAllow)));

  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cgroup.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attr) < 0) ThrowErrno(env, "bpf(BPF_PROG_ATTACH)", errno, dir);

  for (uint32_t id : old) {
    std::memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    int oldFd = static_cast<int>(Bpf(BPF_PROG_GET_FD_BY_ID, &attr));
    if (oldFd < 0) {
      if (errno == ENOENT) continue;  // detached meanwhile
      ThrowErrno(env, "bpf(BPF_PROG_GET_FD_BY_ID)", errno, dir);
    }
    Fd oldProg(oldFd);
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cgroup.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(oldProg.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT) ThrowErrno(env, "bpf(BPF_PROG_DETACH)", errno, dir);
  }
  return env.Undefined();
}

// deviceFilterIds(cgroupDir): number[] — ids of the device programs attached there.
Napi::Value DeviceFilterIds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  Fd cgroup = OpenCgroup(env, dir);
  std::vector<uint32_t> ids = QueryPrograms(env, cgroup.get(), dir);
  Napi::Array out = Napi::Array::New(env, ids.size());
  for (uint32_t i = 0; i < ids.size(); i++) out.Set(i, Napi::Number::New(env, ids[i]));
  return out;
}

}  // namespace

void InitBpfDevices(Napi::Env env, Napi::Object exports) {
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter, "attachDeviceFilter"));
  exports.Set("deviceFilterIds", Napi::Function::New(env, DeviceFilterIds, "deviceFilterIds"));
}
