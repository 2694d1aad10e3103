// nodeward_proc: exec events from the kernel's process connector, for the nodeward agent.
//
// A netlink socket (NETLINK_CONNECTOR, multicast group CN_IDX_PROC) receives one message per
// exec on the host. A reader thread of our own waits on it and, for every PROC_EVENT_EXEC,
// reads at once what must be read before a short-lived process exits: its exe link, stat and
// cgroup. A second thread then reads the rest (cmdline, status, the parent's exe link), which
// can be slow, so it never delays the next exec. Whatever could not be read is listed in
// `missing` and the record is marked partial. Records reach JavaScript through a thread-safe
// function; both queues are bounded, a record that finds one full is dropped and counted, and
// so is every ENOBUFS the socket reports (the kernel dropped events because we were too slow).
//
// The kernel only serves this connector in the initial network namespace, to callers in the
// initial user and PID namespaces, and only with CAP_NET_ADMIN. start() therefore waits for
// the kernel's acknowledgement of the subscription and throws (with an errno-style `code`)
// when it is refused or never comes, so the agent can fall back to scanning and say so.
//
// The addon also exports fdSockets() (fd_sockets.cc), the exposure collector's fd walk.
//
// JavaScript API:
//   start({ procRoot, maxCmdline?, queue? }, onExec) -> { stop(), stats() }
//   onExec({ pid, tid, ppid, uid, startTicks, exe, parentExe, cmdline, cmdlineTruncated,
//            cgroup, partial, missing, eventMonoMs, exeMonoMs, readMonoMs })
#include <node_api.h>

#include "fd_sockets.h"
#include "napi_util.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using nodeward::Bool;
using nodeward::GetNumberProp;
using nodeward::GetStringProp;
using nodeward::MonoMs;
using nodeward::Null;
using nodeward::Num;
using nodeward::Set;
using nodeward::Str;
using nodeward::ThrowErrno;

// Newer kernels (6.6+) accept this longer subscription message and filter events by type in
// the kernel; older ones ignore it. Declared here because older headers lack it.
struct ProcInput {
  uint32_t mcast_op;
  uint32_t event_type;
};

constexpr size_t kMaxLink = 4096;
constexpr size_t kMaxSmallFile = 4096;
constexpr size_t kDefaultMaxCmdline = 4096;
constexpr size_t kDefaultQueue = 8192;
constexpr int kRecvBufferBytes = 8 * 1024 * 1024;

struct ExecRecord {
  int32_t pid = 0;
  int32_t tid = 0;
  int32_t ppid = -1;
  int64_t uid = -1;
  double start_ticks = -1;
  bool has_exe = false;
  std::string exe;
  bool has_parent_exe = false;
  std::string parent_exe;
  bool has_cmdline = false;
  std::string cmdline;
  bool cmdline_truncated = false;
  bool has_cgroup = false;
  std::string cgroup;
  bool has_stat = false;
  bool has_status = false;
  int dirfd = -1;
  double exe_mono_ms = 0;
  std::vector<const char*> missing;
  double event_mono_ms = 0;
  double read_mono_ms = 0;
};

