// nodeward_bpf: exec records captured in the kernel by the eBPF program native/bpf/exec.bpf.c,
// for the nodeward agent.
//
// start() opens the compiled object with libbpf, relocates it against the kernel's BTF (CO-RE),
// loads and attaches it to tp_btf/sched_process_exec, and starts a reader thread of our own on
// the ring buffer. The thread sleeps in poll() until the kernel signals data, then drains the
// ring completely (ring_buffer__consume: every record available, not one per wake-up). The
// records drained reach JavaScript together: one call through a thread-safe function carries
// a batch (at most kMaxBatch records, concatenated), so the JavaScript thread wakes once per
// batch, not once per record. After a wake-up that found records the thread waits `batchMs`
// before it polls again, so that at a steady rate (200 execs/s: one record every 5 ms) a
// wake-up carries several records; a record waits at most that long more. The queue of
// batches is bounded so that at most `queue` records are in it: while it is full the thread
// waits and the records wait in the ring (the larger buffer, in the kernel).
// Records the kernel could not put in the ring (it was full) are counted by the program in a
// per-CPU map, which stats() sums: a loss is counted where it happens, once.
//
// Everything in a record was read in the kernel at the exec, so nothing here touches /proc:
// a process that has already exited is described as well as one that is still running.
//
// A failure to open, load or attach throws an Error with an errno-style `code`, `syscall` (the
// libbpf step) and `detail` (the end of libbpf's log), so the agent can say why and fall back.
//
// JavaScript API:
//   start({ objectPath, btfPath?, ringBytes?, queue?, batchMs? }, onRecords) -> { stop(), stats() }
//   onRecords(bytes: Buffer, count: number, readMonoMs: number): `count` records one after the
//   other, each one struct nw_exec_event and its data (native/bpf/exec_event.h) as the kernel
//   wrote it (its length is the header's plus its five lengths), drained at readMonoMs
#include <node_api.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <stddef.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "../bpf/exec_event.h"
#include "napi_util.h"

