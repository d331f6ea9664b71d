#include "io/uring_queue.h"

#include <liburing.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/clock.h"
#include "io/fault_injector.h"
#include "sys/io_uring_probe.h"

namespace iodepth {

namespace {

constexpr uint64_t kDelayBit = uint64_t{1} << 63;  // user_data of a fault-delay timeout SQE.
constexpr unsigned kRegisteredFileSlots = 64;
// SQPOLL: how long Reap() spins on the completion ring before it sleeps in io_uring_enter.
// A caller who asked for a kernel thread polling submissions has traded CPU for system
// calls; fio's reaping under SQPOLL spins without a bound. Sleeping for each completion
// cost a system call and several context switches per I/O (0.30x fio's IOPS at qd 1 on
// zram, docs/BENCHMARKS.md); a millisecond covers a device's read latency many times over.
constexpr int64_t kSqpollSpinNs = 1'000'000;

struct Slot {
  IoRequest request;
  size_t done_bytes = 0;  // Moved so far, over all attempts.
  int64_t submitted_ns = 0;
  int injected_error = 0;     // The SQE in flight is a NOP standing for this errno.
  FaultDecision pending;      // Fault to apply once a delay timeout fires.
  __kernel_timespec delay{};  // Must stay put while its timeout SQE is in flight.
  int fixed_file = -1;        // Registered-file index, or -1 for the plain fd.
  uint32_t attempts = 0;      // SQEs issued for the request itself (not delay timers).
  bool async = false;         // Issued with IOSQE_ASYNC (IoQueueOptions::uring_async).
  bool busy = false;
};

struct RegisteredFile {
  uint64_t file_id = 0;  // File::id() of the file in this slot.
  uint32_t users = 0;    // Requests prepared or in flight that use the slot.
};

class UringQueue final : public IoQueue {
 public:
  UringQueue(uint32_t depth, const IoQueueOptions& options) : IoQueue(depth), options_(options), slots_(depth) {
    free_.reserve(depth);
    for (uint32_t i = depth; i > 0; --i) free_.push_back(i - 1);
    prepared_ids_.reserve(depth);
  }

  Status Init() {
    const int rc = SetUpRing();
    if (rc < 0) return IoUringSetupError(-rc);
    ring_ready_ = true;
    if (options_.uring_register_files) {
      const int reg = io_uring_register_files_sparse(&ring_, kRegisteredFileSlots);
      if (reg < 0)
        return Status::PosixError("io_uring: register a sparse file table", -reg).WithSetting("registered_files");
    }
    return Status::OK();
  }

  ~UringQueue() override {
    if (!ring_ready_) return;
    Drain();
    io_uring_queue_exit(&ring_);
  }

  std::string_view backend_name() const override { return "io_uring"; }
  std::string features() const override { return features_; }

  Status RegisterBuffers(std::span<const std::span<std::byte>> regions) override {
    IODEPTH_RETURN_IF_ERROR(IoQueue::RegisterBuffers(regions));
    if (!options_.uring_fixed_buffers) return Status::OK();
    if (!buffers_.empty()) io_uring_unregister_buffers(&ring_);
    buffers_.clear();
    std::vector<iovec> iovecs;
    for (const auto& region : regions) {
      buffers_.push_back(region);
      iovecs.push_back(iovec{region.data(), region.size()});
    }
    const int rc = io_uring_register_buffers(&ring_, iovecs.data(), static_cast<unsigned>(iovecs.size()));
    if (rc < 0) {
      buffers_.clear();
      return Status::PosixError(
                 fmt::format("io_uring: register {} fixed buffers (raise `ulimit -l` if ENOMEM)", iovecs.size()), -rc)
          .WithSetting("fixed_buffers");
    }
    return Status::OK();
  }

 protected:
  Status DoPrepare(const IoRequest& request) override {
    IODEPTH_CHECK(!free_.empty(), "no free io_uring slot although the queue is below its depth");
    int fixed_file = -1;
    if (options_.uring_register_files) {
      IODEPTH_ASSIGN_OR_RETURN(const unsigned index, RegisterFile(*request.file));
      ++registered_[index].users;
      fixed_file = static_cast<int>(index);
    }
    const uint32_t id = free_.back();
    free_.pop_back();
    Slot& slot = slots_[id];
    slot = Slot{};
    slot.request = request;
    slot.fixed_file = fixed_file;
    slot.busy = true;
    prepared_ids_.push_back(id);
    return Status::OK();
  }