struct Counters {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> execs{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> partial{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> overruns{0};
  std::atomic<uint64_t> errors{0};
};

struct Monitor {
  int sock = -1;
  int wake = -1;
  std::string proc_root;
  size_t max_cmdline = kDefaultMaxCmdline;
  napi_threadsafe_function tsfn = nullptr;
  // reader: socket -> urgent reads -> queue; completer: queue -> the other reads -> JavaScript.
  std::thread reader;
  std::thread completer;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<ExecRecord*> queue;
  size_t max_queue = kDefaultQueue;
  std::atomic<bool> stopping{false};
  bool stopped = false;
  Counters counters;
};

// Reads at most `max` bytes (one more to detect truncation) from a file under `dirfd`.
bool ReadAt(int dirfd, const char* name, size_t max, std::string* out, bool* truncated) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  out->clear();
  out->resize(max + 1);
  size_t total = 0;
  while (total < max + 1) {
    ssize_t n = read(fd, &(*out)[total], max + 1 - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return false;
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  close(fd);
  if (truncated) *truncated = total > max;
  out->resize(total > max ? max : total);
  return true;
}

bool ReadLinkAt(int dirfd, const char* name, std::string* out) {
  char buf[kMaxLink];
  ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf));
  if (n < 0) return false;
  out->assign(buf, static_cast<size_t>(n));
  return true;
}

// /proc/<pid>/stat: "pid (comm) state ppid ... flags ... starttime ...". comm may hold
// spaces and parentheses, so fields are counted from the last ')'.
bool ParseStat(const std::string& stat, int32_t* ppid, double* start_ticks) {
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return false;
  const char* p = stat.c_str() + close_paren + 1;
  // Field 3 (state) is the first after ')'; ppid is field 4, starttime field 22.
  int field = 2;
  long long ppid_v = -1;
  unsigned long long start_v = 0;
  bool have_start = false;
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    field++;
    const char* begin = p;
    while (*p && *p != ' ') p++;
    if (field == 4) ppid_v = strtoll(begin, nullptr, 10);
    if (field == 22) {
      start_v = strtoull(begin, nullptr, 10);
      have_start = true;
      break;
    }
  }
  if (ppid_v < 0 || !have_start) return false;
  *ppid = static_cast<int32_t>(ppid_v);
  *start_ticks = static_cast<double>(start_v);
  return true;
}

// The effective uid: the second number of the "Uid:" line of /proc/<pid>/status.
bool ParseEffectiveUid(const std::string& status, int64_t* uid) {
  size_t at = status.find("\nUid:");
  if (at == std::string::npos) return false;
  const char* p = status.c_str() + at + 5;
  char* end = nullptr;
  strtoll(p, &end, 10);  // real uid
  if (end == p) return false;
  const char* q = end;
  long long e = strtoll(q, &end, 10);
  if (end == q) return false;
  *uid = e;
  return true;
}

// What must be read before a short-lived process exits: the executable (its link is served
// without taking the process's memory-map lock, so it is fast even when that lock is busy),
// then stat (start time: the process's identity) and cgroup (its container).
void ReadUrgent(Monitor* m, ExecRecord* r) {
  std::string dir = m->proc_root + "/" + std::to_string(r->pid);
  r->has_exe = ReadLinkAt(AT_FDCWD, (dir + "/exe").c_str(), &r->exe);
  r->exe_mono_ms = MonoMs();
  // The pid directory is a real directory in procfs; O_NOFOLLOW keeps it so.
  r->dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (r->dirfd < 0) return;
  std::string stat;
  r->has_stat = ReadAt(r->dirfd, "stat", kMaxSmallFile, &stat, nullptr) && ParseStat(stat, &r->ppid, &r->start_ticks);
  r->has_cgroup = ReadAt(r->dirfd, "cgroup", kMaxSmallFile, &r->cgroup, nullptr) && !r->cgroup.empty();
}

// The rest, once every pending event had its urgent reads: cmdline (which takes the memory-map
// lock and can wait behind a busy process), status, and the parent's executable.
void ReadRest(Monitor* m, ExecRecord* r) {
  if (r->dirfd >= 0) {
    r->has_cmdline = ReadAt(r->dirfd, "cmdline", m->max_cmdline, &r->cmdline, &r->cmdline_truncated);
    // A process that already exited (a zombie) shows an empty cmdline.
    if (r->has_cmdline && r->cmdline.empty() && !r->has_exe) r->has_cmdline = false;
    std::string status;
    r->has_status = ReadAt(r->dirfd, "status", kMaxSmallFile, &status, nullptr) && ParseEffectiveUid(status, &r->uid);
    close(r->dirfd);
    r->dirfd = -1;
  }
  if (r->ppid > 0) {
    std::string pexe = m->proc_root + "/" + std::to_string(r->ppid) + "/exe";
    r->has_parent_exe = ReadLinkAt(AT_FDCWD, pexe.c_str(), &r->parent_exe);
  }
  if (!r->has_exe) r->missing.push_back("exe");
  if (!r->has_stat) r->missing.push_back("stat");
  if (!r->has_cgroup) r->missing.push_back("cgroup");
  if (!r->has_cmdline) r->missing.push_back("cmdline");
  if (!r->has_status) r->missing.push_back("status");
  if (!r->has_parent_exe) r->missing.push_back("parentExe");
}

