// Route-netlink sockets, optionally inside another network namespace, and one
// request/reply exchange on them. The messages are encoded and decoded in TypeScript
// (plugins/network/netlink/); this file only makes the syscalls.
#include <fcntl.h>
#include <linux/netlink.h>
#include <napi.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "errno_error.h"
#include "exports.h"

namespace {

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLMSGERR_ATTR_MSG
#define NLMSGERR_ATTR_MSG 1
#endif

struct OpenResult {
  int fd = -1;
  int err = 0;
  const char *syscall = nullptr;
};

// Makes the socket in the calling thread's network namespace.
void MakeSocket(OpenResult &r) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    r = {-1, errno, "socket"};
    return;
  }
  int one = 1;
  // Best effort: extended acks carry the kernel's own words ("Invalid prefix for
  // given prefix length"); capped acks keep the request out of error replies.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr *>(&local), sizeof local) < 0) {
    r = {-1, errno, "bind"};
    close(fd);
    return;
  }
  r.fd = fd;
}

// netlinkOpen(netnsPath: string | null): number
// A socket keeps the namespace it was made in, so a short-lived thread enters the
// namespace, makes the socket and ends: no thread of Node's ever changes namespace.
Napi::Value NetlinkOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  OpenResult r;
  if (!info[0].IsString()) {
    MakeSocket(r);
  } else {
    std::string path = info[0].As<Napi::String>().Utf8Value();
    int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) ThrowErrno(env, "open", errno, path);
    std::thread worker([&r, ns] {
      if (setns(ns, CLONE_NEWNET) < 0) {
        r = {-1, errno, "setns"};
        return;
      }
      MakeSocket(r);
    });
    worker.join();
    close(ns);
    if (r.fd < 0) ThrowErrno(env, r.syscall, r.err, path);
  }
  if (r.fd < 0) ThrowErrno(env, r.syscall, r.err);
  return Napi::Number::New(env, r.fd);
}

// Sends one request and collects its replies until the ack, the error or NLMSG_DONE.
class RequestWorker : public Napi::AsyncWorker {
 public:
  RequestWorker(Napi::Env env, int fd, const uint8_t *data, size_t len)
      : Napi::AsyncWorker(env), fd_(fd), request_(data, data + len), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    if (request_.size() < sizeof(nlmsghdr)) {
      Fail("sendmsg", EINVAL);
      return;
    }
    uint32_t seq = reinterpret_cast<const nlmsghdr *>(request_.data())->nlmsg_seq;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do sent = sendto(fd_, request_.data(), request_.size(), 0, reinterpret_cast<sockaddr *>(&kernel), sizeof kernel);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      Fail("sendmsg", errno);
      return;
    }
    std::vector<uint8_t> buf(1 << 16);
    for (;;) {
      ssize_t n;
      do n = recv(fd_, buf.data(), buf.size(), 0);
      while (n < 0 && errno == EINTR);
      if (n < 0) {
        Fail("recvmsg", errno);
        return;
      }
      size_t left = static_cast<size_t>(n);
      for (auto *h = reinterpret_cast<nlmsghdr *>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_seq != seq) continue;  // a late reply to an earlier request
        if (h->nlmsg_type == NLMSG_DONE) return;
        if (h->nlmsg_type == NLMSG_ERROR) {
          auto *e = reinterpret_cast<nlmsgerr *>(NLMSG_DATA(h));
          if (e->error != 0) {
            Fail("netlink", -e->error);
            ReadExtAck(h, e);
          }
          return;
        }
        replies_.emplace_back(reinterpret_cast<uint8_t *>(h), reinterpret_cast<uint8_t *>(h) + h->nlmsg_len);
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      Napi::Error error = ErrnoError(env, syscall_, err_);
      if (!extack_.empty()) {
        error.Set("message", Napi::String::New(env, error.Message() + " (" + extack_ + ")"));
        error.Set("detail", Napi::String::New(env, extack_));
      }
      deferred_.Reject(error.Value());
      return;
    }
    Napi::Array out = Napi::Array::New(env, replies_.size());
    for (size_t i = 0; i < replies_.size(); i++)
      out.Set(i, Napi::Buffer<uint8_t>::Copy(env, replies_[i].data(), replies_[i].size()));
    deferred_.Resolve(out);
  }

 private:
  void Fail(const char *syscall, int err) {
    syscall_ = syscall;
    err_ = err;
  }

  // The kernel's error text (NLMSGERR_ATTR_MSG), when it sent one.
  void ReadExtAck(nlmsghdr *h, nlmsgerr *e) {
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return;
    size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
    if (!(h->nlmsg_flags & NLM_F_CAPPED)) offset += e->msg.nlmsg_len - NLMSG_HDRLEN;
    auto *base = reinterpret_cast<uint8_t *>(h);
    while (offset + sizeof(nlattr) <= h->nlmsg_len) {
      auto *a = reinterpret_cast<nlattr *>(base + offset);
      if (a->nla_len < sizeof(nlattr) || offset + a->nla_len > h->nlmsg_len) return;
      if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
        const char *text = reinterpret_cast<const char *>(a) + NLA_HDRLEN;
        extack_.assign(text, strnlen(text, a->nla_len - NLA_HDRLEN));
        return;
      }
      offset += NLA_ALIGN(a->nla_len);
    }
  }

  int fd_;
  std::vector<uint8_t> request_;
  std::vector<std::vector<uint8_t>> replies_;
  const char *syscall_ = nullptr;
  int err_ = 0;
  std::string extack_;
  Napi::Promise::Deferred deferred_;
};

// netlinkRequest(fd, message: Buffer): Promise<Buffer[]> — on the thread pool, since
// the kernel may wait for the rtnl lock while other processes change links.
Napi::Value NetlinkRequest(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> message = info[1].As<Napi::Buffer<uint8_t>>();
  auto *worker = new RequestWorker(info.Env(), fd, message.Data(), message.Length());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen));
  exports.Set("netlinkRequest", Napi::Function::New(env, NetlinkRequest));
}