  Result<uint32_t> DoSubmit(int64_t now_ns) override {
    if (!enabled_) IODEPTH_RETURN_IF_ERROR(EnableRing());
    uint32_t issuing = in_flight();
    for (const uint32_t id : prepared_ids_) {
      slots_[id].submitted_ns = now_ns;
      slots_[id].async = WantsAsync(slots_[id].request, ++issuing);
      if (slots_[id].async) CountAsyncIssued(1);  // Per request: a resubmitted rest is not counted again.
      IssueAttempt(id);
    }
    const auto count = static_cast<uint32_t>(prepared_ids_.size());
    prepared_ids_.clear();
    // Completions posted during the submitting call are the requests served inline (a
    // buffered read of cached pages). With DEFER_TASKRUN nothing else is posted then, so
    // the count is exact; without it, a request finishing meanwhile is counted too.
    const unsigned ready_before = io_uring_cq_ready(&ring_);
    IODEPTH_RETURN_IF_ERROR(Flush());
    const unsigned ready_after = io_uring_cq_ready(&ring_);
    if (ready_after > ready_before) CountInlineCompletions(ready_after - ready_before);
    return count;
  }

  Result<uint32_t> DoReap(std::span<IoCompletion> out, uint32_t min_completions, int64_t deadline_ns) override {
    uint32_t got = 0;
    bool asked_kernel = false;
    for (;;) {
      IODEPTH_RETURN_IF_ERROR(Flush());  // Resubmissions made while handling CQEs.
      got += DrainCqes(out.subspan(got));
      if (got >= min_completions || got == out.size()) {
        // With DEFER_TASKRUN, finished requests wait as task work until this thread
        // enters the kernel; a non-blocking reap that found nothing asks once.
        const bool deferred = (setup_flags_ & IORING_SETUP_DEFER_TASKRUN) != 0;
        if (got > 0 || asked_kernel || !deferred) return got;
        asked_kernel = true;
        const int rc = io_uring_get_events(&ring_);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN) return Status::PosixError("io_uring: get events", -rc);
        continue;
      }
      const int rc = Wait(deadline_ns);
      if (rc == -ETIME) {
        // With DEFER_TASKRUN, requests that finished are posted only when this thread
        // enters the kernel for events; a zero timeout never did, so enter once.
        if ((setup_flags_ & IORING_SETUP_DEFER_TASKRUN) != 0) io_uring_get_events(&ring_);
        return got + DrainCqes(out.subspan(got));
      }
      if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
        return Status::PosixError("io_uring: wait for completions", -rc);
      }
    }
  }

 private:
  int SetUpRing() {
    io_uring_params params{};
    unsigned base = IORING_SETUP_CLAMP;
    std::vector<std::pair<unsigned, const char*>> attempts;
    if (options_.uring_sqpoll) {
      params.sq_thread_idle = options_.uring_sqpoll_idle_ms;
      attempts = {{IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_R_DISABLED, "sqpoll,single_issuer"},
                  {IORING_SETUP_SQPOLL, "sqpoll"}};
    } else {
      attempts = {{IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
                   "single_issuer,defer_taskrun"},
                  {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "coop_taskrun"},
                  {0, "plain"}};
    }
    int rc = -EINVAL;
    for (const auto& [flags, name] : attempts) {
      const unsigned idle = params.sq_thread_idle;
      params = io_uring_params{};
      params.sq_thread_idle = idle;
      params.flags = base | flags;
      rc = io_uring_queue_init_params(depth(), &ring_, &params);
      if (rc == 0) {
        setup_flags_ = params.flags;
        features_ = name;
        if (options_.uring_register_files) features_ += ",registerfiles";
        if (options_.uring_fixed_buffers) features_ += ",fixedbufs";
        return 0;
      }
      if (rc != -EINVAL) return rc;  // Only unknown flags are worth another try.
    }
    return rc;
  }

  Status EnableRing() {
    if ((setup_flags_ & IORING_SETUP_R_DISABLED) != 0) {
      // liburing 2.3 declares io_uring_enable_rings() but does not export it, so the
      // register call is made directly.
      const long rc = syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
      if (rc < 0) return Status::PosixError("io_uring: enable the ring", errno);
    }
    owner_ = std::this_thread::get_id();
    enabled_ = true;
    return Status::OK();
  }

