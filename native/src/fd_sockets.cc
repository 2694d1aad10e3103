// fdSockets: the socket inodes a batch of processes hold, for the exposure collector's owner
// walk (agent/exposure/socket-owners.ts). It is the walk's inner loop, done off the main
// thread and without a path lookup per descriptor: each process's fd directory is opened
// once, relative to its pid directory, and every link in it is read with readlinkat()
// against that open directory. A process that holds a socket also has what a listener's
// owner shows read there, in the pid directory already open: its `exe` link and its `cgroup`
// (at most maxCgroup bytes). The batch runs on libuv's thread pool, so the walk can keep several
// batches going while JavaScript parses the socket tables. The walk's logic (which pids, the
// bounds, who owns what) stays in JavaScript; this reads directories.
//
// Nothing is followed. The pid directory, its `fd` and its `cgroup` are opened with
// O_NOFOLLOW (and O_DIRECTORY for the directories), so a link in their place is refused
// (ELOOP or ENOTDIR); `cgroup` also with O_NONBLOCK, so a FIFO planted there cannot hang the
// thread. Links are read, never resolved. A link is a socket when it reads exactly
// `socket:[N]`, N decimal and at most 2^53 - 1; anything else (a file, a pipe, a longer or
// odder text) is passed over.
//
// JavaScript API:
//   fdSockets(procRoot, pids, maxFds, maxCgroup) -> Promise<Array<
//       { inodes: number[], fds: number, cut: boolean, exe?: string | null, cgroup?: string | null, cgroupCut?: boolean }
//     | { error: 'ENOENT' | 'EACCES' | 'ELOOP' | ... }>>
//   one entry per pid, in order; `fds` counts the descriptors read (at most maxFds), `cut`
//   says there were more; exe/cgroup (null when unreadable; cgroup as latin1, cgroupCut when
//   it had more) only for a process holding a socket. At most 4,096 pids a batch.
#include <node_api.h>

#include "fd_sockets.h"
#include "napi_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace nodeward {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;
constexpr uint32_t kMaxPid = 0x3fffffff;

// `socket:[123]` -> 123, else -1.
double SocketInode(const char* link, ssize_t n) {
  static const char kPrefix[] = "socket:[";
  const ssize_t prefix = sizeof(kPrefix) - 1;
  if (n < prefix + 2 || memcmp(link, kPrefix, prefix) != 0 || link[n - 1] != ']') return -1;
  if (n - prefix - 1 > 20) return -1;
  double v = 0;
  for (ssize_t i = prefix; i < n - 1; i++) {
    if (link[i] < '0' || link[i] > '9') return -1;
    v = v * 10 + (link[i] - '0');
  }
  return v <= kMaxSafeInteger ? v : -1;
}

constexpr uint32_t kMaxBatch = 4096;

struct PidResult {
  int err = 0;
  uint64_t fds = 0;
  bool cut = false;
  std::vector<double> inodes;
  bool has_exe = false;
  std::string exe;
  bool has_cgroup = false;
  bool cgroup_cut = false;
  std::string cgroup;
};