// Runs on the JavaScript thread for every queued record.
void CallJs(napi_env env, napi_value js_cb, void* context, void* data) {
  ExecRecord* r = static_cast<ExecRecord*>(data);
  Monitor* m = static_cast<Monitor*>(context);
  if (env == nullptr || js_cb == nullptr) {
    delete r;
    return;
  }
  napi_value obj;
  napi_create_object(env, &obj);
  Set(env, obj, "pid", Num(env, r->pid));
  Set(env, obj, "tid", Num(env, r->tid));
  Set(env, obj, "ppid", Num(env, r->ppid));
  Set(env, obj, "uid", Num(env, static_cast<double>(r->uid)));
  Set(env, obj, "startTicks", Num(env, r->start_ticks));
  Set(env, obj, "exe", r->has_exe ? Str(env, r->exe) : Null(env));
  Set(env, obj, "parentExe", r->has_parent_exe ? Str(env, r->parent_exe) : Null(env));
  if (r->has_cmdline) {
    napi_value buf;
    void* ignored;
    napi_create_buffer_copy(env, r->cmdline.size(), r->cmdline.data(), &ignored, &buf);
    Set(env, obj, "cmdline", buf);
  } else {
    Set(env, obj, "cmdline", Null(env));
  }
  Set(env, obj, "cmdlineTruncated", Bool(env, r->cmdline_truncated));
  Set(env, obj, "cgroup", r->has_cgroup ? Str(env, r->cgroup) : Null(env));
  Set(env, obj, "partial", Bool(env, !r->missing.empty()));
  napi_value missing;
  napi_create_array_with_length(env, r->missing.size(), &missing);
  for (size_t i = 0; i < r->missing.size(); i++) {
    napi_set_element(env, missing, static_cast<uint32_t>(i), Str(env, r->missing[i]));
  }
  Set(env, obj, "missing", missing);
  Set(env, obj, "eventMonoMs", Num(env, r->event_mono_ms));
  Set(env, obj, "exeMonoMs", Num(env, r->exe_mono_ms));
  Set(env, obj, "readMonoMs", Num(env, r->read_mono_ms));
  delete r;
  m->counters.delivered++;
  napi_value global;
  napi_get_global(env, &global);
  napi_value result;
  // An exception thrown by the callback is left pending for Node to report; the reader
  // thread is unaffected.
  napi_call_function(env, global, js_cb, 1, &obj, &result);
}

// One netlink message: an exec becomes a record with its urgent reads done; anything else
// is counted and dropped.
ExecRecord* HandleMessage(Monitor* m, const struct nlmsghdr* nlh) {
  if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_NOOP) return nullptr;
  const struct cn_msg* cn = static_cast<const struct cn_msg*>(NLMSG_DATA(nlh));
  if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) return nullptr;
  if (cn->len < sizeof(struct proc_event)) return nullptr;
  const struct proc_event* ev = reinterpret_cast<const struct proc_event*>(cn->data);
  m->counters.received++;
  if (ev->what != proc_event::PROC_EVENT_EXEC) return nullptr;
  m->counters.execs++;
  ExecRecord* r = new ExecRecord();
  r->pid = ev->event_data.exec.process_tgid;
  r->tid = ev->event_data.exec.process_pid;
  r->event_mono_ms = static_cast<double>(ev->timestamp_ns) / 1e6;
  ReadUrgent(m, r);
  return r;
}

void Discard(ExecRecord* r) {
  if (r->dirfd >= 0) close(r->dirfd);
  delete r;
}