namespace {

using nodeward::Bool;
using nodeward::GetNumberProp;
using nodeward::GetStringProp;
using nodeward::MonoMs;
using nodeward::Num;
using nodeward::Set;
using nodeward::Str;
using nodeward::ThrowErrno;

static_assert(sizeof(struct nw_exec_event) % 8 == 0, "the record header is followed directly by its data");
// agent/processes/bpf-record.ts reads the header at these offsets.
static_assert(sizeof(struct nw_exec_event) == 168, "header size");
static_assert(offsetof(struct nw_exec_event, dev) == 48, "dev offset");
static_assert(offsetof(struct nw_exec_event, pid) == 64, "pid offset");
static_assert(offsetof(struct nw_exec_event, flags) == 96, "flags offset");
static_assert(offsetof(struct nw_exec_event, path_len) == 104, "path_len offset");
static_assert(offsetof(struct nw_exec_event, mode) == 114, "mode offset");
static_assert(offsetof(struct nw_exec_event, comm) == 116, "comm offset");
static_assert(offsetof(struct nw_exec_event, stdio) == 132, "stdio offset");
static_assert(offsetof(struct nw_exec_event, size) == 136, "size offset");
static_assert(offsetof(struct nw_exec_event, mtime_sec) == 144, "mtime_sec offset");
static_assert(offsetof(struct nw_exec_event, ctime_sec) == 152, "ctime_sec offset");
static_assert(offsetof(struct nw_exec_event, mtime_nsec) == 160, "mtime_nsec offset");
static_assert(offsetof(struct nw_exec_event, ctime_nsec) == 164, "ctime_nsec offset");

constexpr size_t kDefaultQueue = 8192;
// Records in one batch at most: a burst is handed over in pieces, so JavaScript starts on it
// while the reader drains the rest, and the queue's bound (in batches) bounds records too.
constexpr size_t kMaxBatch = 64;
constexpr double kDefaultBatchMs = 0;
constexpr uint32_t kDefaultRingBytes = 1u << 20;
constexpr int kPollMs = 1000;
constexpr size_t kLogKeep = 2048;
constexpr int kLoadAttempts = 4;

// Records as the kernel wrote them (header and data, one after the other), and when the
// reader drained them.
struct Batch {
  std::string bytes;
  uint32_t count = 0;
  double read_mono_ms = 0;
};

struct Counters {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> partial{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> malformed{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> wakeups{0};
  std::atomic<uint64_t> max_batch{0};
  std::atomic<uint64_t> batches{0};
};

struct Monitor {
  struct bpf_object* obj = nullptr;
  struct bpf_link* link = nullptr;
  struct ring_buffer* rb = nullptr;
  int counters_fd = -1;
  int wake = -1;
  int cpus = 1;
  int batch_ms = 0;
  // The batch being filled by the reader thread (only it touches this).
  Batch* batch = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  std::thread reader;
  std::atomic<bool> stopping{false};
  bool stopped = false;
  Counters counters;
};

// libbpf's messages during start(): kept (the end of them) for the error, never printed.
thread_local std::string* log_sink = nullptr;

int CaptureLog(enum libbpf_print_level level, const char* format, va_list args) {
  if (log_sink == nullptr || level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), format, args);
  if (n > 0) {
    log_sink->append(line, static_cast<size_t>(n) < sizeof(line) ? static_cast<size_t>(n) : sizeof(line) - 1);
    if (log_sink->size() > 4 * kLogKeep) log_sink->erase(0, log_sink->size() - kLogKeep);
  }
  return 0;
}

std::string LogTail(const std::string& log) {
  std::string s = log.size() > kLogKeep ? log.substr(log.size() - kLogKeep) : log;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Runs on the JavaScript thread for every queued batch: the records' bytes go to JavaScript
// as they are (agent/processes/bpf-record.ts reads them), which costs far less than building
// objects field by field here, and one call for a batch costs far less than one per record.
void CallJs(napi_env env, napi_value js_cb, void* context, void* data) {
  Batch* batch = static_cast<Batch*>(data);
  Monitor* m = static_cast<Monitor*>(context);
  if (env == nullptr || js_cb == nullptr) {
    delete batch;
    return;
  }
  napi_value argv[3];
  void* ignored;
  napi_create_buffer_copy(env, batch->bytes.size(), batch->bytes.data(), &ignored, &argv[0]);
  argv[1] = Num(env, batch->count);
  argv[2] = Num(env, batch->read_mono_ms);
  m->counters.delivered += batch->count;
  m->counters.batches++;
  delete batch;
  napi_value global;
  napi_get_global(env, &global);
  napi_value result;
  napi_call_function(env, global, js_cb, 3, argv, &result);
}

// Hands the batch being filled to JavaScript (on the reader thread). Blocking: while
// JavaScript is behind (the queue is full) this thread waits, and the records wait in the
// ring, which is the larger buffer; when the ring is full too, the program counts what it
// cannot put there (NW_C_LOST). Only stopping makes this fail; false then.
bool SendBatch(Monitor* m) {
  Batch* batch = m->batch;
  if (batch == nullptr || batch->count == 0) return true;
  m->batch = nullptr;
  if (napi_call_threadsafe_function(m->tsfn, batch, napi_tsfn_blocking) != napi_ok) {
    m->counters.dropped += batch->count;
    delete batch;
    return false;
  }
  return true;
}

// One record from the ring (on the reader thread): copied into the batch, which is sent when full.
int OnSample(void* ctx, void* data, size_t size) {
  Monitor* m = static_cast<Monitor*>(ctx);
  m->counters.received++;
  if (size < sizeof(struct nw_exec_event)) {
    m->counters.malformed++;
    return 0;
  }
  const struct nw_exec_event* h = static_cast<const struct nw_exec_event*>(data);
  size_t total = static_cast<size_t>(h->path_len) + h->filename_len + h->cgroup_len + h->cgroup_v1_len + h->args_len;
  if (total > size - sizeof(*h)) {
    m->counters.malformed++;
    return 0;
  }
  if (m->batch == nullptr) {
    m->batch = new Batch();
    m->batch->read_mono_ms = MonoMs();
  }
  m->batch->bytes.append(static_cast<const char*>(data), sizeof(*h) + total);
  m->batch->count++;
  if (h->flags & (NW_F_PATH_TRUNCATED | NW_F_ARGS_UNREADABLE | NW_F_CGROUP_TRUNCATED)) m->counters.partial++;
  if (m->batch->count >= kMaxBatch && !SendBatch(m)) return -1;  // stop consuming: we are closing
  return 0;
}

void ReaderLoop(Monitor* m) {
  struct pollfd fds[2];
  fds[0].fd = ring_buffer__epoll_fd(m->rb);
  fds[0].events = POLLIN;
  fds[1].fd = m->wake;
  fds[1].events = POLLIN;
  while (!m->stopping.load()) {
    fds[0].revents = 0;
    fds[1].revents = 0;
    // The timeout is a safety net: a missed wake-up costs at most a second, never a record.
    int n = poll(fds, 2, kPollMs);
    if (n < 0) {
      if (errno == EINTR) continue;
      m->counters.errors++;
      break;
    }
    if (fds[1].revents != 0) break;
    // Everything the ring holds, however many records one wake-up stands for.
    int got = ring_buffer__consume(m->rb);
    // What was drained goes now (also after an error: the records taken are not held back).
    bool sent = SendBatch(m);
    if (got < 0) {
      m->counters.errors++;
      continue;
    }
    if (!sent) break;
    if (got > 0) {
      m->counters.wakeups++;
      uint64_t g = static_cast<uint64_t>(got);
      if (g > m->counters.max_batch.load()) m->counters.max_batch.store(g);
      // Let records gather before the next wake-up (stopping still ends the wait at once).
      if (m->batch_ms > 0 && poll(&fds[1], 1, m->batch_ms) > 0) break;
    }
  }
  delete m->batch;  // only records whose hand-over failed while stopping (counted in dropped)
  m->batch = nullptr;
}

uint64_t ReadCounter(Monitor* m, uint32_t key) {
  if (m->counters_fd < 0) return 0;
  std::vector<uint64_t> values(static_cast<size_t>(m->cpus), 0);
  if (bpf_map_lookup_elem(m->counters_fd, &key, values.data()) != 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

void StopMonitor(Monitor* m) {
  if (m->stopped) return;
  m->stopped = true;
  m->stopping.store(true);
  // Abort first: a reader blocked on a full queue returns (this thread, which drains the
  // queue, is about to wait for it). Records still queued are freed, never called. The
  // handle stays set until the reader has ended: the reader may still be about to hand a
  // batch over, and a call on an aborted handle fails (napi_closing), where one on a null
  // handle aborts the process. It is finalized on this thread's loop, so after the join.
  if (m->tsfn != nullptr) napi_release_threadsafe_function(m->tsfn, napi_tsfn_abort);
  if (m->wake >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(m->wake, &one, sizeof(one));
    (void)ignored;
  }
  if (m->reader.joinable()) m->reader.join();
  m->tsfn = nullptr;
  // Detach first, so the program stops running before its maps go.
  if (m->link) bpf_link__destroy(m->link);
  m->link = nullptr;
  if (m->rb) ring_buffer__free(m->rb);
  m->rb = nullptr;
  if (m->obj) bpf_object__close(m->obj);
  m->obj = nullptr;
  m->counters_fd = -1;
  if (m->wake >= 0) close(m->wake);
  m->wake = -1;
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
  double received = static_cast<double>(m->counters.received.load());
  Set(env, obj, "received", Num(env, received));
  Set(env, obj, "execs", Num(env, received));
  Set(env, obj, "delivered", Num(env, static_cast<double>(m->counters.delivered.load())));
  Set(env, obj, "partial", Num(env, static_cast<double>(m->counters.partial.load())));
  Set(env, obj, "dropped", Num(env, static_cast<double>(m->counters.dropped.load())));
  Set(env, obj, "overruns", Num(env, 0));
  Set(env, obj, "errors", Num(env, static_cast<double>(m->counters.errors.load() + m->counters.malformed.load())));
  Set(env, obj, "running", Bool(env, !m->stopped));
  Set(env, obj, "kernelSeen", Num(env, static_cast<double>(ReadCounter(m, NW_C_SEEN))));
  Set(env, obj, "ringLost", Num(env, static_cast<double>(ReadCounter(m, NW_C_LOST))));
  Set(env, obj, "wakeups", Num(env, static_cast<double>(m->counters.wakeups.load())));
  Set(env, obj, "maxBatch", Num(env, static_cast<double>(m->counters.max_batch.load())));
  Set(env, obj, "batches", Num(env, static_cast<double>(m->counters.batches.load())));
  return obj;
}

void FinalizeHandle(napi_env, void* data, void*) {
  Monitor* m = static_cast<Monitor*>(data);
  StopMonitor(m);
  delete m;
}

// Undoes a partial start and throws.
napi_value Fail(napi_env env, Monitor* m, const char* step, int err, const std::string& log) {
  StopMonitor(m);
  delete m;
  return ThrowErrno(env, step, err, LogTail(log));
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
  std::string object_path;
  if (!GetStringProp(env, argv[0], "objectPath", &object_path) || object_path.empty()) {
    napi_throw_type_error(env, "EINVAL", "start: options.objectPath is required");
    return nullptr;
  }
  std::string btf_path;
  GetStringProp(env, argv[0], "btfPath", &btf_path);
  double ring = 0;
  uint32_t ring_bytes = kDefaultRingBytes;
  long page = sysconf(_SC_PAGESIZE);
  if (GetNumberProp(env, argv[0], "ringBytes", &ring)) {
    // A power of two, at least a page: what the kernel accepts for a ring buffer.
    if (ring < static_cast<double>(page) || ring > static_cast<double>(1u << 30) ||
        (static_cast<uint32_t>(ring) & (static_cast<uint32_t>(ring) - 1)) != 0) {
      napi_throw_range_error(env, "EINVAL", "start: options.ringBytes must be a power of two between a page and 1 GiB");
      return nullptr;
    }
    ring_bytes = static_cast<uint32_t>(ring);
  }
  double queue = 0;
  size_t queue_size = kDefaultQueue;
  if (GetNumberProp(env, argv[0], "queue", &queue) && queue >= 16 && queue <= 1 << 20) queue_size = static_cast<size_t>(queue);
  double batch_ms = kDefaultBatchMs;
  if (GetNumberProp(env, argv[0], "batchMs", &batch_ms) && (batch_ms < 0 || batch_ms > 1000)) {
    napi_throw_range_error(env, "EINVAL", "start: options.batchMs must be between 0 and 1000");
    return nullptr;
  }

  Monitor* m = new Monitor();
  m->batch_ms = static_cast<int>(batch_ms);
  int cpus = libbpf_num_possible_cpus();
  if (cpus > 0) m->cpus = cpus;

  std::string log;
  log_sink = &log;
  struct LogReset {
    ~LogReset() { log_sink = nullptr; }
  } reset;

  struct bpf_object_open_opts open_opts;
  memset(&open_opts, 0, sizeof(open_opts));
  open_opts.sz = sizeof(open_opts);
  if (!btf_path.empty()) open_opts.btf_custom_path = btf_path.c_str();
  struct bpf_map* events = nullptr;
  struct bpf_map* counters = nullptr;
  struct bpf_program* prog = nullptr;
  // The verifier gives up with EAGAIN when a signal arrives while it works (tens of
  // milliseconds here); libbpf retries a few times at once, and so do we, on a fresh object.
  for (int attempt = 1;; attempt++) {
    m->obj = bpf_object__open_file(object_path.c_str(), &open_opts);
    if (m->obj == nullptr) return Fail(env, m, "bpf_object__open", errno ? errno : EINVAL, log);
    events = bpf_object__find_map_by_name(m->obj, "events");
    counters = bpf_object__find_map_by_name(m->obj, "counters");
    prog = bpf_object__find_program_by_name(m->obj, "nodeward_exec");
    if (events == nullptr || counters == nullptr || prog == nullptr) {
      return Fail(env, m, "bpf_object__open", ENOENT, log + "the object lacks the events map, the counters map or the nodeward_exec program");
    }
    int err = bpf_map__set_max_entries(events, ring_bytes);
    if (err != 0) return Fail(env, m, "bpf_map__set_max_entries", -err, log);
    err = bpf_object__load(m->obj);
    if (err == 0) break;
    if (err != -EAGAIN || attempt >= kLoadAttempts) return Fail(env, m, "bpf_object__load", -err, log);
    bpf_object__close(m->obj);
    m->obj = nullptr;
    log.clear();
  }
  m->link = bpf_program__attach(prog);
  if (m->link == nullptr) return Fail(env, m, "bpf_program__attach", errno ? errno : EINVAL, log);
  m->counters_fd = bpf_map__fd(counters);
  m->rb = ring_buffer__new(bpf_map__fd(events), OnSample, m, nullptr);
  if (m->rb == nullptr) return Fail(env, m, "ring_buffer__new", errno ? errno : ENOMEM, log);
  m->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m->wake < 0) return Fail(env, m, "eventfd", errno, log);

  napi_value name = Str(env, "nodeward_bpf_exec");
  // The queue holds batches of at most kMaxBatch records: this many keeps records under `queue`.
  size_t queue_batches = (queue_size + kMaxBatch - 1) / kMaxBatch;
  if (napi_create_threadsafe_function(env, argv[1], nullptr, name, queue_batches, 1, nullptr, nullptr, m, CallJs, &m->tsfn) != napi_ok) {
    m->tsfn = nullptr;
    return Fail(env, m, "napi_create_threadsafe_function", EIO, log);
  }
  // The agent's own timers keep the process alive; a forgotten handle must not.
  napi_unref_threadsafe_function(env, m->tsfn);
  m->reader = std::thread(ReaderLoop, m);

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
  libbpf_set_print(CaptureLog);
  napi_value start;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, JsStart, nullptr, &start);
  Set(env, exports, "start", start);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