struct Batch {
  std::string root;
  std::vector<uint32_t> pids;
  uint64_t max_fds = 0;
  uint64_t max_cgroup = 0;
  std::vector<PidResult> results;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

// What a socket's holder shows: its exe link and its cgroup, read relative to its pid directory.
void ReadHolder(const Batch& b, int pid_fd, PidResult* r) {
  char exe[4097];
  ssize_t n = readlinkat(pid_fd, "exe", exe, sizeof(exe));
  if (n > 0 && n < static_cast<ssize_t>(sizeof(exe))) {
    r->has_exe = true;
    r->exe.assign(exe, static_cast<size_t>(n));
  }
  int fd = openat(pid_fd, "cgroup", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  // One byte past the bound tells that there was more.
  r->cgroup.resize(b.max_cgroup + 1);
  size_t total = 0;
  bool ok = true;
  while (total < r->cgroup.size()) {
    ssize_t got = read(fd, &r->cgroup[total], r->cgroup.size() - total);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      ok = false;
      break;
    }
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  close(fd);
  if (!ok) {
    r->cgroup.clear();
    return;
  }
  r->has_cgroup = true;
  r->cgroup_cut = total > b.max_cgroup;
  r->cgroup.resize(r->cgroup_cut ? b.max_cgroup : total);
}

void ReadPid(const Batch& b, uint32_t pid, PidResult* r) {
  char pid_dir[4200];
  snprintf(pid_dir, sizeof(pid_dir), "%s/%u", b.root.c_str(), pid);
  int pid_fd = open(pid_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (pid_fd < 0) {
    r->err = errno;
    return;
  }
  int fd_dir = openat(pid_fd, "fd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd_dir < 0) {
    r->err = errno;
    close(pid_fd);
    return;
  }
  DIR* dir = fdopendir(fd_dir);
  if (dir == nullptr) {
    r->err = errno;
    close(fd_dir);
    close(pid_fd);
    return;
  }
  char link[64];
  for (;;) {
    struct dirent* e = readdir(dir);
    if (e == nullptr) break;
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) continue;
    if (r->fds >= b.max_fds) {
      r->cut = true;
      break;
    }
    r->fds++;
    // A link as long as the buffer is longer than any socket's: it is passed over.
    ssize_t n = readlinkat(fd_dir, e->d_name, link, sizeof(link));
    if (n <= 0 || n >= static_cast<ssize_t>(sizeof(link))) continue;
    double inode = SocketInode(link, n);
    if (inode >= 0) r->inodes.push_back(inode);
  }
  closedir(dir);
  if (!r->inodes.empty()) ReadHolder(b, pid_fd, r);
  close(pid_fd);
}

void Execute(napi_env, void* data) {
  Batch* b = static_cast<Batch*>(data);
  b->results.resize(b->pids.size());
  for (size_t i = 0; i < b->pids.size(); i++) ReadPid(*b, b->pids[i], &b->results[i]);
}

void Complete(napi_env env, napi_status status, void* data) {
  Batch* b = static_cast<Batch*>(data);
  if (status != napi_ok) {
    napi_value msg, err;
    napi_create_string_utf8(env, "the fd walk's batch was cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, nullptr, msg, &err);
    napi_reject_deferred(env, b->deferred, err);
  } else {
    napi_value list;
    napi_create_array_with_length(env, b->results.size(), &list);
    for (size_t i = 0; i < b->results.size(); i++) {
      const PidResult& r = b->results[i];
      napi_value out;
      napi_create_object(env, &out);
      if (r.err != 0) {
        Set(env, out, "error", Str(env, ErrnoName(r.err)));
      } else {
        napi_value inodes;
        napi_create_array_with_length(env, r.inodes.size(), &inodes);
        for (size_t k = 0; k < r.inodes.size(); k++) napi_set_element(env, inodes, static_cast<uint32_t>(k), Num(env, r.inodes[k]));
        Set(env, out, "inodes", inodes);
        Set(env, out, "fds", Num(env, static_cast<double>(r.fds)));
        Set(env, out, "cut", Bool(env, r.cut));
        if (!r.inodes.empty()) {
          Set(env, out, "exe", r.has_exe ? Str(env, r.exe) : Null(env));
          napi_value cgroup = Null(env);
          if (r.has_cgroup) napi_create_string_latin1(env, r.cgroup.data(), r.cgroup.size(), &cgroup);
          Set(env, out, "cgroup", cgroup);
          Set(env, out, "cgroupCut", Bool(env, r.cgroup_cut));
        }
      }
      napi_set_element(env, list, static_cast<uint32_t>(i), out);
    }
    napi_resolve_deferred(env, b->deferred, list);
  }
  napi_delete_async_work(env, b->work);
  delete b;
}

napi_value JsFdSockets(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 4) {
    napi_throw_type_error(env, "EINVAL", "fdSockets(procRoot, pids, maxFds, maxCgroup)");
    return nullptr;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], nullptr, 0, &len) != napi_ok || len == 0 || len > 4096) {
    napi_throw_type_error(env, "EINVAL", "procRoot must be a path of 1 to 4096 bytes");
    return nullptr;
  }
  Batch* b = new Batch();
  b->root.assign(len, '\0');
  napi_get_value_string_utf8(env, argv[0], &b->root[0], len + 1, &len);
  bool is_array = false;
  uint32_t count = 0;
  double max_fds = 0, max_cgroup = 0;
  const char* bad = nullptr;
  if (b->root.find('\0') != std::string::npos) bad = "procRoot holds a NUL byte";
  else if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok || count > kMaxBatch) bad = "pids must be an array of at most 4096 pids";
  else if (napi_get_value_double(env, argv[2], &max_fds) != napi_ok || !(max_fds >= 0) || max_fds > 1e9) bad = "maxFds must be a number from 0 to 1e9";
  else if (napi_get_value_double(env, argv[3], &max_cgroup) != napi_ok || !(max_cgroup >= 1) || max_cgroup > 1048576) bad = "maxCgroup must be a number from 1 to 1 MiB";
  for (uint32_t i = 0; bad == nullptr && i < count; i++) {
    napi_value v;
    double pid = 0;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || napi_get_value_double(env, v, &pid) != napi_ok || !(pid >= 1) || pid > kMaxPid || pid != static_cast<uint32_t>(pid)) {
      bad = "each pid must be an integer from 1 to 2^30 - 1";
    } else {
      b->pids.push_back(static_cast<uint32_t>(pid));
    }
  }
  if (bad != nullptr) {
    delete b;
    napi_throw_type_error(env, "EINVAL", bad);
    return nullptr;
  }
  b->max_fds = static_cast<uint64_t>(max_fds);
  b->max_cgroup = static_cast<uint64_t>(max_cgroup);
  napi_value promise, name;
  napi_create_promise(env, &b->deferred, &promise);
  napi_create_string_utf8(env, "nodeward.fdSockets", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, nullptr, name, Execute, Complete, b, &b->work) != napi_ok || napi_queue_async_work(env, b->work) != napi_ok) {
    napi_value msg, err;
    napi_create_string_utf8(env, "cannot queue the fd walk's batch", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, nullptr, msg, &err);
    napi_reject_deferred(env, b->deferred, err);
    if (b->work != nullptr) napi_delete_async_work(env, b->work);
    delete b;
  }
  return promise;
}

}  // namespace

void RegisterFdSockets(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "fdSockets", NAPI_AUTO_LENGTH, JsFdSockets, nullptr, &fn);
  Set(env, exports, "fdSockets", fn);
}

}  // namespace nodeward