void Enqueue(Monitor* m, ExecRecord* r) {
  {
    std::lock_guard<std::mutex> lock(m->mu);
    if (m->queue.size() < m->max_queue) {
      m->queue.push_back(r);
      r = nullptr;
    }
  }
  if (r) {
    m->counters.dropped++;
    Discard(r);
    return;
  }
  m->cv.notify_one();
}

void CompleterLoop(Monitor* m) {
  for (;;) {
    ExecRecord* r = nullptr;
    {
      std::unique_lock<std::mutex> lock(m->mu);
      m->cv.wait(lock, [m] { return m->stopping.load() || !m->queue.empty(); });
      if (m->stopping.load()) return;
      r = m->queue.front();
      m->queue.pop_front();
    }
    ReadRest(m, r);
    r->read_mono_ms = MonoMs();
    if (!r->missing.empty()) m->counters.partial++;
    napi_status st = napi_call_threadsafe_function(m->tsfn, r, napi_tsfn_nonblocking);
    if (st != napi_ok) {
      // napi_queue_full (JavaScript is behind) or napi_closing (we are stopping).
      m->counters.dropped++;
      Discard(r);
    }
  }
}

void ReaderLoop(Monitor* m) {
  alignas(struct nlmsghdr) char buf[64 * 1024];
  struct pollfd fds[2];
  fds[0].fd = m->sock;
  fds[0].events = POLLIN;
  fds[1].fd = m->wake;
  fds[1].events = POLLIN;
  while (!m->stopping.load()) {
    fds[0].revents = 0;
    fds[1].revents = 0;
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      m->counters.errors++;
      break;
    }
    if (fds[1].revents != 0) break;
    if ((fds[0].revents & POLLIN) == 0) {
      if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        // POLLERR carries the pending ENOBUFS; recv below collects it.
      } else {
        continue;
      }
    }
    // Only the urgent reads happen on this thread, so one process's slow files never delay
    // the executable of the next, which may live a millisecond.
    ssize_t len = recv(m->sock, buf, sizeof(buf), MSG_DONTWAIT);
    if (len < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ENOBUFS) {
        m->counters.overruns++;
        continue;
      }
      m->counters.errors++;
      continue;
    }
    int remaining = static_cast<int>(len);
    for (struct nlmsghdr* nlh = reinterpret_cast<struct nlmsghdr*>(buf); NLMSG_OK(nlh, remaining);
         nlh = NLMSG_NEXT(nlh, remaining)) {
      ExecRecord* r = HandleMessage(m, nlh);
      if (r) Enqueue(m, r);
    }
  }
}

int SendControl(int sock, const void* payload, uint32_t payload_len, uint32_t seq, uint32_t ack) {
  alignas(struct nlmsghdr) char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(ProcInput))];
  memset(buf, 0, sizeof(buf));
  struct nlmsghdr* nlh = reinterpret_cast<struct nlmsghdr*>(buf);
  nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct cn_msg) + payload_len);
  nlh->nlmsg_type = NLMSG_DONE;
  nlh->nlmsg_flags = 0;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = 0;
  struct cn_msg* cn = static_cast<struct cn_msg*>(NLMSG_DATA(nlh));
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->seq = seq;
  cn->ack = ack;
  cn->len = static_cast<uint16_t>(payload_len);
  memcpy(cn->data, payload, payload_len);
  struct sockaddr_nl to;
  memset(&to, 0, sizeof(to));
  to.nl_family = AF_NETLINK;
  ssize_t n = sendto(sock, buf, nlh->nlmsg_len, 0, reinterpret_cast<struct sockaddr*>(&to), sizeof(to));
  return n < 0 ? errno : 0;
}