  // Gives `file` a fixed-file slot, keyed by File::id() (an fd number can be reused by a
  // later file, and a stale slot would read the old one). A slot whose file has no
  // request in flight is recycled when the table is full.
  Result<unsigned> RegisterFile(const File& file) {
    for (unsigned i = 0; i < registered_.size(); ++i) {
      if (registered_[i].file_id == file.id()) return i;
    }
    unsigned index = static_cast<unsigned>(registered_.size());
    if (registered_.size() == kRegisteredFileSlots) {
      auto idle = std::find_if(registered_.begin(), registered_.end(), [](const auto& r) { return r.users == 0; });
      if (idle == registered_.end()) {
        return Status::QueueFull(
                   fmt::format("io_uring: all {} registered-file slots have requests in flight; reap first",
                               kRegisteredFileSlots))
            .WithSetting("registered_files");
      }
      index = static_cast<unsigned>(idle - registered_.begin());
    } else {
      registered_.push_back({});
    }
    int fd = file.fd();
    const int rc = io_uring_register_files_update(&ring_, index, &fd, 1);
    if (rc < 0) return Status::PosixError(fmt::format("io_uring: register {}", file.path()), -rc);
    registered_[index] = RegisteredFile{.file_id = file.id(), .users = 0};
    return index;
  }