// Waits for the kernel's answer to a subscription sent with `ack`: a PROC_EVENT_NONE whose
// cn_msg ack is ack + 1 and whose err says whether it was accepted. Other events that
// arrive meanwhile are discarded (they happened before the agent was listening).
int AwaitAck(int sock, uint32_t ack, int timeout_ms) {
  alignas(struct nlmsghdr) char buf[16 * 1024];
  double deadline = MonoMs() + timeout_ms;
  for (;;) {
    int left = static_cast<int>(deadline - MonoMs());
    if (left <= 0) return ETIMEDOUT;
    struct pollfd pfd = {sock, POLLIN, 0};
    int n = poll(&pfd, 1, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return ETIMEDOUT;
    ssize_t len = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
    if (len < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
      return errno;
    }
    int remaining = static_cast<int>(len);
    for (struct nlmsghdr* nlh = reinterpret_cast<struct nlmsghdr*>(buf); NLMSG_OK(nlh, remaining);
         nlh = NLMSG_NEXT(nlh, remaining)) {
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(nlh));
        if (e->error != 0) return -e->error;
        continue;
      }
      const struct cn_msg* cn = static_cast<const struct cn_msg*>(NLMSG_DATA(nlh));
      if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC || cn->len < sizeof(struct proc_event)) continue;
      const struct proc_event* ev = reinterpret_cast<const struct proc_event*>(cn->data);
      if (ev->what == proc_event::PROC_EVENT_NONE && cn->ack == ack + 1) {
        return static_cast<int>(ev->event_data.ack.err);
      }
    }
  }
}

void StopMonitor(Monitor* m) {
  if (m->stopped) return;
  m->stopped = true;
  {
    // Under the lock, so the completer cannot miss the wake-up between its check and its wait.
    std::lock_guard<std::mutex> lock(m->mu);
    m->stopping.store(true);
  }
  if (m->wake >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(m->wake, &one, sizeof(one));
    (void)ignored;
  }
  m->cv.notify_all();
  if (m->reader.joinable()) m->reader.join();
  if (m->completer.joinable()) m->completer.join();
  for (ExecRecord* r : m->queue) Discard(r);
  m->queue.clear();
  if (m->sock >= 0) {
    // Tell the kernel we stopped listening, so it can stop generating events when no one
    // else listens (older kernels count listeners only by these messages).
    uint32_t op = PROC_CN_MCAST_IGNORE;
    SendControl(m->sock, &op, sizeof(op), 2, 0);
    close(m->sock);
    m->sock = -1;
  }
  if (m->wake >= 0) {
    close(m->wake);
    m->wake = -1;
  }
  if (m->tsfn != nullptr) {
    napi_release_threadsafe_function(m->tsfn, napi_tsfn_release);
    m->tsfn = nullptr;
  }
}

Monitor* MonitorFrom(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data);
  return static_cast<Monitor*>(data);
}

napi_value JsStop(napi_env env, napi_callback_info info) {
  StopMonitor(MonitorFrom(env, info));
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

napi_value JsStats(napi_env env, napi_callback_info info) {
  Monitor* m = MonitorFrom(env, info);
  napi_value obj;
  napi_create_object(env, &obj);
  Set(env, obj, "received", Num(env, static_cast<double>(m->counters.received.load())));
  Set(env, obj, "execs", Num(env, static_cast<double>(m->counters.execs.load())));
  Set(env, obj, "delivered", Num(env, static_cast<double>(m->counters.delivered.load())));
  Set(env, obj, "partial", Num(env, static_cast<double>(m->counters.partial.load())));
  Set(env, obj, "dropped", Num(env, static_cast<double>(m->counters.dropped.load())));
  Set(env, obj, "overruns", Num(env, static_cast<double>(m->counters.overruns.load())));
  Set(env, obj, "errors", Num(env, static_cast<double>(m->counters.errors.load())));
  Set(env, obj, "running", Bool(env, !m->stopped));
  return obj;
}

// The handle object owns the monitor: when it is collected, the monitor is stopped and freed.
void FinalizeHandle(napi_env, void* data, void*) {
  Monitor* m = static_cast<Monitor*>(data);
  StopMonitor(m);
  delete m;
}

napi_value JsStart(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_valuetype t0, t1;
  if (argc < 2 || napi_typeof(env, argv[0], &t0) != napi_ok || t0 != napi_object ||
      napi_typeof(env, argv[1], &t1) != napi_ok || t1 != napi_function) {
    napi_throw_type_error(env, "EINVAL", "start(options, onExec) expects an options object and a function");
    return nullptr;
  }
  Monitor* m = new Monitor();
  if (!GetStringProp(env, argv[0], "procRoot", &m->proc_root) || m->proc_root.empty()) m->proc_root = "/proc";
  while (m->proc_root.size() > 1 && m->proc_root.back() == '/') m->proc_root.pop_back();
  double max_cmdline = 0;
  if (GetNumberProp(env, argv[0], "maxCmdline", &max_cmdline) && max_cmdline >= 64 && max_cmdline <= 1 << 20) {
    m->max_cmdline = static_cast<size_t>(max_cmdline);
  }
  double queue = 0;
  size_t queue_size = kDefaultQueue;
  if (GetNumberProp(env, argv[0], "queue", &queue) && queue >= 16 && queue <= 1 << 20) {
    queue_size = static_cast<size_t>(queue);
  }

  int sock = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (sock < 0) {
    int err = errno;
    delete m;
    return ThrowErrno(env, "socket(NETLINK_CONNECTOR)", err);
  }
  int rcvbuf = kRecvBufferBytes;
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN, which the connector needs anyway; fall back quietly.
  if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof(addr));
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  addr.nl_pid = 0;  // let the kernel choose a port id: several listeners may share a process
  if (bind(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(sock);
    delete m;
    return ThrowErrno(env, "bind(CN_IDX_PROC)", err);
  }
  const uint32_t kAck = 0x6e77;  // arbitrary; the kernel answers with kAck + 1
  uint32_t op = PROC_CN_MCAST_LISTEN;
  int err = SendControl(sock, &op, sizeof(op), 1, kAck);
  if (err == 0) err = AwaitAck(sock, kAck, 1500);
  if (err != 0) {
    close(sock);
    delete m;
    return ThrowErrno(env, "PROC_CN_MCAST_LISTEN", err);
  }
  // Ask kernels that can (6.6+) to send only exec events; older kernels ignore this
  // message and keep sending everything, which the reader thread filters.
  ProcInput filter = {PROC_CN_MCAST_LISTEN, proc_event::PROC_EVENT_EXEC};
  SendControl(sock, &filter, sizeof(filter), 3, 0);
  m->sock = sock;
  m->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m->wake < 0) {
    int e = errno;
    close(sock);
    delete m;
    return ThrowErrno(env, "eventfd", e);
  }

  napi_value name = Str(env, "nodeward_proc_exec");
  if (napi_create_threadsafe_function(env, argv[1], nullptr, name, queue_size, 1, nullptr, nullptr, m, CallJs,
                                      &m->tsfn) != napi_ok) {
    close(m->sock);
    close(m->wake);
    delete m;
    napi_throw_error(env, "EIO", "cannot create the thread-safe function");
    return nullptr;
  }
  // The agent's own timers keep the process alive; a forgotten handle must not.
  napi_unref_threadsafe_function(env, m->tsfn);
  m->max_queue = queue_size;
  m->reader = std::thread(ReaderLoop, m);
  m->completer = std::thread(CompleterLoop, m);

  napi_value handle;
  napi_create_object(env, &handle);
  napi_value stop_fn, stats_fn;
  napi_create_function(env, "stop", NAPI_AUTO_LENGTH, JsStop, m, &stop_fn);
  napi_create_function(env, "stats", NAPI_AUTO_LENGTH, JsStats, m, &stats_fn);
  Set(env, handle, "stop", stop_fn);
  Set(env, handle, "stats", stats_fn);
  napi_add_finalizer(env, handle, m, FinalizeHandle, nullptr, nullptr);
  return handle;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value start;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, JsStart, nullptr, &start);
  Set(env, exports, "start", start);
  nodeward::RegisterFdSockets(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