  io_uring_sqe* GetSqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
      // Only with SQPOLL can the ring be full here: the kernel thread has not yet
      // consumed earlier entries. Every slot holds at most one entry otherwise.
      io_uring_submit(&ring_);
      io_uring_sqring_wait(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  // Issues the next attempt for slot `id`: the rest of its range, as the fault injector
  // (if any) allows.
  void IssueAttempt(uint32_t id) {
    Slot& slot = slots_[id];
    const IoRequest& request = slot.request;
    const uint64_t offset = request.offset + slot.done_bytes;
    std::byte* data = request.buffer.data() + slot.done_bytes;
    size_t length = request.buffer.size() - slot.done_bytes;
    FaultDecision fault;
    if (FaultInjector* faults = request.file->fault_injector())
      fault = faults->OnAttempt(*request.file, request.op, offset, data, length);
    if (fault.delay_ns > 0) {
      slot.pending = fault;
      slot.pending.delay_ns = 0;
      slot.delay.tv_sec = fault.delay_ns / 1'000'000'000;
      slot.delay.tv_nsec = fault.delay_ns % 1'000'000'000;
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_timeout(sqe, &slot.delay, 0, 0);
      io_uring_sqe_set_data64(sqe, kDelayBit | id);
      return;
    }
    IssueIo(id, offset, data, std::min(length, fault.max_bytes), fault.error_number);
  }

  void IssueIo(uint32_t id, uint64_t offset, std::byte* data, size_t length, int injected_error) {
    Slot& slot = slots_[id];
    io_uring_sqe* sqe = GetSqe();
    slot.injected_error = injected_error;
    ++slot.attempts;
    if (injected_error != 0) {
      io_uring_prep_nop(sqe);
    } else {
      const int buffer_index = FixedBufferIndex(data, length);
      const int fd = slot.fixed_file >= 0 ? slot.fixed_file : slot.request.file->fd();
      const auto len = static_cast<unsigned>(length);
      if (slot.request.op == IoOp::kRead) {
        if (buffer_index >= 0) io_uring_prep_read_fixed(sqe, fd, data, len, offset, buffer_index);
        else io_uring_prep_read(sqe, fd, data, len, offset);
      } else {
        if (buffer_index >= 0) io_uring_prep_write_fixed(sqe, fd, data, len, offset, buffer_index);
        else io_uring_prep_write(sqe, fd, data, len, offset);
      }
      if (slot.fixed_file >= 0) sqe->flags |= IOSQE_FIXED_FILE;
      if (slot.async) sqe->flags |= IOSQE_ASYNC;
      sqe->rw_flags = slot.request.file->rw_flags();  // RWF_DONTCACHE in dontcache mode.
    }
    io_uring_sqe_set_data64(sqe, id);
  }

  // The IOSQE_ASYNC rule (io_queue.h UringAsync): only buffered reads, whose cached pages
  // would otherwise be copied inline; `in_flight` counts this request and those before it.
  bool WantsAsync(const IoRequest& request, uint32_t in_flight) const {
    if (request.op != IoOp::kRead || request.file->direct()) return false;
    switch (options_.uring_async) {
      case UringAsync::kNever: return false;
      case UringAsync::kAlways: return true;
      case UringAsync::kAuto: return in_flight > kUringAsyncInFlight || request.buffer.size() >= kUringAsyncMinBytes;
    }
    return false;
  }

  int FixedBufferIndex(const std::byte* data, size_t length) const {
    for (size_t i = 0; i < buffers_.size(); ++i) {
      const auto& region = buffers_[i];
      if (data >= region.data() && data + length <= region.data() + region.size()) return static_cast<int>(i);
    }
    return -1;
  }

  // Hands the kernel every SQE written since the last enter. io_uring_sq_ready() counts
  // them (entries the kernel has not consumed), so no counter of our own can drift.
  Status Flush() {
    if (io_uring_sq_ready(&ring_) == 0) return Status::OK();
    for (;;) {
      const int rc = io_uring_submit(&ring_);
      if (rc >= 0) return Status::OK();
      if (rc == -EINTR) continue;
      // EAGAIN/EBUSY: the kernel is short of resources; the entries stay in the ring
      // and the next enter (a wait in Reap) submits them.
      if (rc == -EAGAIN || rc == -EBUSY) return Status::OK();
      return Status::PosixError("io_uring: submit", -rc);
    }
  }

  // Enters the kernel to submit what is unflushed and wait for one completion, until
  // `deadline_ns` (< 0: no deadline). Returns 0, -ETIME, or another negative errno.
  int Wait(int64_t deadline_ns) {
    if ((setup_flags_ & IORING_SETUP_SQPOLL) != 0 && SpinForCompletion(deadline_ns)) return 0;
    int rc;
    if (deadline_ns < 0) {
      rc = io_uring_submit_and_wait(&ring_, 1);
    } else {
      const int64_t left_ns = deadline_ns - NowNs();
      if (left_ns <= 0) return -ETIME;
      __kernel_timespec ts{.tv_sec = left_ns / 1'000'000'000, .tv_nsec = left_ns % 1'000'000'000};
      io_uring_cqe* cqe = nullptr;
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    return rc < 0 ? rc : 0;
  }

  // SQPOLL: the kernel posts completions without this thread entering the kernel, so a
  // spin on the completion ring (kSqpollSpinNs, or to the deadline) finds them with no
  // system call and no sleep. Returns whether one arrived.
  bool SpinForCompletion(int64_t deadline_ns) {
    int64_t until = NowNs() + kSqpollSpinNs;
    if (deadline_ns >= 0) until = std::min(until, deadline_ns);
    while (io_uring_cq_ready(&ring_) == 0) {
      if (NowNs() >= until) return false;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    return true;
  }

  // Handles every available CQE while there is room in `out`; returns completions written.
  uint32_t DrainCqes(std::span<IoCompletion> out) {
    uint32_t got = 0;
    int64_t now_ns = 0;
    io_uring_cqe* cqe = nullptr;
    while (got < out.size() && io_uring_peek_cqe(&ring_, &cqe) == 0) {
      if (now_ns == 0) now_ns = NowNs();
      const uint64_t data = io_uring_cqe_get_data64(cqe);
      const int result = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (OnCqe(data, result, now_ns, &out[got])) ++got;
    }
    return got;
  }

  // Returns true when the slot finished and *done was filled.
  bool OnCqe(uint64_t data, int result, int64_t now_ns, IoCompletion* done) {
    const auto id = static_cast<uint32_t>(data & ~kDelayBit);
    IODEPTH_CHECK(id < slots_.size() && slots_[id].busy, "io_uring completion for an idle slot");
    Slot& slot = slots_[id];
    if ((data & kDelayBit) != 0) {  // The injected delay is over: issue the I/O itself.
      const uint64_t offset = slot.request.offset + slot.done_bytes;
      const size_t rest = slot.request.buffer.size() - slot.done_bytes;
      IssueIo(id, offset, slot.request.buffer.data() + slot.done_bytes, std::min(rest, slot.pending.max_bytes),
              slot.pending.error_number);
      return false;
    }
    if (slot.injected_error != 0) result = -slot.injected_error;
    if (result == -EINTR || result == -EAGAIN) return Resubmit(id);
    if (result < 0) return Finish(id, -result, now_ns, done);
    if (slot.request.op == IoOp::kWrite) {
      if (FaultInjector* faults = slot.request.file->fault_injector()) {
        faults->OnWriteDone(*slot.request.file, slot.request.offset + slot.done_bytes, static_cast<size_t>(result));
      }
    }
    slot.done_bytes += static_cast<size_t>(result);
    const size_t length = slot.request.buffer.size();
    if (result == 0 || slot.done_bytes == length) return Finish(id, 0, now_ns, done);
    // A direct read that stopped off the alignment ended at end of file.
    const bool read = slot.request.op == IoOp::kRead;
    if (read && slot.request.file->direct() &&
        (slot.request.offset + slot.done_bytes) % slot.request.file->alignment().offset_bytes != 0) {
      return Finish(id, 0, now_ns, done);
    }
    return Resubmit(id);  // Continue where the kernel stopped.
  }

  bool Resubmit(uint32_t id) {
    IssueAttempt(id);
    return false;
  }

  bool Finish(uint32_t id, int error_number, int64_t now_ns, IoCompletion* done) {
    Slot& slot = slots_[id];
    const IoRequest& request = slot.request;
    done->tag = request.tag;
    done->op = request.op;
    done->offset = request.offset;
    done->length = request.buffer.size();
    done->submitted_ns = slot.submitted_ns;
    done->completed_ns = now_ns;
    done->bytes_done = slot.done_bytes;
    done->attempts = slot.attempts;
    done->status = Status::OK();
    if (error_number != 0) {
      done->status = Status::PosixError(
          fmt::format("{} {} bytes at offset {} of {}", IoOpName(request.op), request.buffer.size() - slot.done_bytes,
                      request.offset + slot.done_bytes, request.file->path()),
          error_number);
    } else if (request.op == IoOp::kWrite && slot.done_bytes < request.buffer.size()) {
      done->status = Status::PosixError(fmt::format("write at offset {} of {} made no progress",
                                                    request.offset + slot.done_bytes, request.file->path()),
                                        EIO);
    } else if (slot.done_bytes < request.buffer.size()) {
      // End of file: the caller must never mistake stale memory for data.
      std::memset(request.buffer.data() + slot.done_bytes, 0, request.buffer.size() - slot.done_bytes);
    }
    Release(id);
    return true;
  }

  void Release(uint32_t id) {
    Slot& slot = slots_[id];
    if (slot.fixed_file >= 0) --registered_[static_cast<size_t>(slot.fixed_file)].users;
    slot.busy = false;
    free_.push_back(id);
  }

  // Waits for every issued request; their completions are dropped. Runs in the
  // destructor, so the callers' buffers are never written after the queue is gone.
  void Drain() {
    for (uint32_t id : prepared_ids_) Release(id);
    prepared_ids_.clear();
    const auto busy = [this] {
      return std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.busy; });
    };
    if (!busy()) return;
    IODEPTH_CHECK((setup_flags_ & IORING_SETUP_DEFER_TASKRUN) == 0 || owner_ == std::this_thread::get_id(),
                  "an io_uring queue with requests in flight must be destroyed on the thread that submitted them");
    std::vector<IoCompletion> sink(slots_.size());
    while (busy()) {
      Flush().IgnoreError();
      DrainCqes(sink);
      if (!busy()) break;
      io_uring_submit_and_wait(&ring_, 1);
    }
  }

  const IoQueueOptions options_;
  io_uring ring_{};
  bool ring_ready_ = false;
  bool enabled_ = false;
  unsigned setup_flags_ = 0;
  std::string features_;
  std::thread::id owner_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> prepared_ids_;
  std::vector<RegisteredFile> registered_;     // By fixed-file index.
  std::vector<std::span<std::byte>> buffers_;  // Registered fixed buffers, by index.
};

}  // namespace

Result<std::unique_ptr<IoQueue>> MakeUringQueue(const IoQueueOptions& options) {
  auto queue = std::make_unique<UringQueue>(options.depth, options);
  IODEPTH_RETURN_IF_ERROR(queue->Init());
  return std::unique_ptr<IoQueue>(std::move(queue));
}

}  // namespace iodepth
